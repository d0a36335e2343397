import Foundation
import NodeControllerKit
import ProvisionerAPI
import Synchronization
import Testing
import TestSupport

/// A libvirt QEMU driver for tests, without the system daemon.
///
/// Route 1, libvirt's embedded driver (`qemu:///embed?root=DIR`): QEMU is managed from this
/// process. As root it needs the `libvirt-qemu` account (libvirt-daemon-system creates it;
/// libvirt looks it up before reading qemu.conf), and runs QEMU as root via qemu.conf.
/// Route 2, when that account is missing: a private libvirtd running as `nobody` (a session
/// daemon) with its socket and state in DIR, stopped afterwards.
final class QEMURig: @unchecked Sendable {
    let root: String
    let uri: String
    let route: String
    private var daemon: Background?

    static let qemu = "/usr/bin/qemu-system-x86_64"
    static let libvirtd = "/usr/sbin/libvirtd"
    static let setpriv = "/usr/bin/setpriv"

    /// Why this test cannot run here, in one line; nil when it can.
    static let missing: String? = {
        if !FileManager.default.isExecutableFile(atPath: qemu) { return "needs \(qemu) (Debian qemu-system-x86)" }
        if ProcessRunnerLite.which("qemu-img") == nil { return "needs qemu-img (Debian qemu-utils)" }
        let drivers = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib"))?.compactMap { arch -> String? in
            let p = "/usr/lib/\(arch)/libvirt/connection-driver/libvirt_driver_qemu.so"
            return FileManager.default.fileExists(atPath: p) ? p : nil
        } ?? []
        if drivers.isEmpty { return "needs libvirt's QEMU driver (Debian libvirt-daemon-driver-qemu)" }
        if usesPrivateDaemon {
            if !FileManager.default.isExecutableFile(atPath: libvirtd) { return "root without a libvirt-qemu account needs \(libvirtd) (Debian libvirt-daemon)" }
            if !FileManager.default.isExecutableFile(atPath: setpriv) { return "needs \(setpriv) (Debian util-linux)" }
            if getpwnam("nobody") == nil { return "needs a nobody account" }
        }
        return nil
    }()

    static var usesPrivateDaemon: Bool { geteuid() == 0 && getpwnam("libvirt-qemu") == nil }

    private init(root: String, uri: String, route: String) {
        self.root = root
        self.uri = uri
        self.route = route
    }

    static func start() throws -> QEMURig {
        // Short: libvirt's sockets live below it (108-byte limit).
        let root = "/tmp/nc-q-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        if !usesPrivateDaemon {
            try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
            // No virtlogd: QEMU's stdio goes to files. As root, run QEMU as root too: the
            // libvirt-qemu account may not reach /dev/kvm, which makes libvirt re-probe QEMU on every call.
            let conf = geteuid() == 0 ? "stdio_handler = \"file\"\nuser = \"root\"\ngroup = \"root\"\n" : "stdio_handler = \"file\"\n"
            try conf.write(toFile: root + "/etc/qemu.conf", atomically: true, encoding: .utf8)
            return QEMURig(root: root, uri: "qemu:///embed?root=\(root)", route: "embedded driver qemu:///embed?root=\(root)")
        }
        for sub in ["run", "config/libvirt", "cache", "data", "home", "console"] {
            try FileManager.default.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true)
        }
        try "stdio_handler = \"file\"\n".write(toFile: root + "/config/libvirt/qemu.conf", atomically: true, encoding: .utf8)
        guard let pw = getpwnam("nobody") else { throw TestFailure("no nobody account") }
        let (uid, gid) = (pw.pointee.pw_uid, pw.pointee.pw_gid)
        try chownTree(root, uid: uid, gid: gid)
        let env = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": root + "/home", "XDG_RUNTIME_DIR": root + "/run",
                   "XDG_CONFIG_HOME": root + "/config", "XDG_CACHE_HOME": root + "/cache", "XDG_DATA_HOME": root + "/data"]
        // env -i: the daemon gets only this environment.
        let p = try Background(["/usr/bin/env", "-i"] + env.map { "\($0.key)=\($0.value)" }
                               + [setpriv, "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", libvirtd], log: root + "/libvirtd.log")
        let socket = root + "/run/libvirt/libvirt-sock"
        let rig = QEMURig(root: root, uri: "qemu+unix:///session?socket=\(socket)",
                          route: "private libvirtd as nobody (no libvirt-qemu account for the embedded driver as root), socket \(socket)")
        rig.daemon = p
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) {
            guard p.isRunning else { break }
            usleep(100_000)
        }
        guard FileManager.default.fileExists(atPath: socket) else {
            rig.stop()
            let log = (try? String(contentsOfFile: root + "/libvirtd.log", encoding: .utf8)) ?? ""
            throw TestFailure("private libvirtd did not create \(socket): \(log.suffix(400))")
        }
        return rig
    }

    /// Files the daemon must read or write (it runs as nobody in route 2).
    func own(_ path: String) throws {
        guard daemon != nil, let pw = getpwnam("nobody") else { return }
        try Self.chownTree(path, uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid)
    }

    func stop() {
        _ = daemon?.stop(SIGTERM, seconds: 5)
        daemon = nil
        try? FileManager.default.removeItem(atPath: root)
    }

    static func chownTree(_ path: String, uid: uid_t, gid: gid_t) throws {
        guard chown(path, uid, gid) == 0 else { throw TestFailure("chown \(path): \(String(cString: strerror(errno)))") }
        for rel in FileManager.default.subpaths(atPath: path) ?? [] {
            _ = chown(path + "/" + rel, uid, gid)
        }
    }
}

enum ProcessRunnerLite {
    static func which(_ name: String) -> String? {
        for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/" + name) {
            return dir + "/" + name
        }
        return nil
    }

    @discardableResult
    static func run(_ path: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}

extension SystemTests {
/// The node controller's hypervisor against a real libvirt QEMU driver and
/// real QEMU (TCG here): in the serialized system suite, so it never boots
/// VMs beside the lab's.
@Suite(.serialized) struct LibvirtQEMUTests {
    /// A kernel for direct kernel boot: the host's, else iPXE's Linux-format image.
    static var kernel: String? {
        let boot = ((try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []).sorted()
        let candidates = boot.filter { $0.hasPrefix("vmlinuz-") }.map { "/boot/" + $0 } + ["/boot/ipxe.lkrn"]
        return candidates.first { access($0, R_OK) == 0 }
    }

    @Test(.enabled(if: QEMURig.missing == nil, Comment(rawValue: QEMURig.missing ?? "")), .timeLimit(.minutes(3)))
    func realQEMUInstancesRunAndTerminate() throws {
        let rig = try QEMURig.start()
        defer { rig.stop() }
        print("real QEMU test route: \(rig.route)")
        let hv = LibvirtHypervisor(configuration: .init(uri: rig.uri, scratchDir: rig.root, consoleLogDir: rig.root + "/console"),
                                   log: Log { print("libvirt: \($0)") })

        let before = hv.capacity()
        #expect(before.libvirtVersion != nil, "\(before.hardwareVirtualizationReason ?? "")")
        #expect(before.hypervisor == .kvm || before.hypervisor == .qemuTCG, "\(before)")
        #expect(before.hardwareVirtualization == (before.hypervisor == .kvm))
        if before.hypervisor == .qemuTCG { #expect(before.hardwareVirtualizationReason?.isEmpty == false) }
        #expect(before.coresMax > 0 && before.memoryMiBMax > 0 && before.diskMiBMax > 0)

        let disk = rig.root + "/d1.qcow2"
        #expect(try ProcessRunnerLite.run(ProcessRunnerLite.which("qemu-img") ?? "qemu-img", ["create", "-q", "-f", "qcow2", disk, "32M"]) == 0)
        try rig.own(disk)
        var ids = ["d1"]
        try hv.start(InstanceSpec(id: "d1", vcpus: 1, memoryMiB: 64, disk: disk))
        if let kernel = Self.kernel {
            try hv.start(InstanceSpec(id: "k1", vcpus: 1, memoryMiB: 64, kernel: kernel, cmdline: "console=ttyS0"))
            ids.append("k1")
        }
        defer { for id in ids { try? hv.terminate(id: id) } }

        var states: [String: InstanceState] = [:]
        for _ in 0..<100 {
            states = Dictionary(try hv.instances().map { ($0.id, $0.state) }, uniquingKeysWith: { a, _ in a })
            if ids.allSatisfy({ states[$0] == .running }) { break }
            usleep(100_000)
        }
        for id in ids { #expect(states[id] == .running, "\(id): \(states)") }

        let expectedType = before.hypervisor == .kvm ? "kvm" : "qemu"
        let xml = try hv.domainXML(id: "d1")
        #expect(xml.contains("<domain type='\(expectedType)'"))
        #expect(xml.contains("type='qcow2'"))
        #expect(!xml.contains("<interface"))
        for id in ids { #expect(FileManager.default.fileExists(atPath: rig.root + "/console/prov-\(id).log")) }
        #expect(hv.capacity().coresFree == max(0, before.coresFree - ids.count))

        // A real failure: QEMU cannot load a missing kernel; nothing stays defined.
        #expect {
            try hv.start(InstanceSpec(id: "bad", vcpus: 1, memoryMiB: 64, kernel: rig.root + "/no-such-kernel"))
        } throws: { error in
            (error as? LibvirtError)?.operation.hasSuffix("instance bad") == true
        }
        #expect(try !hv.instances().contains { $0.id == "bad" })

        for id in ids { try hv.terminate(id: id) }
        #expect(try hv.instances().isEmpty)
        #expect(hv.capacity().coresFree == before.coresFree)
    }
}
}

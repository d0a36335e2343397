import Crypto
import Foundation
import ProvisionerCore
import ProvisionerBoot
import ProvisionerPlatform

/// The firmware of a lab node, as a real server's would be set up.
public enum LabFirmware: String, Codable, Sendable, CaseIterable {
    /// SeaBIOS: PXE with QEMU's iPXE option ROM.
    case bios
    /// OVMF: UEFI PXE over TFTP.
    case uefi
    /// OVMF: UEFI HTTP Boot, the loader over HTTP and no TFTP at all.
    case uefiHTTP = "uefi-http"
    /// OVMF with Secure Boot on (Microsoft's and Debian's keys enrolled): UEFI PXE.
    case secureboot

    /// OVMF's code and variable store files; nil for BIOS.
    var ovmf: (code: String, vars: String)? {
        switch self {
        case .bios: nil
        case .uefi, .uefiHTTP: ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd")
        case .secureboot: ("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd")
        }
    }

    /// OVMF's network boot options (`opt/org.tianocore/…` in fw_cfg) turned off.
    var ovmfSwitchedOff: [String] {
        switch self {
        case .bios: []
        case .uefi, .secureboot: ["IPv6Support"]
        case .uefiHTTP: ["IPv6Support", "IPv4PXESupport"]
        }
    }

    /// Parses a comma-separated list (`bios,uefi`): node i gets item i, the last one repeating.
    /// - Throws: `ValidationError` naming the bad item.
    public static func list(_ text: String) throws -> [LabFirmware] { try labList(text, field: "firmware") }
}

/// A comma-separated list of a lab option's values (`bios,uefi`, `nfs,ram`), one per node.
/// - Throws: `ValidationError` naming the option and the bad item, or the empty list.
func labList<T: RawRepresentable & CaseIterable>(_ text: String, field: String) throws -> [T] where T.RawValue == String {
    let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let expected = "expected " + T.allCases.map(\.rawValue).joined(separator: ", ")
    guard !items.isEmpty else { throw ValidationError(field: field, value: text, reason: expected) }
    return try items.map { item in
        guard let value = T(rawValue: item) else { throw ValidationError(field: field, value: item, reason: expected) }
        return value
    }
}

/// Node i's (1-based) item of a per-node list: item i, the last one repeating; `fallback` for an empty list.
func labItem<T>(_ list: [T], ofNode i: Int, or fallback: T) -> T {
    list.isEmpty ? fallback : list[min(i, list.count) - 1]
}

/// A virtual lab of diskless nodes on this machine: one network namespace
/// (no uplink) holding the LAN bridge, the server's address on it, one tap
/// per node, `provisioner serve` and the QEMU nodes. Everything it starts is
/// recorded in `<home>/lab/lab.json` and stopped by PID on `down`.
public struct VirtualLab: Sendable {
    public static let serverIP = "10.77.0.1"
    public static let subnet = "10.77.0.0/24"
    public static let dhcpRange = "10.77.0.100-10.77.0.199"
    public static let bridge = "labbr0"

    public let home: String
    public init(home: String) { self.home = home }

    public var dir: String { home + "/lab" }
    public var stateFile: String { dir + "/lab.json" }

    /// The namespace name: unique per lab home, short enough for iproute2.
    public var namespace: String {
        let digest = SHA256.hash(data: Data(home.utf8)).prefix(3).map { String(format: "%02x", $0) }.joined()
        return "provlab-\(digest)"
    }

    /// What a running lab recorded.
    public struct State: Codable, Sendable {
        public var namespace: String
        public var servePID: Int32
        public var nodes: [LabNode]
        /// The second boot server (`--servers 2`), when there is one.
        public var secondNamespace: String?
        public var secondServePID: Int32?

        public init(namespace: String, servePID: Int32, nodes: [LabNode]) {
            self.namespace = namespace
            self.servePID = servePID
            self.nodes = nodes
        }
    }

    public struct LabNode: Codable, Sendable {
        public var hostname: String
        public var mac: String
        public var tap: String
        public var pid: Int32
        public var serialLog: String
        /// nil in a state file from before firmware choices: BIOS.
        public var firmware: LabFirmware?
        /// The machine's size, for a power-on through its BMC (nil: 1024 MiB, 1 vCPU).
        public var memoryMiB: Int?
        public var cpus: Int?
        /// Its emulated BMC (ipmi_sim on 127.0.0.1), if it has one.
        public var bmcPID: Int32?
        public var bmcPort: Int?

        public init(hostname: String, mac: String, tap: String, pid: Int32, serialLog: String, firmware: LabFirmware = .bios,
                    memoryMiB: Int? = nil, cpus: Int? = nil) {
            self.hostname = hostname
            self.mac = mac
            self.tap = tap
            self.pid = pid
            self.serialLog = serialLog
            self.firmware = firmware
            self.memoryMiB = memoryMiB
            self.cpus = cpus
        }
    }

    /// The recorded state, if a lab was started here.
    public func state() -> State? {
        guard let data = FileSystem.read(stateFile) else { return nil }
        return try? JSONDecoder().decode(State.self, from: data)
    }

    public func save(_ s: State) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileSystem.writeAtomically(try enc.encode(s), to: stateFile)
    }

    /// Whether the recorded lab still runs (its serve process is alive).
    public func isUp() -> Bool {
        guard let s = state() else { return false }
        return s.servePID > 0 && kill(s.servePID, 0) == 0
    }

    /// The MAC of lab node `i` (1-based): locally administered, QEMU's prefix.
    public static func mac(_ i: Int) -> String { String(format: "52:54:00:77:%02x:%02x", (i >> 8) & 0xff, i & 0xff) }

    // MARK: - network

    /// Creates the namespace, the bridge with the server's addresses, and `count` taps.
    /// - Throws: `SystemError` naming the failed `ip` command.
    public func createNetwork(taps count: Int) throws {
        let ns = namespace
        if !FileSystem.list("/run/netns").contains(ns) { try ip(["netns", "add", ns]) }
        try ip(["-n", ns, "link", "set", "lo", "up"])
        if (try? ProcessRunner.run(ipTool, ["-n", ns, "link", "show", Self.bridge]))?.status != 0 {
            try ip(["-n", ns, "link", "add", Self.bridge, "type", "bridge"])
            try ip(["-n", ns, "addr", "add", "\(Self.serverIP)/24", "dev", Self.bridge])
            // An IPv6 address for router advertisements (iPXE then does not wait on IPv6).
            try ip(["-n", ns, "addr", "add", "fd77::1/64", "dev", Self.bridge, "nodad"])
        }
        try ip(["-n", ns, "link", "set", Self.bridge, "up"])
        for i in 0..<count { try addTap("labtap\(i)") }
    }

    /// Adds one more tap to the lab's bridge (a cable for a machine plugged in later).
    /// - Throws: `SystemError` naming the failed `ip` command.
    public func addTap(_ tap: String) throws {
        if (try? ProcessRunner.run(ipTool, ["-n", namespace, "link", "show", tap]))?.status != 0 {
            try ip(["-n", namespace, "tuntap", "add", "dev", tap, "mode", "tap"])
        }
        try ip(["-n", namespace, "link", "set", tap, "master", Self.bridge, "up"])
    }

    /// Removes the namespace (and with it the bridge and taps).
    public func deleteNetwork() {
        _ = try? ProcessRunner.run(ipTool, ["netns", "del", namespace])
    }

    var ipTool: String { ProcessRunner.which("ip") ?? "/usr/sbin/ip" }

    func ip(_ args: [String]) throws {
        let r = try ProcessRunner.run(ipTool, args)
        guard r.status == 0 else { throw SystemError("ip \(args.joined(separator: " ")): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
    }

    /// Runs `argv` inside the lab's namespace, detached, output to `log`.
    /// - Returns: its pid.
    public func spawnInNamespace(_ argv: [String], log: String) throws -> pid_t {
        try ProcessRunner.spawnLogged([ipTool, "netns", "exec", namespace] + argv, log: log, newSession: true)
    }

    // MARK: - nodes

    /// `-accel kvm` only where KVM really works (an Intel or AMD module, not PVM), else TCG.
    public static var accelerator: String {
        let fm = FileManager.default
        let kvm = fm.fileExists(atPath: "/dev/kvm") && (fm.fileExists(atPath: "/sys/module/kvm_intel") || fm.fileExists(atPath: "/sys/module/kvm_amd"))
        return kvm ? "kvm" : "tcg"
    }

    /// The QEMU command line of a diskless lab node that boots from the
    /// network with `firmware`. A UEFI node's variable store is a fresh copy
    /// of OVMF's (made here, beside the serial log), as a new machine's NVRAM.
    /// - Throws: `SystemError` when the OVMF files are missing.
    public func qemuArgv(mac: String, tap: String, serialLog: String, memoryMiB: Int, cpus: Int, name: String, firmware: LabFirmware = .bios) throws -> [String] {
        var argv = [ProcessRunner.which("qemu-system-x86_64") ?? "qemu-system-x86_64",
                    "-name", name, "-accel", Self.accelerator, "-cpu", "max", "-m", String(memoryMiB), "-smp", String(cpus),
                    "-display", "none", "-serial", "file:\(serialLog)", "-monitor", "none", "-no-reboot",
                    "-netdev", "tap,id=n0,ifname=\(tap),script=no,downscript=no"] + (try tpmArgv(name: name))
        guard let ovmf = firmware.ovmf else {
            return argv + ["-device", "virtio-net-pci,netdev=n0,mac=\(mac)", "-boot", "n"]
        }
        for file in [ovmf.code, ovmf.vars] where !FileManager.default.fileExists(atPath: file) {
            throw SystemError("\(file) not found: the lab's UEFI nodes need OVMF (`make deps` installs ovmf)")
        }
        let vars = "\(dir)/\(name).OVMF_VARS.fd"
        try? FileManager.default.removeItem(atPath: vars)
        try FileManager.default.copyItem(atPath: ovmf.vars, toPath: vars)
        argv += ["-machine", firmware == .secureboot ? "q35,smm=on" : "q35"]
        if firmware == .secureboot { argv += ["-global", "driver=cfi.pflash01,property=secure,value=on"] }
        argv += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=\(ovmf.code)",
                 "-drive", "if=pflash,format=raw,unit=1,file=\(vars)"]
        // OVMF tries PXEv4, PXEv6, HTTPv4, HTTPv6 in turn: leave it only the path the node should take.
        for option in firmware.ovmfSwitchedOff { argv += ["-fw_cfg", "name=opt/org.tianocore/\(option),string=no"] }
        // OVMF ignores -boot: the NIC is the first boot device. No option ROM: OVMF's own virtio-net driver.
        return argv + ["-device", "virtio-net-pci,netdev=n0,mac=\(mac),bootindex=1,romfile="]
    }

    /// Starts the node's TPM 2.0 (`swtpm`, in the lab's namespace, ending
    /// with the QEMU that connects to it) and returns QEMU's arguments for it.
    /// Its state stays in the lab's folder across reboots and `lab up`s, as a
    /// machine's TPM does: the node proves the same key on every boot.
    /// - Throws: `SystemError` when swtpm is missing or does not come up.
    func tpmArgv(name: String) throws -> [String] {
        guard let swtpm = ProcessRunner.which("swtpm") else {
            throw SystemError("swtpm not found: the lab's nodes have a TPM (`make deps` installs swtpm)")
        }
        let state = "\(dir)/\(name).tpm", socket = "\(dir)/\(name).tpm/ctrl.sock", pidFile = "\(dir)/\(name).tpm/swtpm.pid"
        try FileSystem.makeDirectory(state)
        chmod(state, 0o700)
        // The TPM of an earlier run of this node that did not end with its QEMU.
        if let old = ProcessRunner.livePID(fromFile: pidFile) { Self.stop(old, grace: 2) }
        unlink(socket)
        let pid = try spawnInNamespace([swtpm, "socket", "--tpm2", "--tpmstate", "dir=\(state)", "--ctrl", "type=unixio,path=\(socket)",
                                        "--terminate"], log: state + "/swtpm.log")
        try FileSystem.writeAtomically("\(pid)\n", to: pidFile, mode: 0o644)
        guard waitUntil(5, { FileManager.default.fileExists(atPath: socket) }) else {
            throw SystemError("swtpm for \(name) did not come up (see \(state)/swtpm.log)")
        }
        return ["-chardev", "socket,id=chrtpm,path=\(socket)", "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-tis,tpmdev=tpm0"]
    }

    /// Stops a process: SIGTERM, then SIGKILL after `grace` seconds. Returns whether it is gone.
    @discardableResult
    public static func stop(_ pid: pid_t, grace: Double) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 else { return true }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            if kill(pid, 0) != 0 { return true }
            usleep(100_000)
        }
        kill(pid, SIGKILL)
        usleep(200_000)
        return kill(pid, 0) != 0
    }

    /// Processes still running inside the namespace.
    public func namespacePIDs() -> [pid_t] { pids(inNamespace: namespace) }

    /// Processes running inside namespace `ns`.
    func pids(inNamespace ns: String) -> [pid_t] {
        let r = try? ProcessRunner.run(ipTool, ["netns", "pids", ns])
        return (r?.stdout ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Waits up to 60 s for the serve with `pid` to answer `url` from inside `ns`.
    /// - Returns: false when it died or never answered.
    func awaitServe(pid: pid_t, namespace ns: String, url: String) -> Bool {
        let up = waitUntil(60) {
            guard Self.isAlive(pid) else { return true }
            return (try? ProcessRunner.run(ipTool, ["netns", "exec", ns, "curl", "-sf", "-m", "2", url]))?.status == 0
        }
        return up && Self.isAlive(pid)
    }
}

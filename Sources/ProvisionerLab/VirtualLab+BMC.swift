import Foundation
import ProvisionerCore
import ProvisionerBMC
import ProvisionerBoot
import ProvisionerPlatform

/// The lab's nodes behind BMCs, as a rack's servers are: one OpenIPMI
/// `ipmi_sim` per node on the host's loopback (IPMI 2.0 over LAN, user
/// admin, the password in a 0600 file), whose chassis is the node's QEMU
/// process. ipmi_sim runs `provisioner lab chassis` for every chassis
/// request, so `node power`, `node boot-next` and `image rollout` drive lab
/// nodes exactly as they drive real servers, and `lab reboot` is a power cycle.
extension VirtualLab {
    public var bmcDir: String { dir + "/bmc" }
    public var bmcPasswordFile: String { bmcDir + "/password" }
    var stateLock: String { dir + "/.lock" }

    /// Whether this machine has what the lab's BMCs need.
    public static var bmcsAvailable: Bool { ProcessRunner.which("ipmi_sim") != nil && ProcessRunner.which("ipmitool") != nil }

    /// Runs `body` on the lab state under an exclusive lock (ipmi_sim's chassis
    /// requests for several nodes come at once), saving what it leaves.
    @discardableResult
    func withState<T>(_ body: (inout State) throws -> T) throws -> T {
        try FileSystem.makeDirectory(dir)
        let fd = open(stateLock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("opening \(stateLock): \(errnoText())") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw SystemError("locking \(stateLock): \(errnoText())") }
        guard var s = state() else { throw SystemError("no lab is up in \(home)") }
        let out = try body(&s)
        try save(s)
        return out
    }

    /// Starts an emulated BMC for each lab node that has none running and
    /// records it as the node's BMC in the registry.
    /// - Parameter provisioner: the `provisioner` binary ipmi_sim's chassis script runs.
    /// - Returns: hostname → BMC address.
    @discardableResult
    public func startBMCs(provisioner: String) throws -> [String: String] {
        try FileSystem.makeDirectory(bmcDir)
        chmod(bmcDir, 0o700)
        if !FileManager.default.fileExists(atPath: bmcPasswordFile) {
            // 16 characters: IPMI 1.5 passwords are at most 16 bytes, and ipmi_sim keeps them so.
            let password = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            try FileSystem.writeAtomically(Data((password + "\n").utf8), to: bmcPasswordFile, mode: 0o600)
        }
        let password = try BMCSecret.read(bmcPasswordFile)
        let chassis = bmcDir + "/chassis"
        try FileSystem.writeAtomically(Data("""
            #!/bin/sh
            # ipmi_sim's chassis_control for the lab's nodes: `chassis NODE get|set PARAM [VALUE]...`.
            exec '\(provisioner)' lab chassis --home '\(home)' "$@"

            """.utf8), to: chassis, mode: 0o755)
        var addresses: [String: String] = [:]
        let names = try withState { s -> [String] in s.nodes.filter { !Self.isAlive($0.bmcPID ?? 0) }.map(\.hostname) }
        for name in names {
            let port = try IPMISimulator.freeUDPPort()
            let sim = try IPMISimulator.start(dir: "\(bmcDir)/\(name)", name: name, port: port, password: password,
                                              chassisControl: "\(chassis) \(name)", newSession: true)
            try withState { s in
                if let i = s.nodes.firstIndex(where: { $0.hostname == name }) { s.nodes[i].bmcPID = sim.pid; s.nodes[i].bmcPort = port }
            }
            let address = "127.0.0.1:\(port)"
            if try site.openRegistry().node(name) != nil {
                _ = try site.setBMC(name, BMCSettings(driver: .ipmi, address: address, user: "admin", passwordFile: bmcPasswordFile))
            }
            addresses[name] = address
        }
        return addresses
    }

    /// One chassis request from a node's ipmi_sim, in its `chassis_control`
    /// protocol: `get power boot` prints `power:0|1` and `boot:DEV`;
    /// `set power 0|1`, `set reset 1`, `set shutdown 1`, `set boot DEV` act.
    /// - Returns: what to print.
    public func chassis(_ name: String, _ args: [String]) throws -> String {
        guard let op = args.first else { throw ValidationError(field: "chassis request", value: "", reason: "expected get or set") }
        let params = Array(args.dropFirst())
        let bootFile = "\(bmcDir)/\(name)/boot"
        switch op {
        case "get":
            let on = try withState { s in s.nodes.first { $0.hostname == name }.map { Self.isAlive($0.pid) } ?? false }
            return try params.map { p in
                switch p {
                case "power": return "power:\(on ? 1 : 0)"
                case "boot": return "boot:" + (FileSystem.read(bootFile).map { String(decoding: $0, as: UTF8.self) } ?? "default").trimmingCharacters(in: .whitespacesAndNewlines)
                default: throw ValidationError(field: "chassis parameter", value: p, reason: "expected power or boot")
                }
            }.joined(separator: "\n") + "\n"
        case "set":
            var i = 0
            while i + 1 < params.count {
                let (p, v) = (params[i], params[i + 1])
                i += 2
                switch p {
                case "power": if v == "0" { try powerOff(name) } else { try powerOn(name) }
                case "reset": try powerOff(name); try powerOn(name)
                case "shutdown": try powerOff(name)
                case "boot": try FileSystem.writeAtomically(Data((v + "\n").utf8), to: bootFile, mode: 0o644)
                case "identify": break
                default: throw ValidationError(field: "chassis parameter", value: p, reason: "expected power, reset, shutdown, boot or identify")
                }
            }
            return ""
        default:
            throw ValidationError(field: "chassis request", value: op, reason: "expected get or set")
        }
    }

    /// Starts a lab node's QEMU if it is not running (its serial log starts over, showing this boot only).
    public func powerOn(_ name: String) throws {
        try withState { s in
            guard let i = s.nodes.firstIndex(where: { $0.hostname == name }) else { throw NotFoundError("lab node", name) }
            let node = s.nodes[i]
            if Self.isAlive(node.pid) { return }
            try FileSystem.writeAtomically(Data(), to: node.serialLog)
            s.nodes[i].pid = try spawnInNamespace(try qemuArgv(mac: node.mac, tap: node.tap, serialLog: node.serialLog, memoryMiB: node.memoryMiB ?? 1024,
                                                              cpus: node.cpus ?? 1, name: node.hostname, firmware: node.firmware ?? .bios),
                                                  log: "\(dir)/\(node.hostname).qemu.log")
        }
    }

    /// Stops a lab node's QEMU (pulls the power).
    public func powerOff(_ name: String) throws {
        try withState { s in
            guard let node = s.nodes.first(where: { $0.hostname == name }) else { throw NotFoundError("lab node", name) }
            Self.stop(node.pid, grace: 3)
        }
    }
}

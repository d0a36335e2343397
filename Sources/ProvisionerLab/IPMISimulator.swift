import Foundation
import ProvisionerBMC
import ProvisionerCore
import ProvisionerPlatform

/// One emulated IPMI BMC: OpenIPMI's `ipmi_sim` on 127.0.0.1:`port` (IPMI
/// 2.0 over LAN, user admin, MD5), whose chassis requests run
/// `chassisControl`. The lab puts one in front of each QEMU node; the BMC
/// tests start their own with a chassis that is a state file.
public struct IPMISimulator: Sendable {
    /// The emulator's files: `lan.conf` (0600: it holds the password), its state, its log.
    public let dir: String
    public let port: Int
    public let pid: pid_t

    /// The emulated machine: a BMC at IPMB 0x20 with a chassis device.
    public static let emulation = """
        # A BMC at IPMB 0x20 with a chassis device.
        mc_setbmc 0x20
        mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02
        sel_enable 0x20 1000 0x0a
        mc_enable 0x20

        """

    /// Why the emulator cannot run here, or nil.
    public static var unavailableReason: String? {
        ProcessRunner.which("ipmi_sim") == nil || ProcessRunner.which("ipmitool") == nil ? "needs openipmi and ipmitool (make deps)" : nil
    }

    /// Starts ipmi_sim and waits (at most 10 s) until it answers an RMCP ping.
    /// - Parameters:
    ///   - name: the BMC's name in its config and errors.
    ///   - port: a free UDP port on loopback (`freeUDPPort()`).
    ///   - chassisControl: the command ipmi_sim runs for chassis requests (its arguments follow).
    ///   - newSession: detach from our session (the lab's BMCs outlive `lab up`).
    /// - Throws: `SystemError` when it cannot start or does not answer (its log is named).
    public static func start(dir: String, name: String, port: Int, password: String, chassisControl: String,
                             newSession: Bool = false) throws -> IPMISimulator {
        try FileSystem.makeDirectory(dir + "/state")
        chmod(dir, 0o700)
        try FileSystem.writeAtomically(emulation, to: dir + "/bmc.emu", mode: 0o644)
        try FileSystem.writeAtomically("""
            name "\(name)"
            set_working_mc 0x20
              startlan 1
                addr 127.0.0.1 \(port)
                priv_limit admin
                allowed_auths_callback md5
                allowed_auths_user md5
                allowed_auths_operator md5
                allowed_auths_admin md5
                guid \(String(format: "a1b2c3d4e5f6a7b8c9d0e1f2a3b4%04x", port))
              endlan
              chassis_control "\(chassisControl)"
              user 2 true "admin" "\(password)" admin 10 md5

            """, to: dir + "/lan.conf", mode: 0o600)
        let pid = try ProcessRunner.spawnLogged([ProcessRunner.which("ipmi_sim") ?? "/usr/bin/ipmi_sim", "-c", dir + "/lan.conf", "-f", dir + "/bmc.emu",
                                                 "-s", dir + "/state", "-n", "-p"], log: dir + "/ipmi_sim.log", newSession: newSession)
        let sim = IPMISimulator(dir: dir, port: port, pid: pid)
        guard waitUntil(10, { IPMIClient.answersRMCP(host: "127.0.0.1", port: port, timeout: 0.5) }) else {
            sim.stop()
            throw SystemError("the emulated BMC \(name) (ipmi_sim on 127.0.0.1:\(port)) did not answer; see \(dir)/ipmi_sim.log")
        }
        return sim
    }

    /// Its address, as a node's BMC settings name it.
    public var address: String { "127.0.0.1:\(port)" }

    /// Stops it and waits for it.
    public func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// A UDP port on loopback nobody uses right now.
    public static func freeUDPPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket: \(errnoText())") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw SystemError("finding a free UDP port: \(errnoText())") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

import Foundation
import ProvisionerCore
import ProvisionerPlatform

/// An IPMI BMC through `ipmitool -I lanplus`. The password file goes to
/// ipmitool with `-f` (its path on the command line, never the password);
/// cipher suite 3 is pinned (ipmitool 1.8.19 otherwise picks one some BMCs
/// reject); ipmitool's own retries are cut to one, so a dead BMC costs seconds.
public struct IPMIClient: BMCClient {
    let settings: BMCSettings
    let timeout: Double
    let tool: String

    public init(_ settings: BMCSettings, timeout: Double) throws(BMCError) {
        self.settings = settings
        self.timeout = timeout
        if let problem = BMCSecret.problem(settings.passwordFile) { throw BMCError(.config, problem) }
        guard let tool = ProcessRunner.which("ipmitool") else { throw BMCError(.config, "ipmitool is not installed (make deps)") }
        self.tool = tool
        let (host, port) = settings.endpoint
        guard Self.answersRMCP(host: host, port: port, timeout: min(timeout, 2)) else {
            throw BMCError(.unreachable, "BMC \(settings.address) is unreachable (no RMCP answer on UDP port \(port))")
        }
    }

    public func powerState() throws(BMCError) -> String {
        let out = try ipmitool(["chassis", "power", "status"])
        guard out.contains("Chassis Power is") else { throw BMCError(.failed, "BMC \(settings.address): unexpected answer: \(out.prefix(200))") }
        return out.contains("is on") ? "on" : "off"
    }

    public func power(_ action: PowerAction) throws(BMCError) -> String {
        switch action {
        case .status: return try powerState()
        case .on: _ = try ipmitool(["chassis", "power", "on"]); return "chassis power on"
        case .off: _ = try ipmitool(["chassis", "power", "off"]); return "chassis power off"
        case .cycle:
            // A chassis that is off cannot cycle (the BMC refuses): power it on.
            if try powerState() == "off" { _ = try ipmitool(["chassis", "power", "on"]); return "chassis power on (it was off)" }
            _ = try ipmitool(["chassis", "power", "cycle"])
            return "chassis power cycle"
        }
    }

    public func bootNextPXE() throws(BMCError) {
        // Without `options=persistent` the override is for the next boot only.
        let out = try ipmitool(["chassis", "bootdev", "pxe"])
        guard out.contains("Set Boot Device to pxe") else { throw BMCError(.refused, "BMC \(settings.address) did not set PXE for the next boot: \(out.prefix(200))") }
    }

    func ipmitool(_ command: [String]) throws(BMCError) -> String {
        let (host, port) = settings.endpoint
        let argv = ["-I", "lanplus", "-H", host, "-p", String(port), "-U", settings.user, "-f", settings.passwordFile, "-C", "3",
                    "-R", "1", "-N", String(max(1, Int(timeout / 2)))] + command
        let r: ProcessRunner.Output
        do { r = try ProcessRunner.run(tool, argv) } catch { throw BMCError(.failed, "ipmitool: \(error)") }
        let text = (r.stdout + r.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
        guard r.status == 0, !text.contains("failed") else {
            // The BMC answered RMCP a moment ago, so a session it refuses is the user or password.
            if text.contains("Unable to establish IPMI v2 / RMCP+ session") || text.contains("RAKP") || text.contains("password") {
                throw BMCError(.authentication, "BMC \(settings.address) refused user \(settings.user): wrong user or password")
            }
            throw BMCError(.refused, "BMC \(settings.address): ipmitool \(command.joined(separator: " ")): \(text.prefix(300))")
        }
        return text
    }

    /// Whether an IPMI BMC answers at `host:port`: one "Get Channel
    /// Authentication Capabilities" request (IPMI 1.5 framing, no session),
    /// which every BMC answers before any login.
    package static func answersRMCP(host: String, port: Int, timeout: Double) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else { return false }
        defer { freeaddrinfo(res) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // RMCP (v6, seq ff, class IPMI), session: auth none, seq 0, id 0, length 9,
        // then rsAddr 20, netFn App, checksum, rqAddr 81, seq, cmd 38, channel E + v2, admin, checksum.
        let packet: [UInt8] = [0x06, 0x00, 0xff, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x09,
                               0x20, 0x18, 0xc8, 0x81, 0x00, 0x38, 0x8e, 0x04, 0xb5]
        guard packet.withUnsafeBytes({ sendto(fd, $0.baseAddress, $0.count, 0, ai.pointee.ai_addr, ai.pointee.ai_addrlen) }) == packet.count else { return false }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return false }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = recv(fd, &buf, buf.count, 0)
        return n >= 4 && buf[0] == 0x06
    }
}

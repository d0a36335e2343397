import Foundation
import ProvisionerCore

/// dnsmasq, the DHCP and TFTP server: checks configs with the real binary and
/// signals the running instance.
public struct DnsmasqService: Sendable {
    public let config: SiteConfig
    public let binary: String?

    public init(config: SiteConfig, binary: String? = ProcessRunner.which("dnsmasq")) {
        self.config = config
        self.binary = binary
    }

    /// The pid file of the dnsmasq the provisioner runs.
    public var pidFile: String { config.runDir + "/dnsmasq.pid" }

    /// Checks a candidate config with `dnsmasq --test -C`, before it goes live.
    /// - Throws: `SystemError` with dnsmasq's own complaint.
    public func validate(_ contents: String, for path: String) throws {
        guard let binary else { throw SystemError("validating \(path): dnsmasq is not installed (apt-get install dnsmasq-base)") }
        let tmp = NSTemporaryDirectory() + "provisioner-dnsmasq-\(getpid())-\(UUID().uuidString).conf"
        try FileSystem.writeAtomically(contents, to: tmp, mode: 0o600)
        defer { unlink(tmp) }
        let r = try ProcessRunner.run(binary, ["--test", "-C", tmp])
        guard r.status == 0 else {
            let why = (r.stderr + r.stdout).split(separator: "\n").first.map(String.init) ?? "exit \(r.status)"
            throw SystemError("\(path) would be rejected by dnsmasq: \(why.replacingOccurrences(of: tmp, with: "the new config"))")
        }
    }

    /// The pid of the running dnsmasq, if its pid file names a live process.
    public func runningPID() -> pid_t? { ProcessRunner.livePID(fromFile: pidFile) }

    /// SIGHUP: dnsmasq re-reads its host entries (and forgets removed ones).
    /// - Returns: the pid signalled, or nil when dnsmasq is not running.
    @discardableResult
    public func reloadHosts() -> pid_t? {
        guard let pid = runningPID() else { return nil }
        kill(pid, SIGHUP)
        return pid
    }
}

import Foundation
import ProvisionerCore
import ProvisionerPlatform

/// dnsmasq, the DHCP and TFTP server: checks configs with the real binary and
/// signals the running instance.
public struct DnsmasqService: BootDaemon {
    public let config: SiteConfig
    public let binary: String?
    /// The script dnsmasq runs on lease changes (serve's boot telemetry).
    public let dhcpScript: String?

    public init(config: SiteConfig, binary: String? = ProcessRunner.which("dnsmasq"), dhcpScript: String? = nil) {
        self.config = config
        self.binary = binary
        self.dhcpScript = dhcpScript
    }

    public var name: String { "dnsmasq" }
    public var tools: [String] { ["dnsmasq"] }
    public var logs: [String] { [config.runDir + "/dnsmasq.out", config.runDir + "/dnsmasq.log"] }

    public var processes: [DaemonSpec] {
        var argv = [binary ?? "dnsmasq", "--keep-in-foreground", "--conf-file=\(Paths.dnsmasqConf(config))", "--pid-file=\(pidFile)",
                    "--log-facility=\(config.runDir)/dnsmasq.log"]
        if let dhcpScript { argv += ["--dhcp-script=\(dhcpScript)", "--dhcp-scriptuser=\(Self.runUser)"] }
        return [DaemonSpec(name: "dnsmasq", argv: argv, logFile: config.runDir + "/dnsmasq.out", pidFile: pidFile)]
    }

    /// The site applied, and the TFTP root within reach of dnsmasq's user.
    public func preflight() -> String? {
        if !FileManager.default.fileExists(atPath: Paths.dnsmasqConf(config)) {
            return "the site is not applied (no \(Paths.dnsmasqConf(config))): run `provisioner apply` first"
        }
        return tftpRootProblem() ?? scriptProblem()
    }

    /// The lease script out of reach of the user dnsmasq runs it as (never root).
    public func scriptProblem() -> String? {
        guard let dhcpScript else { return nil }
        let dir = (dhcpScript as NSString).deletingLastPathComponent
        return unreachable(dir, what: "runs its lease script as user \(Self.runUser), which cannot reach \(dhcpScript)",
                           fix: "chmod o+x", elsewhere: "set paths.run_dir where \(Self.runUser) can reach it")
    }
    /// dnsmasq watches dhcp-hostsdir only if it exists when it starts.
    public func prepare() throws {
        try FileSystem.makeDirectory(config.hostsDir)
    }

    public func reads(_ path: String) -> Bool {
        path == Paths.dnsmasqConf(config) || path.hasPrefix(config.hostsDir + "/")
    }

    /// A changed main config needs a restart (serve's housekeeping restarts
    /// dnsmasq when it sees one); a changed or removed host entry needs
    /// SIGHUP (dnsmasq reads new entry files by itself).
    public func reload(_ changed: [ApplyPlan.Entry]) -> [String] {
        let conf = Paths.dnsmasqConf(config)
        if changed.contains(where: { $0.path == conf }) {
            return runningPID().map { ["dnsmasq (pid \($0)) must restart to read the changed \(conf)"] } ?? []
        }
        if changed.contains(where: { $0.kind != .add }), let pid = reloadHosts() {
            return ["dnsmasq (pid \(pid)) reloaded its host entries (SIGHUP)"]
        }
        return []
    }

    public var isRunning: Bool { runningPID() != nil }

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

extension DnsmasqService {
    /// The user dnsmasq drops to once it has its sockets: its compiled
    /// default (the rendered config sets no `user=`). It must be able to
    /// reach the TFTP root, or dnsmasq exits at start.
    public static let runUser = "nobody"

    /// Why dnsmasq's user cannot reach the TFTP root, with the fix, or nil.
    /// (A home made by `mktemp -d` is 0700: dnsmasq then exits at once with
    /// "TFTP directory … inaccessible: Permission denied".)
    public func tftpRootProblem() -> String? {
        unreachable(config.tftpRoot, what: "runs as user \(Self.runUser), which cannot reach the TFTP root \(config.tftpRoot)",
                    fix: "chmod o+rx", elsewhere: "put the site's home where \(Self.runUser) can reach it")
    }

    /// Why dnsmasq's user cannot reach `path` (the directory in the way, its
    /// mode and owner, and the fix), or nil when it can. `fix` is the chmod for
    /// `path` itself; a directory above it needs only o+x.
    private func unreachable(_ path: String, what: String, fix: String, elsewhere: String) -> String? {
        guard let pw = getpwnam(Self.runUser),
              let (dir, mode, owner) = FileSystem.firstUnreachable(path, uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid) else { return nil }
        let chmod = dir == path ? "\(fix) \(dir)" : "chmod o+x \(dir)"
        return "dnsmasq \(what): \(dir) is mode \(String(mode & 0o7777, radix: 8)) owned by \(owner). Fix: `\(chmod)`, or \(elsewhere)"
    }}

extension FileSystem {
    /// The first directory on the way to `path` that user `uid` (group
    /// `gid`) may not pass (no x), or `path` itself when it may not list it
    /// (no r+x): its path, mode and owner. Parts that do not exist yet are
    /// not judged. nil when every part can be passed.
    public static func firstUnreachable(_ path: String, uid: uid_t, gid: gid_t) -> (dir: String, mode: mode_t, owner: String)? {
        guard uid != 0 else { return nil }
        var prefix = ""
        let parts = path.split(separator: "/").map(String.init)
        for (i, part) in ([""] + parts).enumerated() {
            prefix = i == 0 ? "/" : (prefix == "/" ? "/" : prefix + "/") + part
            var st = stat()
            guard stat(prefix, &st) == 0 else { return nil }
            let bits: mode_t = st.st_uid == uid ? (st.st_mode >> 6) & 7 : st.st_gid == gid ? (st.st_mode >> 3) & 7 : st.st_mode & 7
            let needed: mode_t = i == parts.count ? 5 : 1
            if bits & needed != needed {
                let owner = getpwuid(st.st_uid).map { String(cString: $0.pointee.pw_name) } ?? String(st.st_uid)
                return (prefix, st.st_mode, owner)
            }
        }
        return nil
    }
}

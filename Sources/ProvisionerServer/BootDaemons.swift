import Foundation
import Logging
import ProvisionerCore
import ProvisionerServices

/// The daemons of a site: dnsmasq (DHCP + TFTP), and for the NFS root either
/// the kernel server (exportfs) or rpcbind + nfs-ganesha.
public struct BootDaemons: Sendable {
    public let config: SiteConfig
    /// The script dnsmasq runs on lease changes (boot telemetry).
    public let dhcpScript: String?

    public init(config: SiteConfig, dhcpScript: String?) {
        self.config = config
        self.dhcpScript = dhcpScript
    }

    /// The NFS server to run: the configured one, or for `auto` the kernel's
    /// where it has nfsd and ganesha otherwise.
    public var nfs: NFSServerKind {
        guard config.nfsServer == .auto else { return config.nfsServer }
        let fs = String(decoding: FileSystem.read("/proc/filesystems") ?? Data(), as: UTF8.self)
        return fs.contains("\tnfsd") && ProcessRunner.which("exportfs") != nil ? .kernel : .ganesha
    }

    var run: String { config.runDir }

    /// Why serve cannot start, in one line, or nil: missing tools, a site not
    /// applied, a port already taken.
    public func preflight(httpPort: Int) -> String? {
        var tools = ["dnsmasq"]
        if nfs == .ganesha { tools += ["rpcbind", "ganesha.nfsd"] }
        if nfs == .kernel { tools += ["exportfs"] }
        let missing = tools.filter { ProcessRunner.which($0) == nil }
        if !missing.isEmpty { return "missing \(missing.joined(separator: ", ")): run `make deps` (or apt-get install dnsmasq-base nfs-ganesha nfs-ganesha-vfs rpcbind)" }
        if !FileManager.default.fileExists(atPath: Paths.dnsmasqConf(config)) {
            return "the site is not applied (no \(Paths.dnsmasqConf(config))): run `provisioner apply` first"
        }
        if let problem = DnsmasqService(config: config).tftpRootProblem() { return problem }
        if nfs == .ganesha && !FileManager.default.fileExists(atPath: config.ganeshaConfig) {
            return "no ganesha config at \(config.ganeshaConfig): run `provisioner apply` first"
        }
        var ports = [(httpPort, "HTTP")]
        if nfs == .ganesha { ports += [(2049, "NFS"), (111, "rpcbind")] }
        for (port, what) in ports where !Self.canBind(config.serverIP.description, port) {
            return "port \(port) (\(what)) on \(config.serverIP) is taken or the address is not on this host; stop what uses it or change the config"
        }
        return nil
    }

    static func size(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    /// The non-empty lines a log gained after byte `offset`.
    static func lines(of path: String, from offset: Int) -> [String] {
        let data = FileSystem.read(path) ?? Data()
        guard data.count > offset else { return [] }
        return String(decoding: data.dropFirst(offset), as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// Whether a TCP socket can bind `host:port` right now.
    public static func canBind(_ host: String, _ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Whether something accepts TCP connections on `host:port`.
    public static func accepts(_ host: String, _ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Waits until `host:port` accepts connections.
    static func waitFor(_ host: String, _ port: Int, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if accepts(host, port) { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    public var dnsmasq: DaemonSpec {
        var argv = [ProcessRunner.which("dnsmasq") ?? "dnsmasq", "--keep-in-foreground",
                    "--conf-file=\(Paths.dnsmasqConf(config))", "--pid-file=\(run)/dnsmasq.pid",
                    "--log-facility=\(run)/dnsmasq.log"]
        if let dhcpScript { argv.append("--dhcp-script=\(dhcpScript)") }
        return DaemonSpec(name: "dnsmasq", argv: argv, logFile: "\(run)/dnsmasq.out", pidFile: "\(run)/dnsmasq.pid")
    }

    public var rpcbind: DaemonSpec {
        DaemonSpec(name: "rpcbind", argv: [ProcessRunner.which("rpcbind") ?? "rpcbind", "-f", "-h", config.serverIP.description],
                   logFile: "\(run)/rpcbind.log", pidFile: "\(run)/rpcbind.pid")
    }

    public var ganesha: DaemonSpec {
        DaemonSpec(name: "ganesha", argv: [ProcessRunner.which("ganesha.nfsd") ?? "ganesha.nfsd", "-F", "-f", config.ganeshaConfig,
                                           "-L", "\(run)/ganesha.log", "-p", "\(run)/ganesha.pid", "-N", "NIV_EVENT"],
                   logFile: "\(run)/ganesha.out", pidFile: "\(run)/ganesha.pid")
    }

    /// Starts the daemons in order, each ready before the next.
    /// - Throws: `SystemError` naming the daemon that did not come up, with its log.
    public func start(_ sup: Supervisor, logger: Logger) throws {
        try FileSystem.makeDirectory(run)
        switch nfs {
        case .ganesha:
            // Stale rpcbind state from a killed run would refuse to start.
            for f in ["/run/rpcbind.sock", "/run/rpcbind.lock"] { unlink(f) }
            try FileSystem.makeDirectory("/run/rpcbind")
            try sup.start(rpcbind)
            guard Self.waitFor(config.serverIP.description, 111, seconds: 10) else {
                throw SystemError("rpcbind did not start listening on \(config.serverIP):111; see \(run)/rpcbind.log")
            }
            try sup.start(ganesha)
            guard Self.waitFor(config.serverIP.description, 2049, seconds: 30) else {
                throw SystemError("nfs-ganesha did not start listening on \(config.serverIP):2049; see \(run)/ganesha.log")
            }
        case .kernel:
            let r = try ProcessRunner.run(ProcessRunner.which("exportfs") ?? "exportfs", ["-ra"])
            if r.status != 0 { throw SystemError("exportfs -ra failed: \(r.stderr)") }
            logger.info("kernel NFS server: exports reloaded")
        case .none, .auto:
            logger.info("no NFS server started (nfs.server: none)")
        }
        // dnsmasq watches dhcp-hostsdir only if it exists when it starts.
        try FileSystem.makeDirectory(config.hostsDir)
        let logs = ["\(run)/dnsmasq.out", "\(run)/dnsmasq.log"]
        let marks = logs.map(Self.size)
        try sup.start(dnsmasq)
        Thread.sleep(forTimeInterval: 0.3)
        guard sup.pid("dnsmasq") != nil else {
            // Its own reason is in what it wrote since this start: stderr, or its log facility.
            let said = zip(logs, marks).flatMap { Self.lines(of: $0, from: $1) }.suffix(4)
            throw SystemError("dnsmasq exited at once: " + (said.isEmpty ? "it said nothing (see \(logs.joined(separator: ", ")))" : said.joined(separator: " | ")))
        }
    }
}

import Foundation
import ProvisionerCore
import ProvisionerPlatform

/// A process that serve's supervisor runs and restarts.
public struct DaemonSpec: Sendable {
    public var name: String
    public var argv: [String]
    /// stdout and stderr go here (appended).
    public var logFile: String
    /// Restart it when it dies (not while stopping).
    public var restart: Bool
    /// Written by the supervisor with the child's pid (for signals from other commands).
    public var pidFile: String?
    /// It is ready when this TCP port accepts connections on the server address (nil: when it is still alive shortly after start).
    public var readyPort: Int?
    /// How long to wait for `readyPort`.
    public var readySeconds: Double

    public init(name: String, argv: [String], logFile: String, restart: Bool = true, pidFile: String? = nil,
                readyPort: Int? = nil, readySeconds: Double = 10) {
        self.name = name
        self.argv = argv
        self.logFile = logFile
        self.restart = restart
        self.pidFile = pidFile
        self.readyPort = readyPort
        self.readySeconds = readySeconds
    }
}

/// One daemon of the boot chain (dnsmasq; nfs-ganesha with rpcbind; the
/// kernel's NFS server): what it needs, what it runs, which rendered files it
/// reads and how it takes their changes. serve's start and `apply`'s reloads
/// are loops over these.
public protocol BootDaemon: Sendable {
    /// Its name in logs and errors.
    var name: String { get }
    /// Programs it needs on PATH.
    var tools: [String] { get }
    /// TCP ports it listens on at the server address: they must be free before it starts.
    var ports: [(port: Int, what: String)] { get }
    /// The processes serve starts for it, in order (none for the kernel server).
    var processes: [DaemonSpec] { get }
    /// The files holding its own words when it fails at start.
    var logs: [String] { get }
    /// Why it cannot start (the site not applied, a directory its user cannot reach), with the fix; nil when it can.
    func preflight() -> String?
    /// What must be done before its processes start (directories it watches, stale sockets).
    /// - Throws: `SystemError` when that fails.
    func prepare() throws
    /// Whether it reads this rendered file.
    func reads(_ path: String) -> Bool
    /// Tells the running daemon that `changed` (files it reads) changed.
    /// - Returns: what was done, for the operator; empty when it is not running.
    func reload(_ changed: [ApplyPlan.Entry]) -> [String]
    /// Whether it runs now.
    var isRunning: Bool { get }
}

extension BootDaemon {
    public var ports: [(port: Int, what: String)] { [] }
    public var processes: [DaemonSpec] { [] }
    public func prepare() throws {}

    /// Why it cannot start, the tools checked first; nil when it can.
    public func check() -> String? {
        let missing = tools.filter { ProcessRunner.which($0) == nil }
        if !missing.isEmpty {
            return "missing \(missing.joined(separator: ", ")) (for \(name)): run `make deps` (or apt-get install dnsmasq-base nfs-ganesha nfs-ganesha-vfs rpcbind)"
        }
        return preflight()
    }
}

/// The boot daemons of a site.
public enum BootDaemons {
    /// dnsmasq, then the NFS server of the images (none for `nfs.server: none`).
    public static func of(_ config: SiteConfig, dhcpScript: String? = nil) -> [any BootDaemon] {
        var out: [any BootDaemon] = []
        if let nfs = nfs(config) { out.append(nfs) }
        out.append(DnsmasqService(config: config, dhcpScript: dhcpScript))
        return out
    }

    /// The NFS server to run: the configured one, or for `auto` the kernel's
    /// where it has nfsd and nfs-ganesha otherwise; nil for `none`.
    public static func nfs(_ config: SiteConfig) -> (any BootDaemon)? {
        switch resolvedNFS(config) {
        case .kernel: KernelNFSService(config: config)
        case .ganesha: GaneshaService(config: config)
        case .none, .auto: nil
        }
    }

    public static func resolvedNFS(_ config: SiteConfig) -> NFSServerKind {
        guard config.nfsServer == .auto else { return config.nfsServer }
        let fs = String(decoding: FileSystem.read("/proc/filesystems") ?? Data(), as: UTF8.self)
        return fs.contains("\tnfsd") && ProcessRunner.which("exportfs") != nil ? .kernel : .ganesha
    }
}

/// nfs-ganesha (VFS FSAL) with rpcbind for NFSv3: the user-space NFS server of the images.
public struct GaneshaService: BootDaemon {
    public let config: SiteConfig
    public init(config: SiteConfig) { self.config = config }

    public var name: String { "nfs-ganesha" }
    public var tools: [String] { ["rpcbind", "ganesha.nfsd"] }
    public var ports: [(port: Int, what: String)] { [(2049, "NFS"), (111, "rpcbind")] }
    var run: String { config.runDir }
    public var pidFile: String { run + "/ganesha.pid" }
    public var logs: [String] { [run + "/rpcbind.log", run + "/ganesha.out", run + "/ganesha.log"] }

    public var processes: [DaemonSpec] {
        [DaemonSpec(name: "rpcbind", argv: [ProcessRunner.which("rpcbind") ?? "rpcbind", "-f", "-h", config.serverIP.description],
                    logFile: run + "/rpcbind.log", pidFile: run + "/rpcbind.pid", readyPort: 111, readySeconds: 10),
         DaemonSpec(name: "ganesha", argv: [ProcessRunner.which("ganesha.nfsd") ?? "ganesha.nfsd", "-F", "-f", config.ganeshaConfig,
                                            "-L", run + "/ganesha.log", "-p", pidFile, "-N", "NIV_EVENT"],
                    logFile: run + "/ganesha.out", pidFile: pidFile, readyPort: 2049, readySeconds: 30)]
    }

    public func preflight() -> String? {
        FileManager.default.fileExists(atPath: config.ganeshaConfig) ? nil : "no ganesha config at \(config.ganeshaConfig): run `provisioner apply` first"
    }

    public func prepare() throws {
        // Stale rpcbind state from a killed run would refuse to start.
        for f in ["/run/rpcbind.sock", "/run/rpcbind.lock"] { unlink(f) }
        try FileSystem.makeDirectory("/run/rpcbind")
    }

    public func reads(_ path: String) -> Bool { path == config.ganeshaConfig }

    public func reload(_ changed: [ApplyPlan.Entry]) -> [String] {
        guard let pid = ProcessRunner.livePID(fromFile: pidFile) else { return [] }
        kill(pid, SIGHUP)
        return ["nfs-ganesha (pid \(pid)) reloaded its exports (SIGHUP)"]
    }

    public var isRunning: Bool { ProcessRunner.livePID(fromFile: pidFile) != nil }
}

/// The kernel's NFS server: exports in `exports_dir`, taken in by `exportfs -ra`.
public struct KernelNFSService: BootDaemon {
    public let config: SiteConfig
    /// Where the kernel lists what it exports (present only where nfsd runs).
    public var kernelExports = "/proc/fs/nfsd/exports"
    public init(config: SiteConfig) { self.config = config }

    public var name: String { "kernel NFS server" }
    public var tools: [String] { ["exportfs"] }
    public var exportsFile: String { config.exportsDir + "/provisioner.exports" }
    public var logs: [String] { [] }

    public func preflight() -> String? {
        FileManager.default.fileExists(atPath: exportsFile) ? nil : "no exports at \(exportsFile): run `provisioner apply` first"
    }

    public func prepare() throws {
        let r = try ProcessRunner.run(ProcessRunner.which("exportfs") ?? "exportfs", ["-ra"])
        if r.status != 0 { throw SystemError("exportfs -ra failed: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
    }

    public func reads(_ path: String) -> Bool { path == exportsFile }

    public func reload(_ changed: [ApplyPlan.Entry]) -> [String] {
        guard isRunning, let exportfs = ProcessRunner.which("exportfs") else { return [] }
        let r = try? ProcessRunner.run(exportfs, ["-ra"])
        return [r?.status == 0 ? "kernel NFS server re-exported (exportfs -ra)" : "exportfs -ra failed: \(r?.stderr ?? "")"]
    }

    public var isRunning: Bool { FileManager.default.fileExists(atPath: kernelExports) }
}

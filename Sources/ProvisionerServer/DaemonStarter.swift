import Foundation
import Logging
import ProvisionerCore
import ProvisionerBoot
import ProvisionerPlatform

/// Starts the boot daemons of a site under a supervisor, in order, each
/// ready before the next; checks first that each can start.
public struct DaemonStarter: Sendable {
    public let daemons: [any BootDaemon]
    public let serverIP: String

    public init(daemons: [any BootDaemon], serverIP: String) {
        self.daemons = daemons
        self.serverIP = serverIP
    }

    /// The daemons of a site, with dnsmasq's lease script.
    public init(config: SiteConfig, dhcpScript: String?) {
        self.init(daemons: BootDaemons.of(config, dhcpScript: dhcpScript), serverIP: config.serverIP.description)
    }

    /// Why serve cannot start, in one line, or nil: a missing tool, a site
    /// not applied, a directory a daemon's user cannot reach, a port taken.
    public func preflight(httpPort: Int, httpsPort: Int? = nil, operatorListen: (host: String, port: Int)? = nil) -> String? {
        for d in daemons { if let problem = d.check() { return problem } }
        let ports = [(port: httpPort, what: "HTTP")] + (httpsPort.map { [(port: $0, what: "HTTPS")] } ?? []) + daemons.flatMap(\.ports)
        for (port, what) in ports where !Self.canBind(serverIP, port) {
            return "port \(port) (\(what)) on \(serverIP) is taken or the address is not on this host; stop what uses it or change the config"
        }
        if let (host, port) = operatorListen, !Self.canBind(host, port) {
            return "port \(port) (the operator API's HTTPS, http.operator_listen) on \(host) is taken or the address is not on this host; stop what uses it or change http.operator_listen"
        }
        return nil
    }

    /// Starts every daemon's processes in order, each ready before the next.
    /// - Throws: `SystemError` naming the daemon that did not come up, with
    ///   what it wrote since this start.
    public func start(_ sup: Supervisor, logger: Logger) throws {
        for d in daemons {
            try d.prepare()
            let marks = d.logs.map(Self.size)
            func said() -> String {
                let lines = zip(d.logs, marks).flatMap { Self.lines(of: $0, from: $1) }.suffix(4)
                return lines.isEmpty ? "it said nothing (see \(d.logs.joined(separator: ", ")))" : lines.joined(separator: " | ")
            }
            for p in d.processes {
                if let pidFile = p.pidFile {
                    try FileSystem.makeDirectory((pidFile as NSString).deletingLastPathComponent)
                    // A pid file left by a daemon that is gone (serve restarted) would make dnsmasq refuse to start.
                    if ProcessRunner.livePID(fromFile: pidFile) == nil {
                        try? FileManager.default.removeItem(atPath: pidFile)
                    }
                }
                try sup.start(p)
                if let port = p.readyPort {
                    guard Self.waitFor(serverIP, port, seconds: p.readySeconds) else {
                        throw SystemError("\(p.name) did not start listening on \(serverIP):\(port): \(said())")
                    }
                } else {
                    Thread.sleep(forTimeInterval: 0.3)
                    guard sup.pid(p.name) != nil else { throw SystemError("\(p.name) exited at once: \(said())") }
                }
            }
            if d.processes.isEmpty { logger.info("\(d.name): ready") }
        }
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
        guard let fd = connected(host, port) else { return false }
        close(fd)
        return true
    }

    /// A TCP socket connected to `host:port` (the caller closes it); nil when none could be.
    static func connected(_ host: String, _ port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let ok = inet_pton(AF_INET, host, &addr.sin_addr) == 1 && withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
        guard ok else { close(fd); return nil }
        return fd
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
}

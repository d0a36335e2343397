import Foundation

/// A private network for one test: a server and a client namespace joined by
/// a veth pair, no uplink. With `siteIP`, a third namespace plays the site's
/// own network (its DHCP server) on the same segment: the server namespace
/// then bridges both links and `serverIf` is the bridge. Removed on `close()`.
public final class TestNetwork {
    public let id = String(UUID().uuidString.prefix(6)).lowercased()
    public var server: String { "pvs-\(id)" }
    public var client: String { "pvc-\(id)" }
    public var site: String { "pvx-\(id)" }
    /// The server's interface on the node network (the bridge when there is a site namespace).
    public let serverIf: String
    public var clientIf: String { "pv\(id)c" }
    public var siteIf: String { "pv\(id)x" }
    private let hasSite: Bool
    private var pidFiles: [String] = []

    public static var unavailableReason: String? {
        if getuid() != 0 { return "needs root to create network namespaces" }
        if !FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") && !FileManager.default.isExecutableFile(atPath: "/sbin/ip") && !FileManager.default.isExecutableFile(atPath: "/usr/bin/ip") { return "needs iproute2" }
        return nil
    }

    public init(serverIP: String, prefix: Int, siteIP: String? = nil) throws {
        hasSite = siteIP != nil
        serverIf = siteIP == nil ? "pv\(id)s" : "pv\(id)b"
        try sh("ip netns add \(server) && ip netns add \(client)")
        try sh("ip link add pv\(id)s netns \(server) type veth peer name \(clientIf) netns \(client)")
        if let siteIP {
            try sh("ip netns add \(site)")
            try sh("ip link add pv\(id)t netns \(server) type veth peer name \(siteIf) netns \(site)")
            try sh("ip -n \(server) link add \(serverIf) type bridge && ip -n \(server) link set pv\(id)s master \(serverIf) && ip -n \(server) link set pv\(id)t master \(serverIf)")
            try sh("ip -n \(server) link set pv\(id)s up && ip -n \(server) link set pv\(id)t up")
            try sh("ip -n \(site) addr add \(siteIP)/\(prefix) dev \(siteIf) && ip -n \(site) link set lo up && ip -n \(site) link set \(siteIf) up")
        }
        try sh("ip -n \(server) addr add \(serverIP)/\(prefix) dev \(serverIf) && ip -n \(server) addr add fd99:\(id.prefix(4))::1/64 dev \(serverIf) nodad")
        try sh("ip -n \(server) link set lo up && ip -n \(server) link set \(serverIf) up && ip -n \(client) link set lo up && ip -n \(client) link set \(clientIf) up")
    }

    /// Runs `command` in a namespace and waits for it.
    @discardableResult
    public func exec(_ ns: String, _ command: String) throws -> CLI.Result {
        try runProcess("/bin/sh", ["-c", "ip netns exec \(ns) \(command)"])
    }

    /// Starts dnsmasq in the server namespace with the config `apply` wrote in
    /// `home`, its log in the home's run directory; waits for its pid file.
    /// - Returns: the run directory (dnsmasq.pid, dnsmasq.log).
    public func startDnsmasq(_ home: Home) throws -> String {
        let run = home.dir + "/run/provisioner"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let pidFile = run + "/dnsmasq.pid"
        try startDaemon(server, "dnsmasq --conf-file=\(home.dir)/etc/dnsmasq.d/provisioner.conf --pid-file=\(pidFile) --log-facility=\(run)/dnsmasq.log", pidFile: pidFile)
        guard waitFor(10, { FileManager.default.fileExists(atPath: pidFile) }) else {
            throw TestFailure("dnsmasq did not start: \((try? String(contentsOfFile: run + "/dnsmasq.log", encoding: .utf8)) ?? "(no log)")")
        }
        return run
    }

    /// Starts a daemon in a namespace (it forks and writes `pidFile`); killed on close.
    public func startDaemon(_ ns: String, _ command: String, pidFile: String) throws {
        try sh("ip netns exec \(ns) \(command)")
        pidFiles.append(pidFile)
    }

    public func close() {
        for f in pidFiles {
            if let text = try? String(contentsOfFile: f, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGTERM)
                _ = waitFor(5) { kill(pid, 0) != 0 }
            }
        }
        let spaces = [server, client] + (hasSite ? [site] : [])
        _ = try? sh(spaces.map { "ip netns pids \($0) | xargs -r kill" }.joined(separator: "; ") + "; sleep 0.2; " + spaces.map { "ip netns del \($0)" }.joined(separator: "; "))
    }

    @discardableResult
    public func sh(_ command: String) throws -> CLI.Result {
        let r = try runProcess("/bin/sh", ["-c", command], env: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
        guard r.status == 0 else { throw TestFailure("\(command): \(r.stderr)") }
        return r
    }
}

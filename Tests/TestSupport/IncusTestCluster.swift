import Foundation
import ProvisionerPlatform

/// Real Incus daemons on this host, as Incus's own cluster tests run them:
/// each with its own `INCUS_DIR` and loopback address (127.0.0.N), all in a
/// network namespace of their own with only loopback (incusd looks up its
/// image servers at start: here that fails at once, and nothing leaves the
/// host). Clients reach their sockets from anywhere and their HTTPS from
/// inside the namespace (`exec`). `close()` stops them and removes it all.
public final class IncusTestCluster: @unchecked Sendable {
    public static let incusd = "/usr/libexec/incus/incusd"
    public static let incus = "/usr/bin/incus"
    public static var unavailableReason: String? {
        if getuid() != 0 { return "needs root" }
        if !FileManager.default.isExecutableFile(atPath: incusd) { return "needs incusd (`make test` installs incus-base from bookworm-backports)" }
        return nil
    }

    public let namespace: String
    public let root: String
    public let port = 18443
    private var daemons: [Int: Background] = [:]

    public init() throws {
        namespace = "pvinc-" + UUID().uuidString.prefix(8).lowercased()
        root = try makeTempDir("incus")
        try sh("ip netns add \(namespace) && ip -n \(namespace) link set lo up")
    }

    /// Daemon `i`'s directory, socket and cluster address (127.0.0.i:18443).
    public func dir(_ i: Int) -> String { root + "/d\(i)" }
    public func socket(_ i: Int) -> String { dir(i) + "/unix.socket" }
    public func address(_ i: Int) -> String { "127.0.0.\(i):\(port)" }

    /// Starts daemon `i` on its directory (made when missing) and waits for
    /// its socket to answer; in the cluster's namespace, or in `namespace`
    /// (a test network's: the provisioning server's, a node's).
    public func start(_ i: Int, in namespace: String? = nil) throws {
        try FileManager.default.createDirectory(atPath: dir(i), withIntermediateDirectories: true)
        let daemon = try Background(["/usr/bin/env", "INCUS_DIR=\(dir(i))", "/usr/sbin/ip", "netns", "exec", namespace ?? self.namespace,
                                     Self.incusd, "--group", "root"],
                                    log: root + "/incusd\(i).log")
        daemons[i] = daemon
        guard waitFor(30, { (try? incus(i, ["query", "/1.0"]))?.status == 0 }) else {
            throw SystemError("incusd \(i) did not answer on \(socket(i)): \(daemon.output.suffix(1500))")
        }
    }

    /// Kills daemon `i` at once (a node powered off).
    public func kill(_ i: Int) {
        _ = daemons[i]?.stop(SIGKILL, seconds: 10)
        daemons[i] = nil
    }

    /// Its state gone, as a diskless node's is at every boot.
    public func wipe(_ i: Int) throws {
        kill(i)
        try? FileManager.default.removeItem(atPath: dir(i))
    }

    /// The real `incus` client against daemon `i`'s socket.
    @discardableResult
    public func incus(_ i: Int, _ args: [String]) throws -> CLI.Result {
        try runProcess("/usr/bin/env", ["INCUS_DIR=\(dir(i))", Self.incus] + args)
    }

    /// A command in the namespace (where the daemons' HTTPS is).
    public func exec(_ argv: [String], env: [String: String] = [:]) throws -> CLI.Result {
        try runProcess("/usr/sbin/ip", ["netns", "exec", namespace] + argv, env: env)
    }

    public func close() {
        for i in Array(daemons.keys) { kill(i) }
        _ = try? sh("ip netns del \(namespace)")
        try? FileManager.default.removeItem(atPath: root)
    }

    private func sh(_ command: String) throws {
        let r = try runProcess("/bin/sh", ["-c", command])
        if r.status != 0 { throw SystemError("\(command): \(r.stderr)") }
    }
}

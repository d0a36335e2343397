import Foundation
import ProvisionerStore
import ProvisionerPlatform

/// A real PostgreSQL 15 (Debian's) for the registry tests: one server per
/// test process, made with `initdb` in a temporary directory, listening on
/// a Unix socket only (no TCP), run as the `postgres` account (PostgreSQL
/// refuses to run as root). Each test gets a database of its own. A watcher
/// stops the server and removes its directory when the test process ends.
public final class PostgresTestServer: Sendable {
    public static let bin = "/usr/lib/postgresql/15/bin"
    public static let shared = Result { try PostgresTestServer() }

    /// The data directory's parent; the socket is in it.
    public let dir: String

    /// With `tls`: the server also listens on 127.0.0.1:`port` over TCP, TLS only (`hostssl`), with
    /// the certificate and key `tls` made for 127.0.0.1.
    public let tls: SiteTLS?
    public let port: Int

    /// A server of the caller's own (one it may stop and start); tests that only need a database use `shared`.
    /// - Parameter tls: a site TLS whose server certificate names 127.0.0.1: TCP with TLS only, on `port`.
    public init(tls: SiteTLS? = nil, port: Int = 5432) throws {
        self.tls = tls
        self.port = port
        // A short path: a Unix socket's path is limited to 107 bytes.
        dir = "/tmp/pg-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if getuid() == 0 {
            try Self.run(["/bin/chown", "postgres:postgres", dir])
        }
        try Self.run(asPostgres + [Self.bin + "/initdb", "-D", dir + "/data", "-A", "trust", "-U", "postgres", "--locale=C", "-E", "UTF8", "--no-sync"])
        if let tls {
            // TCP only with TLS: the certificate and key the server reads (its own, 0600), and no plain `host` line.
            for (from, to) in [(tls.certificatePath, "server.pem"), (tls.keyPath, "server.key")] {
                try FileManager.default.copyItem(atPath: from, toPath: dir + "/data/" + to)
                chmod(dir + "/data/" + to, 0o600)
                if getuid() == 0 { try Self.run(["/bin/chown", "postgres:postgres", dir + "/data/" + to]) }
            }
            try "local all all trust\nhostssl all all 127.0.0.1/32 trust\n".write(toFile: dir + "/data/pg_hba.conf", atomically: true, encoding: .utf8)
            if getuid() == 0 { try Self.run(["/bin/chown", "postgres:postgres", dir + "/data/pg_hba.conf"]) }
        }
        try start()
        // Stop it once this process is gone (Swift Testing has no end-of-run hook).
        _ = try ProcessRunner.spawnLogged(["/bin/sh", "-c", """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            \(asPostgres.joined(separator: " ")) \(Self.bin)/pg_ctl -D \(dir)/data -m immediate stop >/dev/null 2>&1
            rm -rf \(dir)
            """], log: "/dev/null", newSession: true)
    }

    private var asPostgres: [String] { getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : [] }

    /// Starts the server (again) and waits until it takes connections.
    public func start() throws {
        try Self.run(asPostgres + [Self.bin + "/pg_ctl", "-D", dir + "/data", "-l", dir + "/log", "-w", "-t", "60", "start",
                                   "-o", "-k \(dir) -p \(port) -c fsync=off -c synchronous_commit=off -c max_connections=200 "
                                   + (tls == nil ? "-c listen_addresses=''" : "-c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=server.pem -c ssl_key_file=server.key")])
    }

    /// Stops the server (fast shutdown: sessions are cut, as when the database host goes down).
    public func stop() throws {
        try Self.run(asPostgres + [Self.bin + "/pg_ctl", "-D", dir + "/data", "-m", "fast", "-w", "stop"])
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) the server and every backend:
    /// a database host that hangs rather than refusing connections.
    public func freeze(_ frozen: Bool) throws {
        let pidText = try String(contentsOfFile: dir + "/data/postmaster.pid", encoding: .utf8).split(separator: "\n").first ?? ""
        guard let postmaster = pid_t(pidText) else { throw SystemError("no postmaster pid in \(dir)/data/postmaster.pid") }
        var pids = [postmaster]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // pid (comm) state ppid ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, pid_t(fields[1]) == postmaster { pids.append(pid) }
        }
        // The postmaster last when stopping (it would start new backends), first when continuing.
        for pid in frozen ? pids.reversed() : pids { kill(pid, frozen ? SIGSTOP : SIGCONT) }
    }

    /// A new, empty database; its URL.
    public func database() throws -> String {
        let name = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        try Self.run([Self.bin + "/psql", "-X", "-q", "-h", dir, "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", "CREATE DATABASE \(name)"])
        return "postgres://postgres@/\(name)?host=\(dir)" + (port == 5432 ? "" : "&port=\(port)")
    }

    /// SQL run with psql (as the tests' own view of the database, beside the registry's).
    public func psql(_ url: String, _ sql: String) throws -> String {
        let db = try PostgresLocation(url: url).database
        return try Self.run([Self.bin + "/psql", "-X", "-q", "-A", "-t", "-h", dir, "-p", String(port), "-U", "postgres", "-d", db, "-c", sql])
    }

    /// Runs a program to its end, output to a file (posix_spawn, no descriptor of ours
    /// inherited: `pg_ctl start` leaves the server running, which would keep a pipe open).
    @discardableResult
    public static func run(_ argv: [String]) throws -> String {
        let log = NSTemporaryDirectory() + "pg-run-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let pid = try ProcessRunner.spawnLogged(argv, log: log)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw TestServerError(description: "\(argv.joined(separator: " ")) failed (\(status)): \(text)")
        }
        return text
    }
}

public struct TestServerError: Error, CustomStringConvertible { public var description: String }


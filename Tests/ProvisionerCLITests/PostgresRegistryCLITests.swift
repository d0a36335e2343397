import Foundation
import Synchronization
import Testing
import TestSupport

/// The CLI on a PostgreSQL registry (a real PostgreSQL 15 started for the
/// test run): a site made on one, a SQLite site migrated into one all or
/// nothing, and two boot servers' homes writing to the same database.
@Suite struct PostgresRegistryCLITests {
    @Test func initOnPostgresAndTwoHomesShareIt() throws {
        let url = try PostgresTestServer.shared.get().database()
        // A bad URL or a database that cannot be reached writes nothing.
        let badDir = NSTemporaryDirectory() + "provisioner-cli-\(UUID().uuidString)"
        var r = try CLI.run(["init", "--home", badDir, "--mirror", "http://m.example/debian", "--registry", "mysql://x/y"])
        #expect(r.status == 2 && r.stderr.contains("registry URL"), "\(r.stderr)")
        r = try CLI.run(["init", "--home", badDir, "--mirror", "http://m.example/debian", "--registry", "postgres://u:hidden@/none?host=/nonexistent"])
        #expect(r.status == 2 && r.stderr.contains("--registry @FILE") && !r.stderr.contains("hidden"), "a password on the command line: \(r.status) \(r.stderr)")
        let urlFile = NSTemporaryDirectory() + "registry-url-\(UUID().uuidString)"
        try "postgres://u:hidden@/none?host=/nonexistent\n".write(toFile: urlFile, atomically: true, encoding: .utf8)
        chmod(urlFile, 0o600)
        defer { try? FileManager.default.removeItem(atPath: urlFile) }
        r = try CLI.run(["init", "--home", badDir, "--mirror", "http://m.example/debian", "--registry", "@" + urlFile])
        #expect(r.status == 6 && r.stderr.contains("unreachable") && !r.stderr.contains("hidden"), "\(r.status) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: badDir + "/provisioner.yaml"))

        let a = try Home(["--registry", url])
        let b = try Home(["--registry", url])
        #expect(!FileManager.default.fileExists(atPath: a.registry), "no SQLite file beside a PostgreSQL registry")
        let mode = try FileManager.default.attributesOfItem(atPath: a.dir + "/registry.url")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try a.run(["node", "add", "n1", "--mac", "02:00:00:00:09:01", "--no-apply"]).status == 0)
        // What one boot server wrote, the other reads.
        #expect(try b.run(["node", "list", "--json"]).objects.map { $0["hostname"] as? String } == ["n1"])
        let dup = try b.run(["node", "add", "other", "--mac", "02:00:00:00:09:01", "--no-apply"])
        #expect(dup.status == 4 && dup.stderr.contains("02:00:00:00:09:01") && dup.stderr.contains("n1"), "\(dup.stderr)")

        // Both homes add the same machine at once, eight times over: one wins each time.
        let outcomes = Mutex<[Int32]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { k in
            let home = k % 2 == 0 ? a : b
            let i = k / 2
            let s = (try? home.run(["node", "add", "r\(i)-\(k % 2)", "--mac", String(format: "02:00:00:00:0a:%02x", i), "--no-apply"]))?.status ?? -1
            outcomes.withLock { $0.append(s) }
        }
        let got = outcomes.withLock { $0 }
        #expect(got.filter { $0 == 0 }.count == 8 && got.filter { $0 == 4 }.count == 8, "\(got)")
        #expect(try a.run(["node", "list", "--json"]).objects.count == 9)
    }

    @Test func migrateCopiesAllOrNothing() throws {
        let server = try PostgresTestServer.shared.get()
        let home = try Home()
        try #require(try home.run(["node", "add", "a", "--mac", "02:00:00:00:0b:01", "--no-apply"]).status == 0)
        try #require(try home.run(["node", "add", "b", "--no-apply"]).status == 0)
        try #require(try home.run(["node", "drain", "a"]).status == 0)
        let before = try home.run(["node", "list", "--json"]).stdout

        // Into a database that is not empty: refused, the site stays on SQLite.
        let busy = try server.database()
        let other = try Home(["--registry", busy])
        try #require(try other.run(["node", "add", "z", "--no-apply"]).status == 0)
        var r = try home.run(["registry", "migrate", "--to", busy])
        #expect(r.status == 4 && r.stderr.contains("not empty"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home.dir + "/registry.url"))
        #expect(try home.run(["node", "list", "--json"]).stdout == before)

        // A password on the command line is visible to every user: refused, and never echoed.
        r = try home.run(["registry", "migrate", "--to", "postgres://prov:s3cr3t-pw@db.example/provisioner?sslrootcert=/etc/pg-ca.pem"])
        #expect(r.status == 2 && r.stderr.contains("--to @FILE") && !r.stderr.contains("s3cr3t") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        // The URL from a file only root reads (one that others can read is refused).
        let url = try server.database()
        let urlFile = try home.file("registry-url", url + "\n")
        chmod(urlFile, 0o644)
        r = try home.run(["registry", "migrate", "--to", "@" + urlFile])
        #expect(r.status == 2 && r.stderr.contains("readable by others"), "\(r.stderr)")
        chmod(urlFile, 0o600)
        r = try home.run(["registry", "migrate", "--to", "@" + urlFile, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let copied = (r.object["copied"] as? [[String: Any]] ?? []).reduce(into: [String: Int]()) { $0[$1["table"] as? String ?? ""] = $1["rows"] as? Int }
        #expect(copied["nodes"] == 2 && (copied["audit"] ?? 0) >= 3, "\(r.stdout)")
        // The same nodes, now read from PostgreSQL; new writes continue the keys.
        #expect(try home.run(["node", "list", "--json"]).stdout == before)
        #expect(try server.psql(url, "SELECT count(*) FROM nodes").trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        #expect(try home.run(["node", "add", "c", "--no-apply"]).status == 0)
        #expect(try home.run(["node", "list", "--json"]).objects.map { $0["ip"] as? String } == ["10.0.0.2", "10.0.0.3", "10.0.0.4"])
        r = try home.run(["registry", "migrate", "--to", url])
        #expect(r.status == 4 && r.stderr.contains("PostgreSQL already"), "\(r.stderr)")
    }
}

import Foundation
import ProvisionerCore
import ProvisionerPlatform
import Testing
import TestSupport
@testable import ProvisionerStore

/// The registry over TCP to a real PostgreSQL that takes TLS only: checked
/// against the CA in the URL, refused with another CA or without TLS.
@Suite(.serialized) struct PostgresTLSTests {
    @Test(.enabled(if: getuid() == 0, "PostgreSQL runs as its own account: needs root"))
    func overTCPTheServerIsCheckedAgainstItsCA() throws {
        let dir = NSTemporaryDirectory() + "pg-tls-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tls = SiteTLS(dir: dir + "/site")
        try tls.ensure(address: try IPv4Address(parsing: "127.0.0.1"), name: "db")
        let port = 20_000 + Int.random(in: 0..<20_000)
        let server = try PostgresTestServer(tls: tls, port: port)
        defer { try? server.stop() }
        let name = try PostgresLocation(url: try server.database()).database
        let tcp = "postgres://postgres@127.0.0.1:\(port)/\(name)"

        // Verified against the site CA and for the address dialled: it works.
        let registry = try PostgresRegistry(url: tcp + "?sslrootcert=\(tls.caPath)")
        #expect(try registry.count() == 0)
        #expect(try server.psql(try server.database(), "SELECT 1") == "1\n")

        // Another CA (a man in the middle's server, as far as the client can tell): refused, unavailable.
        let other = SiteTLS(dir: dir + "/other")
        try other.ensureCA(site: "other")
        let refused = #expect(throws: RegistryError.self) { try PostgresRegistry(url: tcp + "?sslrootcert=\(other.caPath)") }
        #expect(refused?.kind == .unavailable, "\(String(describing: refused))")
        // Plain TCP: the server takes TLS only.
        let plain = #expect(throws: RegistryError.self) { try PostgresRegistry(url: tcp + "?sslmode=disable") }
        #expect(plain?.kind == .unavailable, "\(String(describing: plain))")
        // A CA file that is not there: one clear error naming it.
        let missing = #expect(throws: RegistryError.self) { try PostgresRegistry(url: tcp + "?sslrootcert=\(dir)/nope.pem") }
        #expect("\(missing.map { "\($0)" } ?? "")".contains("\(dir)/nope.pem"), "\(String(describing: missing))")
        // Encrypted without a check (sslmode=require): connects.
        #expect(try PostgresRegistry(url: tcp + "?sslmode=require").count() == 0)
    }
}

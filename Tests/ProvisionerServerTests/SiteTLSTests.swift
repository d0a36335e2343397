import Foundation
import ProvisionerCore
import ProvisionerPlatform
import Testing
import TestSupport

/// The site CA and a boot server's certificate, checked by openssl: made
/// once, kept while they serve, the server's made again for a new address
/// (the CA kept), keys readable by root only.
struct SiteTLSTests {
    func openssl(_ args: [String]) throws -> CLI.Result { try runProcess("/usr/bin/openssl", args) }

    @Test func theSiteCASignsTheServersCertificateForItsAddress() throws {
        let dir = NSTemporaryDirectory() + "sitetls-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tls = SiteTLS(dir: dir + "/tls")
        let first = try IPv4Address(parsing: "10.77.0.1"), second = try IPv4Address(parsing: "10.78.0.1")
        #expect(try tls.ensure(address: first, name: "boot1") == ["site CA", "server certificate"])
        var r = try openssl(["verify", "-CAfile", tls.caPath, tls.certificatePath])
        #expect(r.status == 0 && r.stdout.contains(": OK"), "\(r.stdout)\(r.stderr)")
        r = try openssl(["x509", "-noout", "-text", "-in", tls.certificatePath])
        #expect(r.stdout.contains("IP Address:10.77.0.1") && r.stdout.contains("DNS:boot1") && r.stdout.contains("CA:FALSE"), "\(r.stdout)")
        r = try openssl(["x509", "-noout", "-text", "-in", tls.caPath])
        #expect(r.stdout.contains("CA:TRUE, pathlen:0") && r.stdout.contains("Certificate Sign"), "\(r.stdout)")
        // The key matches its certificate.
        let certKey = try openssl(["x509", "-noout", "-pubkey", "-in", tls.certificatePath]).stdout
        let key = try openssl(["pkey", "-pubout", "-in", tls.keyPath]).stdout
        #expect(!key.isEmpty && certKey == key)
        for (path, mode) in [(tls.caKeyPath, 0o600), (tls.keyPath, 0o600), (tls.dir, 0o700)] {
            var st = stat()
            #expect(stat(path, &st) == 0 && Int(st.st_mode & 0o777) == mode, "\(path): \(String(st.st_mode & 0o777, radix: 8))")
        }

        let ca = FileManager.default.contents(atPath: tls.caPath)
        let leaf = FileManager.default.contents(atPath: tls.certificatePath)
        #expect(try tls.ensure(address: first, name: "boot1").isEmpty, "nothing to make the second time")
        #expect(FileManager.default.contents(atPath: tls.certificatePath) == leaf)
        // A new address: a new server certificate from the same CA.
        #expect(try tls.ensure(address: second, name: "boot1") == ["server certificate"])
        #expect(FileManager.default.contents(atPath: tls.caPath) == ca && FileManager.default.contents(atPath: tls.certificatePath) != leaf)
        r = try openssl(["x509", "-noout", "-text", "-in", tls.certificatePath])
        #expect(r.stdout.contains("IP Address:10.78.0.1") && !r.stdout.contains("10.77.0.1"))
        #expect(try openssl(["verify", "-CAfile", tls.caPath, tls.certificatePath]).status == 0)
        // Near its end (within 30 days of 825): made again.
        #expect(try tls.ensure(address: second, name: "boot1", now: Date().addingTimeInterval(800 * 86_400)) == ["server certificate"])
    }
}

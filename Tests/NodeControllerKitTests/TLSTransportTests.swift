import Foundation
import Testing
@testable import NodeControllerKit

/// Certificates made by the `openssl` tool: the site CA, a leaf it signed for
/// 127.0.0.1, a leaf it signed for another address, and a leaf an attacker's
/// own CA signed for 127.0.0.1.
struct TLSFixture {
    let dir: String

    init() throws {
        dir = NSTemporaryDirectory() + "nc-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for ca in ["ca", "evil-ca"] {
            try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                         "-subj", "/CN=\(ca)", "-keyout", "\(dir)/\(ca).key", "-out", "\(dir)/\(ca).pem",
                         "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0", "-addext", "keyUsage=critical,keyCertSign,digitalSignature"])
        }
        try leaf("good", signer: "ca", ip: "127.0.0.1")
        try leaf("other-address", signer: "ca", ip: "127.0.0.2")
        try leaf("evil", signer: "evil-ca", ip: "127.0.0.1")
    }

    private func leaf(_ name: String, signer: String, ip: String) throws {
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=\(name)",
                     "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr"])
        try "subjectAltName=IP:\(ip)\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n"
            .write(toFile: "\(dir)/\(name).ext", atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/\(signer).pem", "-CAkey", "\(dir)/\(signer).key",
                     "-CAcreateserial", "-days", "2", "-extfile", "\(dir)/\(name).ext", "-out", "\(dir)/\(name).pem"])
    }

    /// The `sha256:` fingerprint of a certificate, as `provisioner.ca=` gives it.
    func pin(_ name: String) throws -> CAPin {
        let out = try openssl(["x509", "-in", "\(dir)/\(name).pem", "-noout", "-fingerprint", "-sha256"])
        let hex = out.split(separator: "=").last.map { $0.replacingOccurrences(of: ":", with: "").trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        return try CAPin(parsing: "sha256:" + hex.lowercased())
    }

    @discardableResult
    func openssl(_ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ControllerError("openssl \(arguments.prefix(2).joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self)
    }

    /// `openssl s_server` on 127.0.0.1 presenting `leaf` and the site CA (as serve does), answering `GET /` (-www).
    func server(_ leaf: String, sendingCA ca: String = "ca") throws -> (Process, UInt16) {
        let port = unusedPort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["s_server", "-quiet", "-accept", "127.0.0.1:\(port)", "-cert", "\(dir)/\(leaf).pem", "-key", "\(dir)/\(leaf).key",
                       "-cert_chain", "\(dir)/\(ca).pem", "-www"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        if waitUntilListening(port) { return (p, port) }
        kill(p.processIdentifier, SIGKILL)
        throw ControllerError("openssl s_server did not listen on \(port)")
    }
}

/// The node API's TLS against a real TLS server (`openssl s_server`): the
/// server must chain to the pinned site CA and name the address asked.
@Suite(.serialized) struct TLSTransportTests {
    let fixture: TLSFixture

    init() throws { fixture = try TLSFixture() }

    func get(_ leaf: String, sendingCA ca: String = "ca", pin: CAPin?) async throws -> Result<HTTPResponse, any Error> {
        let (server, port) = try fixture.server(leaf, sendingCA: ca)
        // SIGKILL: the test runner's threads block SIGTERM, and its children inherit that.
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        let t = SocketHTTPTransport(timeout: 5, caPin: pin)
        do { return .success(try await t.send(HTTPRequest(method: "GET", url: try #require(URL(string: "https://127.0.0.1:\(port)/"))))) } catch {
            return .failure(error)
        }
    }

    func expectRefused(_ result: Result<HTTPResponse, any Error>, saying words: String) {
        switch result {
        case .success(let r): Issue.record("answered \(r.status) where it must be refused (\(words))")
        case .failure(let e): #expect("\(e)".contains(words), "\(e)")
        }
    }

    @Test func aServerOfTheSiteCAIsAnswered() async throws {
        let r = try await get("good", pin: try fixture.pin("ca")).get()
        #expect(r.status == 200)
        #expect(String(decoding: r.body, as: UTF8.self).contains("s_server"), "the answer came through TLS: \(String(decoding: r.body.prefix(200), as: UTF8.self))")
    }

    @Test func anotherCAIsRefused() async throws {
        // The attacker's own CA, whatever the node pinned.
        expectRefused(try await get("evil", sendingCA: "evil-ca", pin: try fixture.pin("ca")), saying: "is the site CA this node trusts")
        // The attacker sends the (public) site CA beside a leaf of its own CA: the leaf does not chain to it.
        expectRefused(try await get("evil", sendingCA: "ca", pin: try fixture.pin("ca")), saying: "does not hold")
    }

    @Test func aCertificateForAnotherAddressIsRefused() async throws {
        expectRefused(try await get("other-address", pin: try fixture.pin("ca")), saying: "does not hold: IP address mismatch")
    }

    @Test func httpsWithoutAPinIsRefusedBeforeConnecting() async throws {
        expectRefused(try await get("good", pin: nil), saying: "https needs the site CA's fingerprint")
    }
}

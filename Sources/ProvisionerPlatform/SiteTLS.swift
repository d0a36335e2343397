import Crypto
import Foundation
import ProvisionerCore
import SwiftASN1
import X509

/// The site's TLS material, made on first serve (swift-certificates; no
/// hand-written crypto): a site CA (P-256, 10 years, may sign only leaf
/// certificates) and this boot server's certificate for its address, signed
/// by it. In `<home>/tls/`: `ca.pem` (what clients trust), `ca.key`,
/// `server.pem`, `server.key` (the keys 0600, the directory 0700). The
/// server certificate is made again when it no longer names the server's
/// address or expires within 30 days; the CA is kept.
public struct SiteTLS: Sendable {
    public let dir: String
    public var caPath: String { dir + "/ca.pem" }
    public var caKeyPath: String { dir + "/ca.key" }
    public var certificatePath: String { dir + "/server.pem" }
    public var keyPath: String { dir + "/server.key" }

    public init(dir: String) { self.dir = dir }

    /// Makes the site CA when there is none (`init`, `apply`): the boot files
    /// name its fingerprint, so it must exist before they are rendered.
    /// - Returns: whether it was made.
    /// - Throws: `SystemError` naming the file that cannot be written.
    @discardableResult
    public func ensureCA(site: String, now: Date = Date()) throws -> Bool {
        if FileSystem.read(caPath) != nil, FileSystem.read(caKeyPath) != nil { return false }
        try FileSystem.makeDirectory(dir)
        chmod(dir, 0o700)
        let ca = try Self.makeCA(site: site, now: now)
        try FileSystem.writeAtomically(Data(ca.privateKeyPEM.utf8), to: caKeyPath, mode: 0o600)
        try FileSystem.writeAtomically(Data(ca.certificatePEM.utf8), to: caPath, mode: 0o644)
        return true
    }

    /// The site CA's fingerprint as the boot files give it to nodes
    /// (`provisioner.ca=sha256:HEX`, the SHA-256 of its DER), nil when there is no readable CA.
    public func caFingerprint() -> String? {
        // The digest of the bytes as stored, which serve sends and the node hashes.
        guard let pem = FileSystem.read(caPath).map({ String(decoding: $0, as: UTF8.self) }),
              (try? Certificate(pemEncoded: pem)) != nil, let hex = Self.fingerprint(pem: pem) else { return nil }
        return "sha256:" + hex
    }

    /// Makes what is missing or stale for a server at `address` named `name`.
    /// - Returns: what was made ("site CA", "server certificate"), empty when nothing.
    /// - Throws: `SystemError` naming the file that cannot be read, made or written.
    @discardableResult
    public func ensure(address: IPv4Address, name: String, now: Date = Date()) throws -> [String] {
        try ensure(addresses: [address], name: name, now: now)
    }

    /// The same for a server answering at several addresses (the node
    /// network's and the operator listener's): its certificate names them all.
    @discardableResult
    public func ensure(addresses: [IPv4Address], name: String, now: Date = Date()) throws -> [String] {
        var made: [String] = []
        try FileSystem.makeDirectory(dir)
        chmod(dir, 0o700)
        func text(_ path: String) -> String? { FileSystem.read(path).map { String(decoding: $0, as: UTF8.self) } }
        if try ensureCA(site: name, now: now) { made.append("site CA") }
        guard let caPEM = text(caPath), let caKey = text(caKeyPath) else { throw SystemError("the site CA in \(dir) cannot be read") }
        let ca = Issued(certificatePEM: caPEM, privateKeyPEM: caKey)
        if made.isEmpty, let leaf = text(certificatePath), FileSystem.read(keyPath) != nil,
           addresses.allSatisfy({ Self.covers(leaf, address: $0, at: now.addingTimeInterval(30 * 86_400)) }) {
            return []
        }
        let leaf = try Self.issueServer(caPEM: ca.certificatePEM, caKeyPEM: ca.privateKeyPEM, name: name, addresses: addresses, now: now)
        try FileSystem.writeAtomically(Data(leaf.privateKeyPEM.utf8), to: keyPath, mode: 0o600)
        try FileSystem.writeAtomically(Data(leaf.certificatePEM.utf8), to: certificatePath, mode: 0o644)
        made.append("server certificate")
        return made
    }

    /// A certificate and its private key, PEM.
    struct Issued {
        var certificatePEM: String
        var privateKeyPEM: String
    }

    /// A self-signed client certificate and its key (PEM): how the
    /// provisioning server is known to a cloud it talks to (an Incus cluster
    /// trusts it by this certificate). P-256, ten years.
    public static func makeClientCertificate(name: String, now: Date = Date()) throws -> (certificatePEM: String, privateKeyPEM: String) {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName {
            OrganizationName("Provisioner")
            CommonName(name)
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.clientAuth])
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-86_400), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: key)
        return (try certificate.serializeAsPEM().pemString, try key.serializeAsPEM().pemString)
    }

    /// The SHA-256 of a PEM certificate's DER, lowercase hex (how Incus names certificates).
    public static func fingerprint(pem: String) -> String? {
        guard let document = try? PEMDocument(pemString: pem) else { return nil }
        return lowercaseHex(Array(SHA256.hash(data: document.derBytes)))
    }

    static func makeCA(site: String, now: Date) throws -> Issued {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let name = try DistinguishedName {
            OrganizationName("Provisioner")
            CommonName("Provisioner site CA (\(site))")
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            // A day back: diskless nodes may boot with a clock behind.
            notValidBefore: now.addingTimeInterval(-86_400), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: key)
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: try key.serializeAsPEM().pemString)
    }

    static func issueServer(caPEM: String, caKeyPEM: String, name: String, addresses: [IPv4Address], now: Date) throws -> Issued {
        let ca: Certificate, caKey: Certificate.PrivateKey
        do {
            ca = try Certificate(pemEncoded: caPEM)
            caKey = try Certificate.PrivateKey(pemEncoded: caKeyPEM)
        } catch {
            throw SystemError("the site CA cannot be read: \(error)")
        }
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(addresses.map { .ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets($0)))) } + [.dnsName(name)])
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-86_400), notValidAfter: now.addingTimeInterval(825 * 86_400),
            issuer: ca.subject, subject: try DistinguishedName { CommonName(name) },
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: caKey)
        return Issued(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: try key.serializeAsPEM().pemString)
    }

    /// Whether the certificate in `pem` names `address` and is still valid at `date`.
    static func covers(_ pem: String, address: IPv4Address, at date: Date) -> Bool {
        guard let certificate = try? Certificate(pemEncoded: pem), certificate.notValidAfter > date,
              let names = try? certificate.extensions.subjectAlternativeNames else { return false }
        let ip = octets(address)
        return names.contains { if case .ipAddress(let given) = $0 { Array(given.bytes) == ip } else { false } }
    }

    /// An address as a certificate names it: its four bytes, network order.
    static func octets(_ address: IPv4Address) -> [UInt8] {
        withUnsafeBytes(of: address.value.bigEndian) { Array($0) }
    }
}

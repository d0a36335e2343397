import COpenSSL
import FoundationEssentials
import Glibc

/// The site CA a node trusts: the SHA-256 of its certificate (DER), as the
/// kernel command line gives it (`provisioner.ca=sha256:HEX`). The boot files
/// carry it beside the server's address; the node controller talks to the
/// node API only with a server whose certificate chains to it.
public struct CAPin: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// - Throws: `ControllerError` naming the value when it is not `sha256:` and 64 hex digits.
    public init(parsing text: String) throws {
        let hex = text.hasPrefix("sha256:") ? text.dropFirst(7) : ""
        var bytes: [UInt8] = []
        var digits = hex.makeIterator()
        while let high = digits.next() {
            guard let h = high.hexDigitValue, let low = digits.next(), let l = low.hexDigitValue else { break }
            bytes.append(UInt8(h << 4 | l))
        }
        guard hex.count == 64, bytes.count == 32 else {
            throw ControllerError("invalid site CA fingerprint \(String(reflecting: String(text.prefix(80)))) (expected sha256: and 64 hex digits)")
        }
        self.bytes = bytes
    }

    public var description: String {
        "sha256:" + bytes.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }
}

/// TLS (Debian's OpenSSL) over a connected non-blocking socket. The server
/// is checked against the pinned site CA right after the handshake, before
/// a byte of the request leaves the node.
final class TLSStream {
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    private let fd: Int32
    private let timeout: Double

    /// - Throws: `ControllerError` when the handshake fails or the server's certificate does not hold.
    init(fd: Int32, host: String, pin: CAPin, deadline: Date, timeout: Double) throws {
        guard let context = provisioner_tls_client_context() else { throw ControllerError("TLS: \(Self.lastError())") }
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw ControllerError("TLS: \(Self.lastError())")
        }
        (self.context, self.ssl, self.fd, self.timeout) = (context, ssl, fd, timeout)
        SSL_set_fd(ssl, fd)
        // SNI only for a name: an address is not sent (RFC 6066).
        if host.unicodeScalars.contains(where: { $0.properties.isAlphabetic }) && !host.contains(":") {
            _ = provisioner_tls_set_server_name(ssl, host)
        }
        try retrying(deadline: deadline, doing: "the TLS handshake with \(host)") { SSL_connect(ssl) }
        var why = [CChar](repeating: 0, count: 256)
        let verified = pin.bytes.withUnsafeBufferPointer { p in provisioner_tls_verify_pinned(ssl, p.baseAddress, host, &why, why.count) }
        guard verified == 0 else { throw ControllerError("TLS with \(host): \(Self.text(why))") }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// Sends all of `bytes`.
    func write(_ bytes: [UInt8], deadline: Date) throws {
        var offset = 0
        while offset < bytes.count {
            let n = try retrying(deadline: deadline, doing: "sending the request") {
                bytes[offset...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            }
            offset += Int(n)
        }
    }

    /// Reads into `buffer`; 0 when the server closed the connection.
    func read(into buffer: inout [UInt8], deadline: Date) throws -> Int {
        let count = Int32(buffer.count)
        return try buffer.withUnsafeMutableBytes { b in
            Int(try retrying(deadline: deadline, doing: "waiting for the answer", closedIsZero: true) { SSL_read(ssl, b.baseAddress, count) })
        }
    }

    /// Calls `operation` until it succeeds, waiting on the socket for what OpenSSL wants.
    @discardableResult
    private func retrying(deadline: Date, doing: String, closedIsZero: Bool = false, _ operation: () -> Int32) throws -> Int32 {
        while true {
            ERR_clear_error()
            let rc = operation()
            if rc > 0 { return rc }
            switch SSL_get_error(ssl, rc) {
            case SSL_ERROR_WANT_READ: try SocketHTTPTransport.wait(fd, for: Int16(POLLIN), deadline: deadline, timeout: timeout, doing: doing)
            case SSL_ERROR_WANT_WRITE: try SocketHTTPTransport.wait(fd, for: Int16(POLLOUT), deadline: deadline, timeout: timeout, doing: doing)
            case SSL_ERROR_ZERO_RETURN where closedIsZero: return 0
            case SSL_ERROR_SYSCALL where errno == EINTR: continue
            case let code:
                let detail = Self.lastError()
                throw ControllerError("\(doing): TLS error \(code)\(detail.isEmpty ? (errno != 0 ? " (\(String(cString: strerror(errno))))" : "") : ": " + detail)")
            }
        }
    }

    private static func lastError() -> String {
        var text = [CChar](repeating: 0, count: 256)
        provisioner_tls_last_error(&text, text.count)
        return Self.text(text)
    }

    /// A C string in a buffer, up to its NUL.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

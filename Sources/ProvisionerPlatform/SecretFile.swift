import Foundation

/// A secret file (the API token): 32 random bytes as hex, mode 0600.
public enum SecretFile {
    /// Reads the secret, creating it (atomically, 0600) when missing.
    /// - Throws: `SystemError` when it cannot be read, made, or is malformed.
    public static func load(path: String) throws -> [UInt8] {
        if let data = FileSystem.read(path) {
            let hex = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard hex.count == 64, let bytes = decodeHex(hex) else { throw SystemError("\(path) is not a secret file (64 hex digits)") }
            return bytes
        }
        let (_, hex) = fresh()
        try FileSystem.makeDirectory((path as NSString).deletingLastPathComponent)
        // Publish with link(2), which never replaces: if another process made
        // one first, both use that one.
        let tmp = "\(path).tmp-\(getpid())"
        let tmpFile = try FileSystem.writeTemp(Data((hex + "\n").utf8), for: tmp, mode: 0o600, sync: true)
        defer { unlink(tmpFile) }
        if link(tmpFile, path) != 0 && errno != EEXIST { throw SystemError("creating \(path): \(errnoText())") }
        return try load(path: path)
    }

    /// Replaces the secret with a new one (written beside it, fsync'd, renamed
    /// into place): whoever held the old one holds nothing.
    /// - Returns: the new secret.
    public static func renew(path: String) throws -> [UInt8] {
        let (bytes, hex) = fresh()
        try FileSystem.writeAtomically(Data((hex + "\n").utf8), to: path, mode: 0o600)
        return bytes
    }

    /// A new secret: 32 random bytes, and as hex.
    static func fresh() -> (bytes: [UInt8], hex: String) {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        return (bytes, bytes.map { String(format: "%02x", $0) }.joined())
    }

    static func decodeHex(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        var it = s.makeIterator()
        while let a = it.next(), let b = it.next() {
            guard let byte = UInt8(String([a, b]), radix: 16) else { return nil }
            out.append(byte)
        }
        return out
    }
}

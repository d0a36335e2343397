import Crypto

/// Random secrets and what is kept of them: a secret is 128 or 256 random
/// bits as hex; a store keeps only its SHA-256 (the secret is random, so no
/// salt or stretching is needed), and a presented one is compared with that
/// digest in constant time.
public enum Secret {
    /// `bytes` random bytes as lowercase hex.
    public static func random(bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return lowercaseHex((0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &rng) })
    }

    /// What a store keeps of `value`: its SHA-256, as hex.
    public static func digest(_ value: String) -> String {
        lowercaseHex(Array(SHA256.hash(data: Array(value.utf8))))
    }

    /// Whether `value` is the secret whose digest is `digest`, compared in constant time.
    public static func matches(_ value: String, digest: String) -> Bool {
        equalInConstantTime(Self.digest(value), digest)
    }

    /// Whether two strings are equal, in time that depends only on their lengths.
    public static func equalInConstantTime(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

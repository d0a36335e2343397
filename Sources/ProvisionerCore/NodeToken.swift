import Crypto

/// The per-node enrollment token: an HMAC-SHA256 of the node's MAC under the
/// cluster secret, placed only in that node's own boot files. The server
/// recomputes it, so nothing per node is stored.
public enum NodeToken {
    /// 32 hex characters (128 bits of the HMAC).
    public static func make(secret: [UInt8], mac: MACAddress) -> String {
        let key = SymmetricKey(data: secret)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(mac.description.utf8), using: key)
        return lowercaseHex(Array(mac.prefix(16)))
    }

    /// Compares a presented token with the expected one in constant time.
    public static func matches(_ presented: String, secret: [UInt8], mac: MACAddress) -> Bool {
        let expected = Array(make(secret: secret, mac: mac).utf8)
        let given = Array(presented.utf8)
        guard given.count == expected.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<given.count { diff |= given[i] ^ expected[i] }
        return diff == 0
    }
}

/// An Ethernet MAC address of a node: unicast, not all-zero, stored canonically.
///
/// Accepts `aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff` and
/// `aabbccddeeff`; always prints lowercase with colons.
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The 48 bits, first octet most significant.
    public let value: UInt64

    /// - Throws: `ValidationError` naming the value and what is wrong with it.
    public init(parsing text: String) throws(ValidationError) {
        func fail(_ reason: String) -> ValidationError {
            ValidationError(field: "MAC address", value: text, reason: reason)
        }
        let chars = Array(text.utf8)
        guard !chars.isEmpty else { throw fail("empty") }
        var groups: [ArraySlice<UInt8>]
        if let sep = chars.first(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) {
            groups = chars.split(separator: sep, omittingEmptySubsequences: false)
            let width = sep == UInt8(ascii: ".") ? 4 : 2
            let count = sep == UInt8(ascii: ".") ? 3 : 6
            if groups.contains(where: { g in g.contains { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") } }) {
                throw fail("mixed separators")
            }
            guard groups.count == count else {
                throw fail(sep == UInt8(ascii: ".") ? "expected 3 groups of 4 hex digits" : "expected 6 octets")
            }
            guard groups.allSatisfy({ $0.count == width }) else {
                throw fail(width == 4 ? "expected 3 groups of 4 hex digits" : "expected 2 hex digits per octet")
            }
        } else {
            guard chars.count == 12 else { throw fail("expected 6 octets") }
            groups = [chars[...]]
        }
        var v: UInt64 = 0
        for g in groups {
            for c in g {
                guard let d = hexValue(c) else { throw fail("bad hex digit") }
                v = v << 4 | UInt64(d)
            }
        }
        if v == 0xFFFF_FFFF_FFFF { throw fail("broadcast address") }
        if v == 0 { throw fail("all-zero address") }
        if (v >> 40) & 1 == 1 { throw fail("multicast address") }
        self.value = v
    }

    /// The octets in wire order.
    public var octets: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: value >> (40 - 8 * UInt64($0))) } }

    /// `aa:bb:cc:dd:ee:ff`.
    public var description: String { formatted(separator: ":") }

    /// `aa-bb-cc-dd-ee-ff`, as pxelinux names its per-machine files (after `01-`).
    public var dashed: String { formatted(separator: "-") }

    /// `aabbccddeeff`, for file names.
    public var compact: String { formatted(separator: "") }

    private func formatted(separator: String) -> String { lowercaseHex(octets, separator: separator) }

    public static func < (a: MACAddress, b: MACAddress) -> Bool { a.value < b.value }
}

extension MACAddress: TextValue {}

/// Bytes as two lowercase hex digits each, `separator` between them.
public func lowercaseHex(_ bytes: some Collection<UInt8>, separator: String = "") -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * (2 + separator.utf8.count))
    for (i, byte) in bytes.enumerated() {
        if i > 0 { out += separator.utf8 }
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xf)])
    }
    return String(decoding: out, as: UTF8.self)
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// An IPv4 address, parsed strictly from dotted-quad text.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Four decimal octets, 0–255, no leading zeros (so `010` is never read as octal).
    /// - Throws: `ValidationError` with `field` as the field name.
    public init(parsing text: String) throws(ValidationError) {
        try self.init(parsing: text, field: "IP address")
    }

    /// The same, naming the field in errors (e.g. `server_ip`).
    public init(parsing text: String, field: String) throws(ValidationError) {
        func fail(_ reason: String) -> ValidationError {
            ValidationError(field: field, value: text, reason: reason)
        }
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { throw fail("expected four dot-separated numbers") }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw fail("expected four dot-separated numbers")
            }
            if p.count > 1 && p.first == UInt8(ascii: "0") { throw fail("leading zero in an octet") }
            let n = p.reduce(UInt32(0)) { $0 * 10 + UInt32($1 - UInt8(ascii: "0")) }
            guard n <= 255 else { throw fail("octet above 255") }
            v = v << 8 | n
        }
        self.value = v
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    public func advanced(by n: Int) -> IPv4Address? {
        let r = Int64(value) + Int64(n)
        guard r >= 0, r <= Int64(UInt32.max) else { return nil }
        return IPv4Address(UInt32(r))
    }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

extension IPv4Address: TextValue {}

/// An IPv4 subnet in CIDR form, e.g. `10.0.0.0/24`.
public struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible {
    public let network: IPv4Address
    public let prefixLength: Int

    /// - Throws: `ValidationError` for bad syntax, a prefix outside 8–30, or host bits set.
    public init(parsing text: String, field: String = "subnet") throws(ValidationError) {
        func fail(_ reason: String) -> ValidationError {
            ValidationError(field: field, value: text, reason: reason)
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw fail("expected CIDR form such as 10.0.0.0/24") }
        let address: IPv4Address
        do { address = try IPv4Address(parsing: String(parts[0]), field: field) } catch { throw fail("expected CIDR form such as 10.0.0.0/24") }
        guard parts[1].count <= 2, let prefix = Int(parts[1]), parts[1].allSatisfy(\.isASCII) else {
            throw fail("expected a prefix length after '/'")
        }
        guard (8...30).contains(prefix) else { throw fail("prefix length must be 8 to 30") }
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix)
        guard address.value & ~mask == 0 else {
            throw fail("host bits set; did you mean \(IPv4Address(address.value & mask))/\(prefix)?")
        }
        self.network = address
        self.prefixLength = prefix
    }

    public var mask: UInt32 { ~UInt32(0) << UInt32(32 - prefixLength) }
    public var netmask: IPv4Address { IPv4Address(mask) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~mask) }
    public var firstHost: IPv4Address { IPv4Address(network.value + 1) }
    public var lastHost: IPv4Address { IPv4Address(broadcast.value - 1) }

    public func contains(_ ip: IPv4Address) -> Bool { ip.value & mask == network.value }

    public var description: String { "\(network)/\(prefixLength)" }
}

/// An inclusive range of IPv4 addresses, written `FIRST-LAST`.
public struct IPv4Range: Hashable, Sendable, CustomStringConvertible {
    public let first: IPv4Address
    public let last: IPv4Address

    /// - Throws: `ValidationError` for bad syntax or when LAST is below FIRST.
    public init(parsing text: String, field: String = "DHCP range") throws(ValidationError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw ValidationError(field: field, value: text, reason: "expected FIRST-LAST")
        }
        let a = try IPv4Address(parsing: String(parts[0]), field: field)
        let b = try IPv4Address(parsing: String(parts[1]), field: field)
        guard a <= b else { throw ValidationError(field: field, value: text, reason: "last address is below the first") }
        self.first = a
        self.last = b
    }

    public init(first: IPv4Address, last: IPv4Address) {
        self.first = min(first, last)
        self.last = max(first, last)
    }

    public func contains(_ ip: IPv4Address) -> Bool { first <= ip && ip <= last }

    public var count: Int { Int(last.value - first.value) + 1 }

    public var description: String { "\(first)-\(last)" }
}

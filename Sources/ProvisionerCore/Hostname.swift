/// A node's hostname: one RFC 1123 label, lowercase.
///
/// Only `a-z`, `0-9` and `-`, 1 to 63 characters, no hyphen at either end: a
/// value of this type can never break a config line.
public struct Hostname: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: String

    /// Accepts upper case and stores lower case.
    /// - Throws: `ValidationError` naming the value and the rule it breaks.
    public init(parsing text: String) throws(ValidationError) {
        func fail(_ reason: String) -> ValidationError {
            ValidationError(field: "hostname", value: text, reason: reason)
        }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw fail("empty") }
        guard bytes.count <= 63 else { throw fail("longer than 63 characters") }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for b in bytes {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
                out.append(b)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                out.append(b + 32)
            case UInt8(ascii: "."):
                throw fail("a single label is expected, without dots")
            default:
                throw fail("only letters, digits and hyphens are allowed")
            }
        }
        if out.first == UInt8(ascii: "-") || out.last == UInt8(ascii: "-") {
            throw fail("must not start or end with a hyphen")
        }
        self.value = String(decoding: out, as: UTF8.self)
    }

    public var description: String { value }

    public static func < (a: Hostname, b: Hostname) -> Bool { a.value < b.value }
}

extension Hostname: TextValue {}

/// The name of a boot profile: lowercase letters, digits, `-` and `_`, up to 32.
public struct ProfileName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: String

    /// - Throws: `ValidationError` when the name has other characters or length.
    public init(parsing text: String) throws(ValidationError) {
        func fail(_ reason: String) -> ValidationError {
            ValidationError(field: "profile", value: text, reason: reason)
        }
        guard !text.isEmpty else { throw fail("empty") }
        guard text.utf8.count <= 32 else { throw fail("longer than 32 characters") }
        for (i, b) in text.utf8.enumerated() {
            let ok: Bool
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): ok = true
            case UInt8(ascii: "-"), UInt8(ascii: "_"): ok = i > 0
            default: ok = false
            }
            guard ok else { throw fail("lowercase letters, digits, '-' and '_' only, starting with a letter or digit") }
        }
        self.value = text
    }

    public static let `default` = try! ProfileName(parsing: "default")

    public var description: String { value }

    public static func < (a: ProfileName, b: ProfileName) -> Bool { a.value < b.value }
}

extension ProfileName: TextValue {}

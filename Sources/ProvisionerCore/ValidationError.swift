/// A rejected input: which field, which value, and why.
public struct ValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The field as the operator knows it ("MAC address", "hostname", "ip").
    public var field: String
    /// The offending value, as given.
    public var value: String
    /// Why it was rejected, in a few words.
    public var reason: String
    /// Where it came from, when that helps ("line 4").
    public var location: String?

    public init(field: String, value: String, reason: String, location: String? = nil) {
        self.field = field
        self.value = value
        self.reason = reason
        self.location = location
    }

    /// The same error, placed at a location such as "line 4".
    public func at(_ location: String) -> ValidationError {
        var copy = self
        copy.location = location
        return copy
    }

    /// One line: `line 4: invalid MAC address "zz" (bad hex digit)`. The value is
    /// quoted with escapes, so a newline in it never breaks the line.
    public var description: String {
        let core = "invalid \(field) \(quoted(value)) (\(reason))"
        guard let location else { return core }
        return "\(location): \(core)"
    }
}

/// A clash with what is already registered or in use: a duplicate MAC,
/// hostname or IP (with the field, the value and who holds it), an unknown
/// profile, an active generation.
public struct ConflictError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var location: String?
    /// The field that clashes ("MAC address", "hostname", "IP address"), when one does.
    public var field: String?
    /// The value that clashes, as registered.
    public var value: String?
    /// Who holds the value already (a hostname), when known.
    public var holder: String?

    public init(_ message: String, location: String? = nil) {
        self.message = message
        self.location = location
    }

    /// A value already held: `MAC address 52:54:… is already registered to n1`.
    public init(field: String, value: String, holder: String?, _ message: String, location: String? = nil) {
        self.init(message, location: location)
        self.field = field
        self.value = value
        self.holder = holder
    }

    public func at(_ location: String) -> ConflictError {
        var copy = self
        copy.location = location
        return copy
    }

    public var description: String {
        guard let location else { return message }
        return "\(location): \(message)"
    }
}

/// Quotes a value for an error message: double quotes, control characters escaped.
public func quoted(_ value: String) -> String {
    var out = "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f || (scalar.value >= 0x80 && scalar.properties.generalCategory == .control) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

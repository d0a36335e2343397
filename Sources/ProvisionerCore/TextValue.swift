/// A value parsed and validated from text, that prints back as its canonical
/// text: encoded as a JSON string, decoded through the same validation.
public protocol TextValue: Codable, CustomStringConvertible {
    /// - Throws: `ValidationError` naming the value.
    init(parsing text: String) throws(ValidationError)
}

extension TextValue {
    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

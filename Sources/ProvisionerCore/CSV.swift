/// A minimal RFC 4180 reader: commas, double-quoted fields with `""` escapes,
/// LF or CRLF line ends. Each record carries the line it starts on.
public enum CSV {
    public struct Record: Sendable, Equatable {
        public var line: Int
        public var fields: [String]
    }

    /// - Throws: `ValidationError` for an unterminated quote or text after a closing quote.
    public static func parse(_ text: String) throws(ValidationError) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var recordLine = 1
        var inQuotes = false
        var wasQuoted = false
        let bytes = Array(text.utf8)
        var i = 0
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) {
                records.append(Record(line: recordLine, fields: fields))
            }
            fields.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 2
                        continue
                    }
                    inQuotes = false
                } else {
                    if b == UInt8(ascii: "\n") { line += 1 }
                    field.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: ","):
                endField()
            case UInt8(ascii: "\n"):
                endRecord()
                line += 1
                recordLine = line
            case UInt8(ascii: "\r") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n"):
                break
            case UInt8(ascii: "\""):
                guard field.isEmpty, !wasQuoted else {
                    throw ValidationError(field: "CSV", value: String(decoding: field, as: UTF8.self), reason: "stray quote", location: "line \(line)")
                }
                inQuotes = true
                wasQuoted = true
            default:
                if wasQuoted {
                    throw ValidationError(field: "CSV", value: String(decoding: field, as: UTF8.self), reason: "text after a closing quote", location: "line \(line)")
                }
                field.append(b)
            }
            i += 1
        }
        if inQuotes {
            throw ValidationError(field: "CSV", value: String(decoding: field.prefix(40), as: UTF8.self), reason: "unterminated quote", location: "line \(recordLine)")
        }
        if !field.isEmpty || !fields.isEmpty || wasQuoted { endRecord() }
        return records
    }
}

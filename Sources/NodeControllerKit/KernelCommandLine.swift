/// The kernel command line split the way the kernel splits it.
///
/// Parameters are separated by spaces; a double-quoted part may hold spaces
/// (`key="a b"`, quotes dropped); `--` ends the kernel's part (the rest is for init).
public struct KernelCommandLine: Sendable, Equatable {
    public struct Parameter: Sendable, Equatable {
        public var key: String
        /// nil for a bare flag (`quiet`); "" for `key=`.
        public var value: String?
    }

    public var parameters: [Parameter]

    public init(_ text: String) {
        var params: [Parameter] = []
        for token in Self.tokens(text) {
            if token == "--" { break }
            if let eq = token.firstIndex(of: "=") {
                params.append(Parameter(key: String(token[..<eq]), value: String(token[token.index(after: eq)...])))
            } else {
                params.append(Parameter(key: token, value: nil))
            }
        }
        parameters = params
    }

    /// The value of the last `key=` (the kernel's own rule), nil when absent or a bare flag.
    public func value(_ key: String) -> String? {
        parameters.last(where: { $0.key == key })?.value
    }

    public func contains(_ key: String) -> Bool { parameters.contains { $0.key == key } }

    static func tokens(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var inQuotes = false
        var started = false
        for ch in text {
            if ch == "\"" {
                inQuotes.toggle()
                started = true
            } else if !inQuotes && (ch == " " || ch == "\t" || ch == "\n" || ch == "\r") {
                if started { out.append(current) }
                current = ""
                started = false
            } else {
                current.append(ch)
                started = true
            }
        }
        if started { out.append(current) }
        return out
    }
}

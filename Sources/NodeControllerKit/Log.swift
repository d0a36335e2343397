import FoundationEssentials

/// One line per event to a sink (stderr by default, where journald picks it up).
public struct Log: Sendable {
    private let sink: @Sendable (String) -> Void

    public init(sink: @escaping @Sendable (String) -> Void) { self.sink = sink }

    /// Writes to standard error, one line per call.
    public static let standardError = Log { line in
        Posix.writeStandardError(line + "\n")
    }

    /// Discards everything.
    public static let silent = Log { _ in }

    public func info(_ message: String) { sink(Self.oneLine(message)) }
    public func warning(_ message: String) { sink("warning: " + Self.oneLine(message)) }
    public func error(_ message: String) { sink("error: " + Self.oneLine(message)) }

    /// Folds newlines so an event never spans two journal lines.
    static func oneLine(_ s: String) -> String {
        guard s.contains(where: { $0.isNewline }) else { return s }
        return s.split(whereSeparator: { $0.isNewline }).joined(separator: " | ")
    }
}

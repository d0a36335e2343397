import ProvisionerAPI

/// An error that says what kind of failure it is.
public protocol ClassifiedError: Error {
    var kind: FailureKind { get }
}

extension FailureKind {
    /// The kind of any error: its own when it says, `.failed` otherwise.
    public init(of error: any Error) {
        self = (error as? any ClassifiedError)?.kind ?? .failed
    }
}

extension ValidationError: ClassifiedError {
    public var kind: FailureKind { .invalidInput }
}

extension ConflictError: ClassifiedError {
    public var kind: FailureKind { .conflict }
}

extension ConfigSyntaxError: ClassifiedError {
    public var kind: FailureKind { .invalidInput }
}

/// A named thing that does not exist: `no node "n7"`.
public struct NotFoundError: Error, Equatable, Sendable, CustomStringConvertible, ClassifiedError {
    /// What was looked for, as the operator knows it ("node", "instance", "generation of image default").
    public var what: String
    /// The key it was looked for by, as given.
    public var key: String

    /// The sentence for the operator, when `no WHAT "KEY"` reads badly.
    public var message: String?

    public init(_ what: String, _ key: String, message: String? = nil) {
        self.what = what
        self.key = key
        self.message = message
    }

    public var kind: FailureKind { .notFound }
    public var description: String { message ?? "no \(what) \(quoted(key))" }
}

/// Something else holds what is needed right now (a lock, a build in progress).
public struct BusyError: Error, Equatable, Sendable, CustomStringConvertible, ClassifiedError {
    public var description: String
    public init(_ message: String) { description = message }
    public var kind: FailureKind { .busy }
}

/// What kind of failure an error is. It alone decides the CLI's exit status
/// and the HTTP status of an API answer (`exitCode`, `httpStatus`): nothing
/// reads an error's wording to classify it.
public enum FailureKind: String, Sendable, Codable, CaseIterable {
    /// The input is malformed or not allowed (a bad MAC, a garbage body).
    case invalidInput = "invalid_input"
    /// A named thing (node, instance, generation) does not exist.
    case notFound = "not_found"
    /// The change clashes with what is registered (a MAC or address taken, an active generation).
    case conflict
    /// Something else holds what is needed right now; retrying later may work.
    case busy
    /// A component the operation needs (the registry's database, a daemon) is not reachable.
    case unavailable
    /// Anything else: the system failed while doing it.
    case failed

    /// The `provisioner` exit status for this kind (0 is success, 64 a usage error).
    public var exitCode: Int32 {
        switch self {
        case .failed: 1
        case .invalidInput: 2
        case .notFound: 3
        case .conflict: 4
        case .busy: 5
        case .unavailable: 6
        }
    }

    /// The HTTP status of an API answer for this kind.
    public var httpStatus: Int {
        switch self {
        case .invalidInput: 400
        case .notFound: 404
        case .conflict: 409
        case .busy, .unavailable: 503
        case .failed: 500
        }
    }

    /// Whether the same request may succeed later unchanged (an API answer says so with Retry-After).
    public var isRetryable: Bool { self == .busy || self == .unavailable }

}

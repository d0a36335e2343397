import Synchronization

/// Who the audit log records as making a change: the API token of the
/// request serve is answering (bound around its handler), else the
/// process's own actor (the CLI's user, or `serve` for what serve does by
/// itself). Every audit row written in the registry takes it.
public enum AuditActor {
    /// The actor of the request being handled, bound with `$current.withValue`.
    @TaskLocal public static var current: String?

    private static let process = Mutex("local")

    /// Sets the process's own actor (once, at start).
    public static func setProcess(_ actor: String) { process.withLock { $0 = actor } }

    /// The actor a change made now is recorded under.
    public static var value: String { current ?? process.withLock { $0 } }
}

// The registry's logic, written once over `SQLSession`, for every store
// that speaks SQL: SQLite (the embedded default) and PostgreSQL (several
// boot servers). A store gives sessions inside its transactions; the
// extensions in SQLRegistry+*.swift do the rest, with the same statements
// on both (standard SQL both engines run: ON CONFLICT, RETURNING,
// IS DISTINCT FROM).

/// A registry kept in an SQL database.
public protocol SQLRegistry: Registry {
    /// Runs `body` in one read-only transaction (one consistent view).
    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T
    /// Runs `body` in one write transaction that holds the registry's write
    /// lock from its start, so a read-then-write never races another writer,
    /// in this process or on another machine; a throw rolls it all back.
    func write<T>(_ body: (any SQLSession) throws -> T) throws -> T
}

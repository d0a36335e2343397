// ProvisionerStore: the node registry, kept in SQLite through GRDB.
//
// WAL journal, a busy timeout, foreign keys, versioned migrations, and one
// IMMEDIATE transaction per write command, so any number of concurrent
// `provisioner` processes serialize cleanly instead of failing with
// "database is locked". Every change is written to the audit log in the same
// transaction as the change itself.
import GRDB
import ProvisionerAPI
import ProvisionerCore

/// The registry in one SQLite file (GRDB, WAL): the embedded default for one server.
public final class SQLiteRegistry: SQLRegistry {
    let db: DatabaseQueue
    public let path: String

    /// Opens (creating if needed) the registry at `path` and brings its schema up to date.
    /// - Parameter relaxedSync: `PRAGMA synchronous = NORMAL` for this connection:
    ///   in WAL mode still never corrupt, but a commit is not fsync'd, so the last
    ///   moments before a power loss may be lost. For serve's run-time status
    ///   (heartbeats, boot phases), which the nodes send again anyway.
    /// - Throws: `RegistryError` when the file cannot be opened or migrated.
    public init(path: String, relaxedSync: Bool = false) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(60)
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in
            if relaxedSync { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? ""
            if mode.lowercased() != "wal" {
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            }
        }
        do {
            db = try DatabaseQueue(path: path, configuration: config)
            try Schema.migrate(db)
        } catch let error as DatabaseError {
            throw RegistryError("opening the registry \(path): \(error.message ?? error.description)", kind: .unavailable)
        }
    }

    /// Runs `body` in one IMMEDIATE transaction: it holds the write lock from
    /// the start, so a read-then-write never races another process.
    public func write<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        do {
            return try db.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(GRDBSession(db: db))
                    return .commit
                }
                guard let result else { throw RegistryError("transaction produced no result") }
                return result
            }
        } catch let error as DatabaseError {
            throw RegistryError(describing: error)
        }
    }

    public func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        do {
            return try db.read { db in try body(GRDBSession(db: db)) }
        } catch let error as DatabaseError {
            throw RegistryError(describing: error)
        }
    }
}

/// Statements on a GRDB connection, each prepared once per connection.
struct GRDBSession: SQLSession {
    let db: Database

    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow] {
        let statement = try db.cachedStatement(sql: sql)
        var out: [SQLRow] = []
        let cursor = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
        while let row = try cursor.next() {
            out.append(SQLRow(row.databaseValues.map(Self.value)))
        }
        return out
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int {
        try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
        return db.changesCount
    }

    static func arguments(_ values: [any SQLBindable]) -> StatementArguments {
        StatementArguments(values.map { v -> DatabaseValue in
            switch v.sqlValue {
            case .null: .null
            case .int(let i): i.databaseValue
            case .double(let d): d.databaseValue
            case .text(let s): s.databaseValue
            case .blob(let b): b.databaseValue
            }
        })
    }

    static func value(_ v: DatabaseValue) -> SQLValue {
        switch v.storage {
        case .null: .null
        case .int64(let i): .int(i)
        case .double(let d): .double(d)
        case .string(let s): .text(s)
        case .blob(let b): .blob(b)
        }
    }
}

/// A failure of the database itself (not of the input), with its kind: a
/// constraint the database enforced is a conflict, a lock held too long is
/// busy, a database that cannot be opened is unavailable.
public struct RegistryError: Error, CustomStringConvertible, Sendable, ClassifiedError {
    public var description: String
    public var kind: FailureKind
    public init(_ message: String, kind: FailureKind = .failed) {
        description = message
        self.kind = kind
    }
    init(describing error: DatabaseError) {
        switch error.resultCode {
        case .SQLITE_CONSTRAINT:
            description = "the registry refused a conflicting change: \(error.message ?? "constraint failed")"
            kind = .conflict
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            description = "the registry stayed locked by another process: \(error.message ?? "busy")"
            kind = .busy
        case .SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_READONLY:
            description = "registry: \(error.message ?? error.description)"
            kind = .unavailable
        default:
            description = "registry: \(error.message ?? error.description)"
            kind = .failed
        }
    }
}

/// The versioned schema. Each migration runs once, in order, inside the same
/// IMMEDIATE transaction that reads and bumps `PRAGMA user_version`, so two
/// processes opening a new registry at once cannot both apply it.
enum Schema {
    static let migrations: [@Sendable (Database) throws -> Void] = [
        { db in
            try db.execute(sql: """
                CREATE TABLE profiles (
                    name TEXT PRIMARY KEY NOT NULL,
                    image TEXT NOT NULL,
                    kernel_args TEXT NOT NULL DEFAULT ''
                );
                CREATE TABLE nodes (
                    id INTEGER PRIMARY KEY,
                    hostname TEXT NOT NULL UNIQUE,
                    mac TEXT UNIQUE,
                    ip INTEGER NOT NULL UNIQUE,
                    profile TEXT NOT NULL REFERENCES profiles(name) ON UPDATE CASCADE,
                    state TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY,
                    at TEXT NOT NULL,
                    action TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    old TEXT,
                    new TEXT
                );
                CREATE INDEX audit_subject ON audit(subject);
                """)
        },
        // What serve learns at run time: each node's boot and heartbeats,
        // machines that PXE-booted unregistered, and VM instances.
        { db in
            try db.execute(sql: """
                CREATE TABLE node_status (
                    node_id INTEGER PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
                    image TEXT,
                    boot_started TEXT,
                    phases TEXT NOT NULL DEFAULT '{}',
                    capacity TEXT,
                    instances TEXT,
                    last_heartbeat TEXT,
                    enrolled_at TEXT
                );
                CREATE TABLE discovered (
                    mac TEXT PRIMARY KEY NOT NULL,
                    ip TEXT,
                    first_seen TEXT NOT NULL,
                    last_seen TEXT NOT NULL,
                    seen INTEGER NOT NULL DEFAULT 1,
                    via TEXT NOT NULL
                );
                CREATE TABLE instances (
                    id TEXT PRIMARY KEY NOT NULL,
                    node_id INTEGER REFERENCES nodes(id) ON DELETE SET NULL,
                    type TEXT NOT NULL,
                    vcpus INTEGER NOT NULL,
                    memory_mib INTEGER NOT NULL,
                    spec TEXT NOT NULL,
                    state TEXT NOT NULL,
                    desired TEXT NOT NULL,
                    message TEXT,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                """)
        },
        // The node's own boot timings (from its controller).
        { db in
            try db.execute(sql: "ALTER TABLE node_status ADD COLUMN boot_timings TEXT")
        },
        // The node's firmware (from its controller) and how its boot began (from its DHCP request).
        { db in
            try db.execute(sql: "ALTER TABLE node_status ADD COLUMN platform TEXT")
            try db.execute(sql: "ALTER TABLE node_status ADD COLUMN boot_path TEXT")
        },
        // Each node's BMC: driver, address, user and the path of its password file (never the password).
        { db in
            try db.execute(sql: """
                CREATE TABLE node_bmc (
                    node_id INTEGER PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
                    driver TEXT NOT NULL,
                    address TEXT NOT NULL,
                    username TEXT NOT NULL,
                    password_file TEXT NOT NULL,
                    system TEXT
                );
                """)
        },
        // Generation pins, drained nodes, and rolling image rollouts (their whole state as JSON; one running per image).
        { db in
            try db.execute(sql: "ALTER TABLE nodes ADD COLUMN generation TEXT")
            try db.execute(sql: "ALTER TABLE nodes ADD COLUMN drained INTEGER NOT NULL DEFAULT 0")
            try db.execute(sql: """
                CREATE TABLE rollouts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    image TEXT NOT NULL,
                    status TEXT NOT NULL,
                    state TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                CREATE UNIQUE INDEX rollouts_one_running ON rollouts(image) WHERE status = 'running';
                """)
        },
        // A token that changes with every change to what a node's boot files are made of
        // (not its run-time state): apply's manifest compares it instead of reading every node.
        { db in
            try db.execute(sql: """
                CREATE TABLE registry_meta (id INTEGER PRIMARY KEY CHECK (id = 1), nodes_token BLOB NOT NULL);
                INSERT INTO registry_meta (id, nodes_token) VALUES (1, randomblob(16));
                CREATE TRIGGER nodes_token_insert AFTER INSERT ON nodes BEGIN UPDATE registry_meta SET nodes_token = randomblob(16); END;
                CREATE TRIGGER nodes_token_delete AFTER DELETE ON nodes BEGIN UPDATE registry_meta SET nodes_token = randomblob(16); END;
                CREATE TRIGGER nodes_token_update AFTER UPDATE OF hostname, mac, ip, profile, generation ON nodes
                    BEGIN UPDATE registry_meta SET nodes_token = randomblob(16); END;
                """)
        },
        { db in
            // The change log boot servers follow (several boot servers on one registry): one row per node
            // whose boot files changed, by hostname (a rename logs both names), numbered in commit order.
            // Kept to the last 100,000 changes; a follower behind that reads the nodes in full.
            try db.execute(sql: """
                CREATE TABLE node_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, hostname TEXT NOT NULL);
                INSERT INTO node_changes (hostname) SELECT hostname FROM nodes ORDER BY hostname;
                CREATE TRIGGER node_changes_insert AFTER INSERT ON nodes BEGIN INSERT INTO node_changes (hostname) VALUES (NEW.hostname); END;
                CREATE TRIGGER node_changes_delete AFTER DELETE ON nodes BEGIN INSERT INTO node_changes (hostname) VALUES (OLD.hostname); END;
                CREATE TRIGGER node_changes_update AFTER UPDATE OF hostname, mac, ip, profile, generation ON nodes
                    WHEN OLD.hostname IS NOT NEW.hostname OR OLD.mac IS NOT NEW.mac OR OLD.ip IS NOT NEW.ip
                      OR OLD.profile IS NOT NEW.profile OR OLD.generation IS NOT NEW.generation
                    BEGIN
                        INSERT INTO node_changes (hostname) VALUES (OLD.hostname);
                        INSERT INTO node_changes (hostname) SELECT NEW.hostname WHERE NEW.hostname IS NOT OLD.hostname;
                    END;
                CREATE TRIGGER node_changes_prune AFTER INSERT ON node_changes WHEN NEW.seq % 1000 = 0
                    BEGIN DELETE FROM node_changes WHERE seq <= NEW.seq - 100000; END;
                CREATE TABLE boot_servers (
                    name TEXT PRIMARY KEY, address TEXT NOT NULL, subnet TEXT NOT NULL, role TEXT, dhcp_range TEXT,
                    started_at TEXT NOT NULL, last_contact TEXT NOT NULL, applied_seq INTEGER NOT NULL DEFAULT 0,
                    replica_nodes INTEGER NOT NULL DEFAULT 0, daemons TEXT NOT NULL DEFAULT '{}'
                );
                """)
        },
        { db in
            // Each node's boot credential of its last boot (single-use) and heartbeat credential: digests only.
            for statement in BootCredentialSchema.statements(text: "TEXT", key: "INTEGER") { try db.execute(sql: statement) }
        },
        { db in
            // Who made each change (`AuditActor`), the operator API's named tokens (digests only),
            // and the discovered machines' DHCP leases.
            for statement in TokenSchema.statements(text: "TEXT") { try db.execute(sql: statement) }
        },
        { db in
            // The key each node's TPM keeps, pinned at its first enrollment that proves one.
            for statement in TPMKeySchema.statements(text: "TEXT", key: "INTEGER") { try db.execute(sql: statement) }
        },
        { db in
            // Each node's standing in the site's cloud, as its node controller reports it.
            for statement in CloudMemberSchema.statements(text: "TEXT", key: "INTEGER") { try db.execute(sql: statement) }
        },
    ]

    static func migrate(_ queue: DatabaseQueue) throws {
        let current = try queue.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
        if current == migrations.count { return }
        if current > migrations.count {
            throw RegistryError("the registry has schema version \(current), newer than this provisioner knows (\(migrations.count))")
        }
        try queue.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                for migration in migrations.dropFirst(version) { try migration(db) }
                try db.execute(sql: "PRAGMA user_version = \(migrations.count)")
                return .commit
            }
        }
    }
}

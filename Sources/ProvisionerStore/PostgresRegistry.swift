// ProvisionerStore: the registry in PostgreSQL (postgres-nio), for sites
// where several boot servers share one registry. Same logic as SQLite's
// (SQLRegistry), same statements; the database enforces the constraints
// (unique hostname, MAC, IP; one running rollout per image), and every
// write transaction takes one advisory lock first, as SQLite's IMMEDIATE
// transaction takes the write lock: a read-then-write (an address
// allocation, a discovery claim) never races a writer on another machine.
import Foundation
import NIOSSL
import PostgresNIO
import Synchronization
import ProvisionerAPI
import ProvisionerCore

/// The registry in a PostgreSQL database: one connection per registry
/// object, reopened after it breaks; calls from several threads take turns.
public final class PostgresRegistry: SQLRegistry, @unchecked Sendable {
    public let location: PostgresLocation
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private let logger: Logger

    /// The key of the advisory lock every write transaction holds ("prov" in ASCII).
    static let writeLockKey: Int64 = 0x7072_6f76

    /// How long a statement may take before its connection counts as lost: a
    /// connection the server dropped mid-shutdown can leave a query unanswered,
    /// and the registry's callers (boot lookups among them) must not wait on it for ever.
    static let statementSeconds: Int64 = 15

    /// Waits for `future` at most `seconds`, and no longer than `closed`
    /// (the connection's end) leaves it unanswered; either way it is an
    /// `unavailable` error. postgres-nio hands a query to a connection that
    /// closed a moment before without ever answering it: without this, a
    /// registry call made as the database shuts down would wait for ever.
    static func bounded<T: Sendable>(_ future: EventLoopFuture<T>, on loop: any EventLoop, seconds: Int64,
                                     closed: EventLoopFuture<Void>? = nil) throws -> T {
        let promise = loop.makePromise(of: T.self)
        let once = Once()
        @Sendable func complete(_ result: Result<T, any Error>) {
            if once.first() { promise.completeWith(result) }
        }
        future.whenComplete(complete)
        let timer = loop.scheduleTask(in: .seconds(seconds)) {
            complete(.failure(RegistryError("the registry database did not answer within \(seconds) s", kind: .unavailable)))
        }
        closed?.whenComplete { _ in
            // What the connection answered before it closed is already in; what it had not, it never will.
            loop.scheduleTask(in: .milliseconds(100)) {
                complete(.failure(RegistryError("the registry database closed the connection", kind: .unavailable)))
            }
        }
        defer { timer.cancel() }
        return try promise.futureResult.wait()
    }

    /// Connects and brings the schema up to date.
    /// - Parameter connectNow: false defers that to the first call (a boot
    ///   server starts and boots its nodes from its replica while the database is down).
    /// - Throws: `RegistryError` (unavailable) when the database cannot be reached or refuses us.
    public init(_ location: PostgresLocation, connectNow: Bool = true) throws {
        self.location = location
        var logger = Logger(label: "provisioner.registry.postgres")
        logger.logLevel = .critical
        self.logger = logger
        if connectNow { try locked { _ = try session() } }
    }

    public convenience init(url: String, connectNow: Bool = true) throws {
        try self.init(try PostgresLocation(url: url), connectNow: connectNow)
    }

    deinit {
        Self.close(connection)
    }

    /// Closes a connection, waiting 2 s at most (one that stopped answering may never say it closed).
    static func close(_ connection: PostgresConnection?) {
        _ = try? connection.map { try bounded($0.close(), on: $0.eventLoop, seconds: 2) }
    }

    public func write<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try locked { try Self.transaction(try session(), "BEGIN", lockFirst: true, body) }
    }

    public func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try locked { try Self.transaction(try session(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", lockFirst: false, body) }
    }

    /// `body` in one transaction begun with `begin`; with `lockFirst`, holding
    /// the registry's write lock from the start. A throw rolls it all back.
    static func transaction<T>(_ s: PostgresSession, _ begin: String, lockFirst: Bool, _ body: (PostgresSession) throws -> T) throws -> T {
        try s.execute(begin)
        do {
            if lockFirst { _ = try s.rows("SELECT pg_advisory_xact_lock(\(writeLockKey))") }
            let result = try body(s)
            try s.execute("COMMIT")
            return result
        } catch {
            // A connection that stopped answering would not answer this either.
            if (error as? RegistryError)?.kind != .unavailable { _ = try? s.execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs `body` holding the connection; a broken connection is dropped (the next call reconnects),
    /// and errors of the database become `RegistryError`s with their kind.
    private func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try body()
        } catch let error as PSQLError {
            let mapped = RegistryError(postgres: error, at: location)
            if mapped.kind == .unavailable {
                Self.close(connection)
                connection = nil
            }
            throw mapped
        } catch let error as RegistryError where error.kind == .unavailable {
            // A statement that timed out: the connection is not to be trusted again.
            Self.close(connection)
            connection = nil
            throw error
        }
    }

    /// How to reach the database: a Unix socket, or TCP with TLS as the URL says.
    /// - Throws: `RegistryError` (unavailable) when the CA file cannot be read.
    private func configuration() throws -> PostgresConnection.Configuration {
        var config: PostgresConnection.Configuration
        if let socket = location.socketPath {
            config = .init(unixSocketPath: socket, username: location.user, password: location.password, database: location.database)
        } else {
            config = .init(host: location.host, port: location.port, username: location.user, password: location.password,
                           database: location.database, tls: try Self.tls(location))
        }
        config.options.connectTimeout = .seconds(5)
        return config
    }

    /// The TLS of a TCP connection: verified against `sslrootcert` and for
    /// the host (`verify-full`), encrypted only (`require`), or none.
    static func tls(_ location: PostgresLocation) throws -> PostgresConnection.Configuration.TLS {
        guard let mode = location.tls, mode != .disable else { return .disable }
        var c = TLSConfiguration.makeClientConfiguration()
        c.minimumTLSVersion = .tlsv12
        if mode == .require {
            c.certificateVerification = .none
        } else {
            c.certificateVerification = .fullVerification
            do {
                c.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(location.rootCertificate ?? ""))
            } catch {
                throw RegistryError("the registry's CA file \(location.rootCertificate ?? "?") cannot be read: \(error)", kind: .unavailable)
            }
        }
        return .require(try NIOSSLContext(configuration: c))
    }

    /// A new connection being made.
    private func connecting(id: Int) -> EventLoopFuture<PostgresConnection> {
        let loop = PostgresConnection.defaultEventLoopGroup.any()
        do {
            return PostgresConnection.connect(on: loop, configuration: try configuration(), id: id, logger: logger)
        } catch {
            return loop.makeFailedFuture(error)
        }
    }

    /// Why a connection could not be made, as an `unavailable` error.
    private func unreachable(_ error: any Error) -> RegistryError {
        guard let error = error as? PSQLError else {
            return RegistryError("the registry database \(location) is unreachable: \(error)", kind: .unavailable)
        }
        var e = RegistryError(postgres: error, at: location)
        e.kind = .unavailable
        return e
    }

    /// A new connection, or an `unavailable` error.
    private func connect(id: Int) async throws -> PostgresConnection {
        do { return try await connecting(id: id).get() } catch { throw unreachable(error) }
    }

    private func session() throws -> PostgresSession {
        if let connection, !connection.isClosed { return PostgresSession(connection: connection, logger: logger) }
        let c: PostgresConnection
        do { c = try connecting(id: 1).wait() } catch { throw unreachable(error) }
        // Every new connection checks the schema (a database made, or upgraded, since).
        let s = PostgresSession(connection: c, logger: logger)
        do { try PostgresSchema.migrate(s) } catch { Self.close(c); throw error }
        connection = c
        return s
    }
}

extension PostgresRegistry {
    /// LISTENs on the change log's channel on a connection of its own (the
    /// registry's connection runs queries); rings `doorbell` once listening
    /// (what was missed meanwhile is in the log) and on every notification.
    /// A broken connection is made again, after 0.5 s doubling up to 5 s.
    public func watchChanges(_ doorbell: @escaping @Sendable () -> Void) async {
        var pause = 0.5
        while !Task.isCancelled {
            do {
                let c = try await connect(id: 2)
                // Cancelled: closing the connection ends the notifications.
                do {
                    try await withTaskCancellationHandler {
                        try await c.listen(on: PostgresSchema.changesChannel) { notifications in
                            pause = 0.5
                            doorbell()
                            for try await _ in notifications { doorbell() }
                        }
                    } onCancel: {
                        Task { try? await c.close() }
                    }
                } catch {}
                try? await c.close()
            } catch {}
            if Task.isCancelled { return }
            try? await Task.sleep(for: .seconds(pause))
            pause = min(pause * 2, 5)
        }
    }
}

/// True the first time it is asked.
private final class Once: Sendable {
    private let done = Mutex(false)
    func first() -> Bool { done.withLock { d in defer { d = true }; return !d } }
}

/// Statements on one PostgreSQL connection: `?` placeholders become `$1`, `$2`…
struct PostgresSession: SQLSession {
    let connection: PostgresConnection
    let logger: Logger

    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow] {
        try run(sql, arguments).rows.map { row in SQLRow(row.map(Self.value)) }
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    private func run(_ sql: String, _ arguments: [any SQLBindable]) throws -> PostgresQueryResult {
        var binds = PostgresBindings(capacity: arguments.count)
        for a in arguments {
            switch a.sqlValue {
            case .null: binds.appendNull()
            case .int(let i): binds.append(i)
            case .double(let d): binds.append(d)
            case .text(let s): binds.append(s)
            case .blob(let b): binds.append(ByteBuffer(bytes: b))
            }
        }
        return try PostgresRegistry.bounded(connection.query(PostgresQuery(unsafeSQL: Self.numbered(sql), binds: binds), logger: logger),
                                            on: connection.eventLoop, seconds: PostgresRegistry.statementSeconds, closed: connection.closeFuture)
    }

    /// `?` → `$n`, outside quoted strings and identifiers.
    static func numbered(_ sql: String) -> String {
        guard sql.contains("?") else { return sql }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        var quote: Character?
        for ch in sql {
            if let q = quote {
                if ch == q { quote = nil }
                out.append(ch)
            } else if ch == "'" || ch == "\"" {
                quote = ch
                out.append(ch)
            } else if ch == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(ch)
            }
        }
        return out
    }

    static func value(_ cell: PostgresCell) -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8, .oid:
            return (try? cell.decode(Int64.self)).map { .int($0) } ?? .null
        case .bool:
            return (try? cell.decode(Bool.self)).map { .int($0 ? 1 : 0) } ?? .null
        case .float4, .float8:
            return (try? cell.decode(Double.self)).map { .double($0) } ?? .null
        case .bytea:
            return (try? cell.decode(ByteBuffer.self)).map { .blob(Data($0.readableBytesView)) } ?? .null
        case .void:
            return .null
        default:
            return (try? cell.decode(String.self)).map { .text($0) } ?? .null
        }
    }
}

extension RegistryError {
    /// What PostgreSQL said, with its kind: a constraint is a conflict, a
    /// serialization failure or deadlock is busy, a lost or refused
    /// connection is unavailable.
    init(postgres error: PSQLError, at location: PostgresLocation) {
        if let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? "error \(state)"
            let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
            switch state {
            case let s where s.hasPrefix("23"):
                self.init("the registry refused a conflicting change: \(message)\(detail)", kind: .conflict)
            case "40001", "40P01", "55P03":
                self.init("the registry was busy: \(message)", kind: .busy)
            case let s where s.hasPrefix("08") || s.hasPrefix("28") || s.hasPrefix("57") || s.hasPrefix("53") || s == "3D000":
                self.init("the registry database \(location) is unavailable: \(message)", kind: .unavailable)
            default:
                self.init("registry: \(message)\(detail)")
            }
            return
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            let why = error.underlying.map { "\($0)" } ?? "\(error.code)"
            self.init("the registry database \(location) is unreachable: \(why)", kind: .unavailable)
        case .sslUnsupported:
            self.init("the registry database \(location) does not speak TLS (sslmode=disable only on a trusted link)", kind: .unavailable)
        case .failedToAddSSLHandler:
            self.init("the registry database \(location): TLS could not be set up: \(error.underlying.map { "\($0)" } ?? "?")", kind: .unavailable)
        default:
            self.init("registry: \(error.code)", kind: .failed)
        }
    }
}

/// The PostgreSQL schema: the same tables as SQLite's, with PostgreSQL's
/// types (identity keys, BIGINT addresses, BYTEA token, byte-order collation
/// so hostnames sort as SQLite sorts them). Version 1 here is SQLite's 7, 2
/// its 8 (boot and heartbeat credentials), 3 its 9 (audit actor, API tokens,
/// leases); later changes go into both lists.
enum PostgresSchema {
    static let text = #"TEXT COLLATE "C""#
    static let migrations: [[String]] = [[
        "CREATE TABLE profiles (name \(text) PRIMARY KEY, image \(text) NOT NULL, kernel_args \(text) NOT NULL DEFAULT '')",
        """
        CREATE TABLE nodes (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            hostname \(text) NOT NULL UNIQUE,
            mac \(text) UNIQUE,
            ip BIGINT NOT NULL UNIQUE,
            profile \(text) NOT NULL REFERENCES profiles(name) ON UPDATE CASCADE,
            state \(text) NOT NULL,
            created_at \(text) NOT NULL,
            updated_at \(text) NOT NULL,
            generation \(text),
            drained BIGINT NOT NULL DEFAULT 0
        )
        """,
        """
        CREATE TABLE audit (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            at \(text) NOT NULL, action \(text) NOT NULL, subject \(text) NOT NULL, old \(text), new \(text)
        )
        """,
        "CREATE INDEX audit_subject ON audit(subject)",
        """
        CREATE TABLE node_status (
            node_id BIGINT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
            image \(text), boot_started \(text), phases \(text) NOT NULL DEFAULT '{}', capacity \(text), instances \(text),
            last_heartbeat \(text), enrolled_at \(text), boot_timings \(text), platform \(text), boot_path \(text)
        )
        """,
        """
        CREATE TABLE discovered (
            mac \(text) PRIMARY KEY, ip \(text), first_seen \(text) NOT NULL, last_seen \(text) NOT NULL,
            seen BIGINT NOT NULL DEFAULT 1, via \(text) NOT NULL
        )
        """,
        """
        CREATE TABLE instances (
            id \(text) PRIMARY KEY,
            node_id BIGINT REFERENCES nodes(id) ON DELETE SET NULL,
            type \(text) NOT NULL, vcpus BIGINT NOT NULL, memory_mib BIGINT NOT NULL, spec \(text) NOT NULL,
            state \(text) NOT NULL, desired \(text) NOT NULL, message \(text), created_at \(text) NOT NULL, updated_at \(text) NOT NULL
        )
        """,
        """
        CREATE TABLE node_bmc (
            node_id BIGINT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
            driver \(text) NOT NULL, address \(text) NOT NULL, username \(text) NOT NULL, password_file \(text) NOT NULL, system \(text)
        )
        """,
        """
        CREATE TABLE rollouts (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            image \(text) NOT NULL, status \(text) NOT NULL, state \(text) NOT NULL, started_at \(text) NOT NULL, updated_at \(text) NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX rollouts_one_running ON rollouts(image) WHERE status = 'running'",
        "CREATE TABLE registry_meta (id BIGINT PRIMARY KEY CHECK (id = 1), nodes_token BYTEA NOT NULL)",
        "INSERT INTO registry_meta (id, nodes_token) VALUES (1, decode(md5(random()::text || clock_timestamp()::text), 'hex'))",
        """
        CREATE FUNCTION provisioner_nodes_token() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE registry_meta SET nodes_token = decode(md5(random()::text || clock_timestamp()::text), 'hex');
            RETURN NULL;
        END $$
        """,
        "CREATE TRIGGER nodes_token_insert_delete AFTER INSERT OR DELETE ON nodes FOR EACH STATEMENT EXECUTE FUNCTION provisioner_nodes_token()",
        """
        CREATE TRIGGER nodes_token_update AFTER UPDATE OF hostname, mac, ip, profile, generation ON nodes
            FOR EACH STATEMENT EXECUTE FUNCTION provisioner_nodes_token()
        """,
    ], [
        // SQLite's version 8: the change log boot servers follow, and the boot servers' reports. Each
        // statement that logs a change rings the doorbell (NOTIFY \(changesChannel), delivered at commit;
        // several in one transaction arrive as one). Inserts and deletes log whole statements at once.
        "CREATE TABLE node_changes (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, hostname \(text) NOT NULL)",
        "INSERT INTO node_changes (hostname) SELECT hostname FROM nodes ORDER BY hostname",
        """
        CREATE FUNCTION provisioner_log_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO node_changes (hostname) SELECT hostname FROM inserted; RETURN NULL; END $$
        """,
        """
        CREATE FUNCTION provisioner_log_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO node_changes (hostname) SELECT hostname FROM deleted; RETURN NULL; END $$
        """,
        """
        CREATE FUNCTION provisioner_log_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO node_changes (hostname) VALUES (OLD.hostname);
            IF NEW.hostname IS DISTINCT FROM OLD.hostname THEN INSERT INTO node_changes (hostname) VALUES (NEW.hostname); END IF;
            RETURN NULL;
        END $$
        """,
        """
        CREATE FUNCTION provisioner_changes_logged() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('\(changesChannel)', '');
            DELETE FROM node_changes WHERE seq <= (SELECT max(seq) FROM node_changes) - 100000;
            RETURN NULL;
        END $$
        """,
        "CREATE TRIGGER node_changes_insert AFTER INSERT ON nodes REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION provisioner_log_inserted()",
        "CREATE TRIGGER node_changes_delete AFTER DELETE ON nodes REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION provisioner_log_deleted()",
        """
        CREATE TRIGGER node_changes_update AFTER UPDATE ON nodes FOR EACH ROW
            WHEN (OLD.hostname IS DISTINCT FROM NEW.hostname OR OLD.mac IS DISTINCT FROM NEW.mac OR OLD.ip IS DISTINCT FROM NEW.ip
                  OR OLD.profile IS DISTINCT FROM NEW.profile OR OLD.generation IS DISTINCT FROM NEW.generation)
            EXECUTE FUNCTION provisioner_log_updated()
        """,
        "CREATE TRIGGER node_changes_notify AFTER INSERT ON node_changes FOR EACH STATEMENT EXECUTE FUNCTION provisioner_changes_logged()",
        """
        CREATE TABLE boot_servers (
            name \(text) PRIMARY KEY, address \(text) NOT NULL, subnet \(text) NOT NULL, role \(text), dhcp_range \(text),
            started_at \(text) NOT NULL, last_contact \(text) NOT NULL, applied_seq BIGINT NOT NULL DEFAULT 0,
            replica_nodes BIGINT NOT NULL DEFAULT 0, daemons \(text) NOT NULL DEFAULT '{}'
        )
        """,
    ], BootCredentialSchema.statements(text: text, key: "BIGINT"), TokenSchema.statements(text: text),
       TPMKeySchema.statements(text: text, key: "BIGINT"), CloudMemberSchema.statements(text: text, key: "BIGINT")]

    /// The channel of the change log's doorbell.
    static let changesChannel = "provisioner_node_changes"

    /// Applies what is missing, in one transaction under the write lock, so
    /// two boot servers starting at once cannot both apply it.
    static func migrate(_ s: PostgresSession) throws {
        let current = try version(s)
        if current == migrations.count { return }
        if current > migrations.count {
            throw RegistryError("the registry has schema version \(current), newer than this provisioner knows (\(migrations.count))")
        }
        try PostgresRegistry.transaction(s, "BEGIN", lockFirst: true) { s in
            try s.execute("CREATE TABLE IF NOT EXISTS schema_version (id BIGINT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)")
            try s.execute("INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING")
            let version = try s.value(Int.self, "SELECT version FROM schema_version WHERE id = 1") ?? 0
            for migration in migrations.dropFirst(version) {
                for statement in migration { try s.execute(statement) }
            }
            try s.execute("UPDATE schema_version SET version = ? WHERE id = 1", [migrations.count])
        }
    }

    static func version(_ s: PostgresSession) throws -> Int {
        guard try s.value(String.self, "SELECT to_regclass('schema_version')::text") != nil else { return 0 }
        return try s.value(Int.self, "SELECT version FROM schema_version WHERE id = 1") ?? 0
    }
}

extension PostgresRegistry {
    /// The tables a migration copies, with their columns (the same names in both stores).
    /// The nodes token is not copied: a new database has a token of its own.
    static let copiedTables: [(table: String, columns: [String])] = [
        ("profiles", ["name", "image", "kernel_args"]),
        ("nodes", ["id", "hostname", "mac", "ip", "profile", "state", "created_at", "updated_at", "generation", "drained"]),
        ("audit", ["id", "at", "action", "subject", "old", "new", "actor"]),
        ("node_status", ["node_id", "image", "boot_started", "phases", "capacity", "instances", "last_heartbeat", "enrolled_at",
                         "boot_timings", "platform", "boot_path"]),
        ("discovered", ["mac", "ip", "first_seen", "last_seen", "seen", "via", "lease_ip", "lease_at"]),
        ("instances", ["id", "node_id", "type", "vcpus", "memory_mib", "spec", "state", "desired", "message", "created_at", "updated_at"]),
        ("node_bmc", ["node_id", "driver", "address", "username", "password_file", "system"]),
        ("rollouts", ["id", "image", "status", "state", "started_at", "updated_at"]),
        ("api_tokens", ["name", "digest", "scopes", "created_at", "rotated_at", "last_used_at"]),
        ("boot_credentials", ["node_id", "mac", "digest", "given_to", "minted_at", "used_at", "used_from"]),
        ("node_credentials", ["node_id", "digest", "ip", "issued_at"]),
        ("tpm_keys", ["node_id", "fingerprint", "pinned_at", "pending", "pending_at"]),
        ("cloud_members", ["node_id", "state", "reason", "since"]),
    ]

    /// Copies every row of `source` into this (empty) registry in one
    /// transaction: all of it or nothing. Keys stay as they were; the
    /// identity sequences continue above them.
    /// - Throws: `ConflictError` when this registry holds nodes, history,
    ///   instances, discovered machines or rollouts already.
    /// - Returns: the rows copied, per table.
    @discardableResult
    public func copyAll(from source: any SQLRegistry) throws -> [(table: String, rows: Int)] {
        let data = try source.read { db in
            try Self.copiedTables.map { t in (t.table, t.columns, try db.rows("SELECT \(t.columns.joined(separator: ", ")) FROM \(t.table)")) }
        }
        return try write { db in
            for table in ["nodes", "audit", "instances", "discovered", "rollouts", "api_tokens"] {
                if let n = try db.value(Int.self, "SELECT count(*) FROM \(table)"), n > 0 {
                    throw ConflictError("the registry at \(location) is not empty (\(n) rows in \(table)); migrate into an empty database")
                }
            }
            try db.execute("DELETE FROM profiles")
            var counts: [(table: String, rows: Int)] = []
            for (table, columns, rows) in data {
                let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
                for row in rows { try db.execute(sql, row.values.map { $0 as any SQLBindable }) }
                counts.append((table, rows.count))
            }
            for table in ["nodes", "audit", "rollouts"] {
                _ = try db.rows("SELECT setval(pg_get_serial_sequence('\(table)', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM \(table)), false)")
            }
            return counts
        }
    }
}

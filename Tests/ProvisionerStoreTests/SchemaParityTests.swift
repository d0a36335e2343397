import Foundation
import Testing
import TestSupport
@testable import ProvisionerStore

/// The two engines keep the same registry: after their migrations, SQLite
/// and PostgreSQL have the same tables with the same columns. Read by the
/// engines' own tools (sqlite3, psql), not through our code.
struct SchemaParityTests {
    /// Each engine's own migration bookkeeping, which the other does not have.
    static let bookkeeping: Set<String> = ["grdb_migrations", "schema_version"]

    @Test func sqliteAndPostgresHaveTheSameTablesAndColumns() throws {
        let dir = NSTemporaryDirectory() + "schema-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/registry.sqlite"
        _ = try SQLiteRegistry(path: path)
        let server = try PostgresTestServer.shared.get()
        let url = try server.database()
        _ = try PostgresRegistry(url: url)

        let sqliteText = try runProcess("/usr/bin/sqlite3", [path, """
            SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
            WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1
            """])
        try #require(sqliteText.status == 0, "sqlite3: \(sqliteText.stderr)")
        let postgresText = try server.psql(url, """
            SELECT table_name || '.' || column_name FROM information_schema.columns
            WHERE table_schema = 'public' ORDER BY 1
            """)
        func columns(_ text: String) -> Set<String> {
            Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !Self.bookkeeping.contains(String($0.split(separator: ".")[0])) })
        }
        let sqlite = columns(sqliteText.stdout), postgres = columns(postgresText)
        #expect(sqlite.count > 20, "too few columns read from SQLite: \(sqlite.sorted())")
        #expect(sqlite.subtracting(postgres).isEmpty, "only in SQLite: \(sqlite.subtracting(postgres).sorted())")
        #expect(postgres.subtracting(sqlite).isEmpty, "only in PostgreSQL: \(postgres.subtracting(sqlite).sorted())")
    }
}

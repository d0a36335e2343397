import ArgumentParser
import ProvisionerBoot

extension Provisioner.Registry {
    /// `provisioner registry migrate --to URL`: the SQLite registry into PostgreSQL, all or nothing.
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Copy the site's SQLite registry into an empty PostgreSQL database (all or nothing) and use that from now on.",
            discussion: """
                The URL is libpq's: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, or \
                postgres://USER@/DATABASE?host=/run/postgresql for a Unix socket. It is kept in \
                <home>/registry.url (mode 0600). The SQLite file is left as it was, unused.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .customLong("to"), help: ArgumentHelp("The PostgreSQL database to copy into; @FILE reads the URL from a 0600 file (a URL with a password must come that way).", valueName: "URL|@FILE"))
        var url: String

        struct Copied: Encodable {
            var table: String
            var rows: Int
        }

        func run() throws {
            let site = global.site
            let counts = try site.migrateRegistry(to: try registryURLArgument(url, option: "to")).map { Copied(table: $0.table, rows: $0.rows) }
            if output.json {
                emit(try jsonText(MigrateReport(registry: site.registryDescription(), copied: counts)))
            } else {
                let lines = counts.map { "  \($0.table): \($0.rows)" }.joined(separator: "\n")
                emit("copied into \(site.registryDescription()):\n\(lines)\nthe site's registry is now that database\n")
            }
        }

        struct MigrateReport: Encodable {
            var registry: String
            var copied: [Copied]
        }
    }
}

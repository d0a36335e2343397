import ArgumentParser

extension Provisioner {
    /// `provisioner registry …`.
    struct Registry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "registry",
            abstract: "Where the site's registry is: SQLite (one server) or PostgreSQL (several boot servers).",
            subcommands: [Migrate.self]
        )
    }
}

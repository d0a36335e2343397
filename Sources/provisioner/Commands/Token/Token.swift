import ArgumentParser

extension Provisioner {
    /// `provisioner token …`.
    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token",
            abstract: "Tokens of the operator API: named, with scopes (read, write, power), kept as digests.",
            discussion: """
                Every request of the operator API needs a token (Authorization: Bearer TOKEN): the site's own in \
                <home>/api.token (every scope, made on first serve), or a named one. The registry keeps only a \
                named token's digest: its value is shown once, when it is made or rotated. The audit log records \
                which token made each change (`provisioner audit`).
                """,
            subcommands: [Add.self, List.self, Revoke.self, Rotate.self]
        )
    }
}

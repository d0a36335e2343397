import ArgumentParser

extension Provisioner.Token {
    /// `provisioner token revoke NAME`.
    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Revoke a named token: every boot server refuses it from its next request."
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The token's name.", valueName: "NAME"))
        var name: String

        func run() throws {
            try global.site.revokeToken(name: name, now: now())
            emit("token \(name) revoked\n")
        }
    }
}

import ArgumentParser
import ProvisionerCore

extension Provisioner.Token {
    /// `provisioner token add NAME --scope read,write`.
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Make a named token with scopes; its value is printed once.",
            discussion: "Scopes: read (the inventory), write (node changes), power (BMC power and boot devices); every scope reads."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: ArgumentHelp("The token's name (1-32 of a-z, 0-9, -, _, .).", valueName: "NAME"))
        var name: String

        @Option(name: .long, help: ArgumentHelp("What it may do: read, write, power (comma-separated).", valueName: "SCOPES"))
        var scope: String

        struct Made: Encodable {
            var name: String
            var scopes: [APIScope]
            var token: String
        }

        func run() throws {
            let scopes = try APIScope.parse(scope)
            let (token, value) = try global.site.addToken(name: name, scopes: scopes, now: now())
            if output.json {
                emit(try jsonText(Made(name: token.name, scopes: token.scopes, token: value)))
            } else {
                emit("token \(token.name) (\(token.scopes.map(\.rawValue).joined(separator: ", "))): \(value)\nit is shown only now: keep it where its user reads it\n")
            }
        }
    }
}

import ArgumentParser

extension Provisioner.Token {
    /// `provisioner token rotate NAME`.
    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Give a token a new value (printed once); the old one stops working at once.",
            discussion: "`rotate site` writes a new <home>/api.token (serve reads it at each request)."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: ArgumentHelp("The token's name (site: the site's own).", valueName: "NAME"))
        var name: String

        struct Rotated: Encodable {
            var name: String
            var token: String
        }

        func run() throws {
            let value = try global.site.rotateToken(name: name, now: now())
            if output.json {
                emit(try jsonText(Rotated(name: name, token: value)))
            } else {
                emit("token \(name): \(value)\nit is shown only now; the old value no longer works\n")
            }
        }
    }
}

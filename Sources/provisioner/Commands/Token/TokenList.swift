import ArgumentParser
import ProvisionerCore

extension Provisioner.Token {
    /// `provisioner token list`: names and scopes, never values.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the operator API's tokens: names, scopes, when made, rotated and last used (never their values)."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let tokens = try global.site.tokens()
            if output.json { emit(try jsonText(tokens)); return }
            if tokens.isEmpty { emit("no tokens (serve makes the site's own on its first start)\n"); return }
            emit(TextTable.render(header: ["NAME", "SCOPES", "KEPT IN", "CREATED", "ROTATED", "LAST USED"],
                                  rows: tokens.map { [$0.name, $0.scopes.map(\.rawValue).joined(separator: ","), $0.keptIn,
                                                      $0.createdAt ?? "-", $0.rotatedAt ?? "-", $0.lastUsedAt ?? "-"] }))
        }
    }
}

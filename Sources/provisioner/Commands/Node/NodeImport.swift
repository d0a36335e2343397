import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node import FILE.csv`: adds every row or none.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Add nodes from a CSV file (header mac,hostname,ip,profile; ip and profile optional) or a JSON list.",
            discussion: """
                All nodes are added in one transaction, or none: an error names the line (or node) and the field. \
                A file whose text starts with [ or { is read as JSON: a list of objects with the keys hostname \
                (required), mac, ip and profile, as `node list --json` prints them and POST /api/v1/nodes takes them.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var applyOptions: ApplyOptions

        @Argument(help: "The CSV file.")
        var file: String

        func run() throws {
            let config = try global.loadConfig()
            let text = try readInputFile(file, what: "node file")
            let (added, files) = try global.nodeOperations(config, skip: applyOptions.noApply).importNodes(text, now: now())
            emit(output.json ? try jsonText(added) : "imported \(added.count) nodes from \(file)\n" + files.summary + "\n")
        }
    }
}

import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node import FILE.csv`: adds every row or none.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add nodes from a CSV file (header mac,hostname,ip,profile; ip and profile optional).",
            discussion: "All rows are added in one transaction, or none: an error names the line and the field."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var applyOptions: ApplyOptions

        @Argument(help: "The CSV file.")
        var file: String

        func run() throws {
            let config = try global.loadConfig()
            let specs = try NodeImport.parse(csv: try readInputFile(file, what: "CSV file"), config: config)
            let registry = try global.openRegistry()
            var files = try NodeFiles(global, config, skip: applyOptions.noApply)
            let added = try registry.add(specs, config: config, now: now(), action: "node.import") { try files.apply($0) }
            if output.json {
                emit(try jsonText(added))
            } else {
                emit("imported \(added.count) nodes from \(file)\n" + (files.summary.map { $0 + "\n" } ?? ""))
            }
        }
    }
}

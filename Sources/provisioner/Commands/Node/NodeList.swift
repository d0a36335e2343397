import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node list`: every node, as a table or JSON.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the registered nodes.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let nodes = try global.openRegistry().nodes()
            emit(output.json ? try jsonText(nodes) : nodeTable(nodes))
        }
    }
}

import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node pin GEN HOSTLIST`.
    struct Pin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pin",
            abstract: "Pin nodes to a generation of their image: they boot it whatever generation is active.",
            discussion: "A canary runs the new generation while the rest stays; a node held back stays on the old one. Takes effect at the node's next boot."
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Generation id, e.g. g2.") var generation: String
        @Argument(help: "Hostnames, MACs or hostlists such as 'n[001-032]'.") var keys: [String] = []

        func run() throws {
            let id = try GenerationID(parsing: generation)
            for (node, files) in try global.site.pin(keys, to: id) { emit("\(node.hostname): pinned to \(id); \(files.summary)\n") }
        }
    }
}

import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node unpin HOSTLIST`.
    struct Unpin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unpin",
            abstract: "Let pinned nodes follow their image's active generation again (at their next boot)."
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Hostnames, MACs or hostlists such as 'n[001-032]'.") var keys: [String] = []

        func run() throws {
            for (node, files) in try global.site.pin(keys, to: nil) { emit("\(node.hostname): follows the active generation; \(files.summary)\n") }
        }
    }
}

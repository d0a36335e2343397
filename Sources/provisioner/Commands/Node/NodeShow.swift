import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node show NAME|MAC`: one node in full.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one node, by hostname or MAC.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: "Hostname or MAC address.")
        var key: String

        func run() throws {
            guard let node = try global.openRegistry().node(key) else {
                throw ConflictError("no node \(quoted(key))")
            }
            if output.json {
                emit(try jsonText(node))
            } else {
                emit(TextTable.render(header: ["FIELD", "VALUE"], rows: [
                    ["hostname", node.hostname.value],
                    ["mac", node.mac?.description ?? "- (waiting for discovery)"],
                    ["ip", node.ip.description],
                    ["profile", node.profile.value],
                    ["state", node.state.rawValue],
                    ["created", node.createdAt],
                    ["updated", node.updatedAt],
                ]))
            }
        }
    }
}

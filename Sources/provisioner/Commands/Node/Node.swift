import ArgumentParser

extension Provisioner {
    /// `provisioner node …`: the MAC → hostname/IP registry.
    struct Node: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "node",
            abstract: "Add, import, list, show, change and remove nodes.",
            subcommands: [Add.self, Import.self, List.self, Show.self, Set.self, Rm.self, Discovered.self, Accept.self]
        )
    }
}

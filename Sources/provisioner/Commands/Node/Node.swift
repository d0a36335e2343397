import ArgumentParser

extension Provisioner {
    /// `provisioner node …`: the MAC → hostname/IP registry.
    struct Node: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "node",
            abstract: "Add, import, list, show, change and remove nodes; drive their BMCs.",
            subcommands: [Add.self, Import.self, List.self, Show.self, Set.self, Rm.self, Discovered.self, Accept.self, BMC.self, Power.self, BootNext.self, Pin.self, Unpin.self, Drain.self, Undrain.self, TPM.self]
        )
    }
}

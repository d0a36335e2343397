import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node accept MAC [--hostname H]`.
    struct Accept: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "accept",
            abstract: "Register a discovered machine.",
            discussion: """
                With --hostname H: H gets this MAC (H may be a node added without a MAC, or a \
                new name, which gets the next free address). Without it: the first node \
                (by hostname) added without a MAC takes it, as Warewulf's discoverable nodes.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var applyOptions: ApplyOptions

        @Argument(help: "The discovered MAC address.") var mac: String
        @Option(help: "Hostname to give it.") var hostname: String?
        @Option(help: "Profile (for a new node).") var profile: String?

        func run() throws {
            let config = try global.loadConfig()
            let mac = try MACAddress(parsing: mac)
            let host = try hostname.map { h throws(ProvisionerCore.ValidationError) in try Hostname(parsing: h) }
            let profileName = try profile.map { p throws(ProvisionerCore.ValidationError) in try ProfileName(parsing: p) }
            let (node, files) = try global.nodeOperations(config, skip: applyOptions.noApply).accept(mac: mac, hostname: host, profile: profileName, now: now())
            emit(output.json ? try jsonText(node) : nodeTable([node]) + files.summary + "\n")
        }
    }
}

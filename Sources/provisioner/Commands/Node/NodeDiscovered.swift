import ArgumentParser
import ProvisionerCore
import ProvisionerStore

extension Provisioner.Node {
    /// `provisioner node discovered`: machines that PXE-booted unregistered.
    struct Discovered: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "discovered",
            abstract: "List machines that PXE-booted with a MAC that is not registered.",
            discussion: "serve queues them from their DHCP request or iPXE script fetch. Register one with `provisioner node accept MAC`."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let machines = try global.openRegistry().discovered()
            if output.json { emit(try jsonText(machines)); return }
            if machines.isEmpty { emit("no machines waiting\n"); return }
            emit(TextTable.render(header: ["MAC", "IP", "FIRST SEEN", "LAST SEEN", "TIMES", "VIA"],
                                  rows: machines.map { [$0.mac, $0.ip ?? "-", $0.firstSeen, $0.lastSeen, String($0.seen), $0.via] }))
        }
    }

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

import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerSite
import ProvisionerStore

extension Provisioner {
    /// `provisioner init`: writes a commented, valid site config and creates the registry.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create the state directory, a commented provisioner.yaml and the registry."
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: "Interface on the node network.")
        var interface = "eth1"

        @Option(name: .customLong("server-ip"), help: "This server's address on the node network.")
        var serverIP = "10.0.0.1"

        @Option(help: "The node network, in CIDR form.")
        var subnet = "10.0.0.0/24"

        @Option(name: .customLong("dhcp-range"), help: ArgumentHelp("Dynamic range for unknown machines.", valueName: "FIRST-LAST"))
        var dhcpRange = "10.0.0.200-10.0.0.250"

        @Option(help: "Debian mirror for node images (default: the one apt uses on this host).")
        var mirror: String?

        @Option(help: ArgumentHelp("A PostgreSQL registry shared by several boot servers (default: SQLite in the home); @FILE reads the URL from a 0600 file (a URL with a password must come that way).",
                                   valueName: "postgres://USER@HOST/DATABASE|@FILE"))
        var registry: String?

        @Option(name: .customLong("server-name"), help: ArgumentHelp("This boot server's name in the registry (default: the machine's hostname).", valueName: "NAME"))
        var serverName: String?

        @Option(help: ArgumentHelp("primary or secondary: this boot server's half of the dynamic range when two serve the subnet.", valueName: "ROLE"))
        var role: String?

        @Flag(help: "Overwrite an existing provisioner.yaml.")
        var force = false

        func run() throws {
            let site = global.site
            let count = try site.initialize(SiteSetup(interface: interface, serverIP: serverIP, subnet: subnet, dhcpRange: dhcpRange,
                                                      mirror: mirror, force: force, registry: try registry.map { try registryURLArgument($0, option: "registry") },
                                                      serverName: serverName, role: role))
            emit("""
                wrote \(site.configPath)
                registry \(site.registryDescription()) (\(count) nodes)
                next: edit the config, then `provisioner node add NAME --mac MAC`

                """)
        }
    }
}

import ArgumentParser
import ProvisionerCore
import ProvisionerBoot

extension Provisioner.Node {
    /// `provisioner node bmc NAME`: shows, sets or clears a node's BMC.
    struct BMC: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bmc",
            abstract: "Show, set or clear a node's BMC (Redfish or IPMI).",
            discussion: """
                The password is read from --password-file (mode 0600, checked here and at every use) \
                and never stored, shown, logged or put on a command line: only the file's path is kept.
                  provisioner node bmc n001 --driver redfish --address https://10.1.0.1 --user admin --password-file /etc/provisioner/bmc/rack1
                  provisioner node bmc n002 --driver ipmi --address 10.1.0.2 --user admin --password-file /etc/provisioner/bmc/rack1
                What a rack shares goes in its profile (profiles.NAME.bmc: driver, user, password_file); \
                then the address is enough:
                  provisioner node bmc n003 --address 10.1.0.3
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Hostname or MAC address of the node.") var key: String
        @Option(help: "redfish or ipmi.") var driver: String?
        @Option(help: "redfish: http(s)://host[:port]; ipmi: host[:port].") var address: String?
        @Option(help: "BMC user.") var user: String?
        @Option(name: .customLong("password-file"), help: ArgumentHelp("File holding the BMC password (0600).", valueName: "FILE")) var passwordFile: String?
        @Option(help: "Redfish system id, when the BMC manages several systems.") var system: String?
        @Flag(help: "Remove the node's BMC settings.") var clear = false

        func run() throws {
            let site = global.site
            let given = [driver, address, user, passwordFile].compactMap { $0 }.count
            if clear {
                guard given == 0, system == nil else { throw ValidationError("--clear takes no other option") }
                let node = try site.setBMC(key, nil)
                emit(output.json ? try jsonText(["node": node.hostname.value]) : "\(node.hostname): BMC cleared\n")
                return
            }
            if given > 0 || system != nil {
                guard let address else { throw ProvisionerCore.ValidationError(field: "BMC address", value: "", reason: "give --address") }
                let config = try global.loadConfig()
                guard let node = try site.openRegistry().node(key) else { throw NotFoundError("node", key) }
                let settings = try (config.profile(node.profile)?.bmc ?? BMCDefaults())
                    .settings(driver: driver, address: address, user: user, passwordFile: passwordFile, system: system, profile: node.profile.value)
                let updated = try site.setBMC(key, settings)
                emit(output.json ? try jsonText(settings) : "\(updated.hostname): BMC \(settings.summary)\n")
                return
            }
            let registry = try site.openRegistry()
            guard let node = try registry.node(key) else { throw NotFoundError("node", key) }
            let bmc = try registry.bmcs()[node.hostname.value]
            if output.json {
                emit(try jsonText(bmc))
            } else {
                emit(bmc.map { "\(node.hostname): BMC \($0.summary), password file \($0.passwordFile)\n" } ?? "\(node.hostname): no BMC\n")
            }
        }
    }
}

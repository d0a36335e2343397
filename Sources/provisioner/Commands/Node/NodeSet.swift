import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node set NAME`: changes a node's MAC, IP, profile or hostname.
    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Change a node's MAC, IP, profile or hostname.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var applyOptions: ApplyOptions

        @Argument(help: "Hostname or MAC address of the node.")
        var key: String

        @Option var mac: String?
        @Option var ip: String?
        @Option var profile: String?
        @Option var hostname: String?

        func validate() throws {
            if mac == nil && ip == nil && profile == nil && hostname == nil {
                throw ValidationError("nothing to change: give --mac, --ip, --profile or --hostname")
            }
        }

        func run() throws {
            let config = try global.loadConfig()
            let change = try NodeChange(parsingHostname: hostname, mac: mac, ip: ip, profile: profile)
            let (_, new, files) = try global.nodeOperations(config, skip: applyOptions.noApply).update(key, change, now: now())
            emit(output.json ? try jsonText(new) : nodeTable([new]) + files.summary + "\n")
        }
    }
}

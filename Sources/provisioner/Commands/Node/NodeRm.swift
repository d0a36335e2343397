import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node rm NAME|HOSTLIST…`: removes nodes, all or none.
    struct Rm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove nodes by hostname, MAC or hostlist; all of them or none."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var applyOptions: ApplyOptions

        @Argument(help: "Hostnames, MACs or hostlists such as 'n[001-010]'.")
        var keys: [String]

        func validate() throws {
            if keys.isEmpty { throw ValidationError("name at least one node") }
        }

        func run() throws {
            let config = try global.loadConfig()
            let (removed, files) = try global.nodeOperations(config, skip: applyOptions.noApply).remove(keys, now: now())
            // Their members of the site's cloud go too (the registry change stands whatever the cloud says).
            let cloud = global.site.removeCloudMembers(removed.map(\.hostname.value), config: config)
            for line in cloud { warn(line) }
            emit(output.json ? try jsonText(removed) : "removed \(removed.count) nodes: \(removed.map(\.hostname.value).joined(separator: " "))\n" + files.summary + "\n")
        }
    }
}

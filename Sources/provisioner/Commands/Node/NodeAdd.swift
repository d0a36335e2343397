import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node add NAME|HOSTLIST`: registers one node or a hostlist of them.
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Register a node, or a hostlist such as 'n[001-100]'.",
            discussion: """
                Without --ip a node gets the next free static address. A hostlist gets \
                sequential addresses from --ip, and MACs from --macs (one per line, in \
                order); without MACs its nodes wait for discovery.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var applyOptions: ApplyOptions

        @Argument(help: "A hostname, or a hostlist expression such as 'n[001-100]'.")
        var name: String

        @Option(help: "The node's MAC address.")
        var mac: String?

        @Option(help: "The node's address; for a hostlist, the first of sequential addresses.")
        var ip: String?

        @Option(help: "Boot profile (default: default).")
        var profile: String?

        @Option(help: ArgumentHelp("File of MAC addresses for a hostlist, one per line.", valueName: "FILE"))
        var macs: String?

        func validate() throws {
            if mac != nil && macs != nil { throw ValidationError("give --mac or --macs, not both") }
        }

        func run() throws {
            var batch = NodeBatch(name: name, firstIP: ip, profile: profile)
            if let mac {
                batch.macs = [try MACAddress(parsing: mac)]
                batch.macSource = "--mac"
            } else if let macs {
                batch.macs = try NodeBatch.parseMACList(try readInputFile(macs, what: "MAC list"), source: macs)
                batch.macSource = macs
            }
            let config = try global.loadConfig()
            let (added, files) = try global.nodeOperations(config, skip: applyOptions.noApply).add(batch, now: now())
            emit(output.json ? try jsonText(added) : nodeTable(added) + files.summary + "\n")
        }
    }
}

import ArgumentParser
import ProvisionerCore
import ProvisionerSite

extension Provisioner.Node {
    /// `provisioner node boot-next pxe HOSTLIST`.
    struct BootNext: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "boot-next",
            abstract: "Make the nodes' next boot (only the next) a network boot, through their BMCs."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var fanout: FanoutOptions
        @Argument(help: "pxe.") var device: String
        @Argument(help: "Hostnames, MACs or hostlists.") var keys: [String] = []

        func run() throws {
            guard device == "pxe" else { throw ProvisionerCore.ValidationError(field: "boot device", value: device, reason: "expected pxe") }
            try report(try global.site.bootNextPXE(keys, PowerOptions(parallel: fanout.parallel, timeout: fanout.timeout)), json: output.json)
        }
    }
}

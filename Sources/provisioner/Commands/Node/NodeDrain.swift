import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node drain HOSTLIST`.
    struct Drain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drain",
            abstract: "Take nodes out of placement: no new instance goes to them (running ones keep running).",
            discussion: "`image rollout` drains each batch itself; `node undrain` puts nodes back."
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Hostnames, MACs or hostlists such as 'n[001-032]'.") var keys: [String] = []

        func run() throws {
            let changed = try global.site.drain(keys, true)
            emit(changed.isEmpty ? "already drained\n" : "drained: \(changed.joined(separator: ", "))\n")
        }
    }
}

import ArgumentParser
import ProvisionerCore

extension Provisioner.Node {
    /// `provisioner node undrain HOSTLIST`.
    struct Undrain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "undrain",
            abstract: "Put drained nodes back into placement."
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Hostnames, MACs or hostlists such as 'n[001-032]'.") var keys: [String] = []

        func run() throws {
            let changed = try global.site.drain(keys, false)
            emit(changed.isEmpty ? "none of them was drained\n" : "undrained: \(changed.joined(separator: ", "))\n")
        }
    }
}

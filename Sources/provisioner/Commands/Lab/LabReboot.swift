import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerLab

extension Provisioner.Lab {
    /// `provisioner lab reboot NAME`: power-cycle one lab node.
    struct Reboot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reboot",
            abstract: "Power-cycle one lab node through its BMC (`node power cycle`): it boots again over PXE."
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Lab node hostname, e.g. lab1.") var name: String
        @Option(name: .long, help: ArgumentHelp("Memory of the node (a node without a BMC only; default: as it was booted).", valueName: "MiB")) var memory: Int?
        @Option(name: .long, help: "vCPUs of the node (a node without a BMC only; default: as it was booted).") var cpus: Int?

        func run() throws {
            let how = try VirtualLab(home: global.homeDir).reboot(name, memoryMiB: memory, cpus: cpus)
            emit("\(name) power-cycled (\(how)); watch it with `provisioner node show \(name) --home \(global.homeDir)`\n")
        }
    }
}

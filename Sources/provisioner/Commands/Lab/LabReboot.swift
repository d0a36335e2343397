import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerServices

extension Provisioner.Lab {
    /// `provisioner lab reboot NAME`: power-cycle one lab node.
    struct Reboot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reboot",
            abstract: "Power-cycle one lab node: it boots again over PXE, onto the active image generation."
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Lab node hostname, e.g. lab1.") var name: String
        @Option(name: .long, help: ArgumentHelp("Memory of the node.", valueName: "MiB")) var memory: Int = 1024
        @Option(name: .long, help: "vCPUs of the node.") var cpus: Int = 1

        func run() throws {
            let lab = ProvisionerServices.Lab(home: global.homeDir)
            guard lab.isUp(), var state = lab.state() else { throw CommandError("no lab is up in \(global.homeDir)") }
            guard let i = state.nodes.firstIndex(where: { $0.hostname == name }) else {
                throw CommandError("no lab node \(quoted(name)) (lab nodes: \(state.nodes.map(\.hostname).joined(separator: ", ")))")
            }
            let node = state.nodes[i]
            ProvisionerServices.Lab.stop(node.pid, grace: 3)
            let argv = lab.qemuArgv(mac: node.mac, tap: node.tap, serialLog: node.serialLog, memoryMiB: memory, cpus: cpus, name: node.hostname)
            // The serial log starts over, so it shows this boot only.
            FileManager.default.createFile(atPath: node.serialLog, contents: nil)
            state.nodes[i].pid = try lab.spawnInNamespace(argv, log: "\(lab.dir)/\(node.hostname).qemu.log")
            try lab.save(state)
            emit("\(name) power-cycled (QEMU pid \(state.nodes[i].pid)); watch it with `provisioner node show \(name) --home \(global.homeDir)`\n")
        }
    }
}

import ArgumentParser
import ProvisionerLab

extension Provisioner.Lab {
    /// `provisioner lab down`.
    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop the lab: QEMU nodes, serve and its daemons, the namespace.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let lab = VirtualLab(home: global.homeDir)
            let done = lab.down()
            if done.isEmpty { emit("no lab running in \(global.homeDir)\n") }
            for line in done { say(line) }
        }
    }
}

import ArgumentParser
import ProvisionerCore

extension Provisioner.Instance {
    /// `provisioner instance terminate ID`.
    struct Terminate: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "terminate", abstract: "Stop an instance (its node destroys the domain at the next heartbeat).")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Instance id, e.g. i-1a2b3c4d.") var id: String

        func run() throws {
            let rec = try global.openRegistry().terminateInstance(id, now: now())
            emit("\(rec.id) on \(rec.node ?? "?"): terminating\n")
        }
    }
}

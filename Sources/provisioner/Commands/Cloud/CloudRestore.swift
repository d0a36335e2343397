import ArgumentParser
import ProvisionerSite

extension Provisioner.Cloud {
    /// `provisioner cloud restore NAME`.
    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Restore an evacuated member: instances are placed there again, those it had come back."
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The member (the node's hostname).") var name: String

        func run() throws {
            try global.site.cloudMember(name, action: .restore)
            emit("\(name) restored\n")
        }
    }
}

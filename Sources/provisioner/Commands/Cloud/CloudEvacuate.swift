import ArgumentParser
import ProvisionerSite

extension Provisioner.Cloud {
    /// `provisioner cloud evacuate NAME`.
    struct Evacuate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "evacuate",
            abstract: "Evacuate a member before its node goes down for work: its instances move or stop, none are placed there."
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The member (the node's hostname).") var name: String

        func run() throws {
            try global.site.cloudMember(name, action: .evacuate)
            emit("\(name) evacuated\n")
        }
    }
}

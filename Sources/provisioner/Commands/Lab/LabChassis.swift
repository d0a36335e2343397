import ArgumentParser
import Foundation
import ProvisionerLab

extension Provisioner.Lab {
    /// `provisioner lab chassis NODE get|set …`: what a lab node's emulated
    /// BMC (ipmi_sim) runs for each chassis request; not for people.
    struct Chassis: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "chassis",
            abstract: "The chassis of a lab node's emulated BMC (run by ipmi_sim).",
            shouldDisplay: false
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Lab node hostname.") var name: String
        @Argument(parsing: .captureForPassthrough, help: "get power boot | set power 0|1 | set boot DEV …") var request: [String] = []

        func run() throws {
            emit(try VirtualLab(home: global.homeDir).chassis(name, request))
        }
    }
}

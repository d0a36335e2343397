import ArgumentParser
import Foundation
import ProvisionerCore

extension Provisioner.Image {
    /// `provisioner image activate GEN`: switch the generation nodes boot next.
    struct Activate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "activate",
            abstract: "Make a generation the one nodes boot (one atomic switch).",
            discussion: "Running nodes stay on the generation they booted until they reboot."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: ImageSelection
        @Argument(help: "Generation id, e.g. g2.") var generation: String

        func run() throws {
            let image = try selection.name(try global.loadConfig())
            let id = try GenerationID(parsing: generation)
            let boot = try global.site.activateImage(image, generation: id)
            emit("active generation of \(image): \(id)\n\(boot)\n")
        }
    }
}

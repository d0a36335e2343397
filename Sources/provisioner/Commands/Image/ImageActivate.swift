import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerServices

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

    /// `provisioner image rollback`: back to the generation active before.
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Switch back to the generation that was active before the last switch."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: ImageSelection

        func run() throws {
            let image = try selection.name(try global.loadConfig())
            let (from, to, boot) = try global.site.rollbackImage(image)
            emit("rolled back \(image): \(from.map(\.description) ?? "none") → \(to)\n\(boot)\n")
        }
    }

    /// `provisioner image rm GEN`.
    struct Rm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove a generation (never the active one, nor one a running node booted from)."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: ImageSelection
        @Argument(help: "Generation id, e.g. g1.") var generation: String

        func run() throws {
            let image = try selection.name(try global.loadConfig())
            let id = try GenerationID(parsing: generation)
            try global.site.removeImage(image, generation: id)
            emit("removed \(image) \(id)\n")
        }
    }
}

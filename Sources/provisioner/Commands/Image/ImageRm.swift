import ArgumentParser
import ProvisionerCore

extension Provisioner.Image {
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

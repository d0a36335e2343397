import ArgumentParser
import ProvisionerCore

extension Provisioner.Image {
    /// `provisioner image import FILE`.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Add a generation from an archive made by `image export`.",
            discussion: "It gets the next generation id of the image; --activate switches to it."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: ImageSelection
        @Argument(help: "Archive made by `provisioner image export`.") var file: String
        @Flag(name: .long, help: "Activate the imported generation.") var activate = false

        func run() throws {
            let image = try selection.name(try global.loadConfig())
            let (id, boot) = try global.site.importImage(image, from: file, activate: activate)
            emit("imported \(file) as \(image) \(id)\(activate ? " (active)" : "")\n")
            if let boot { emit(boot + "\n") }
        }
    }
}

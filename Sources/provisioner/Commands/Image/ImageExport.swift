import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerServices

extension Provisioner.Image {
    /// `provisioner image export GEN FILE`.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write a generation (root, kernel, initrd, meta) to a .tar.zst archive (libarchive)."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: ImageSelection
        @Argument(help: "Generation id.") var generation: String
        @Argument(help: "Archive to write, e.g. node-g3.tar.zst.") var file: String

        func run() throws {
            let image = try selection.name(try global.loadConfig())
            let id = try GenerationID(parsing: generation)
            let size = try global.site.exportImage(image, generation: id, to: file)
            emit("exported \(image) \(id) to \(file) (\(ImageList.size(size)))\n")
        }
    }

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

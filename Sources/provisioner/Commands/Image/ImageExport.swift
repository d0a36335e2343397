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
            let config = try global.loadConfig()
            let image = try selection.name(config)
            let id = try GenerationID(parsing: generation)
            let store = ImageStore(config: config, image: image)
            guard store.generations().ids.contains(id) else { throw NotFoundError("generation", id.description, message: "image \(image) has no generation \(id)") }
            try ImageArchive.pack(store.generationDir(id), to: file)
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            emit("exported \(image) \(id) to \(file) (\(ImageList.size(Int64(size))))\n")
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
            let config = try global.loadConfig()
            let image = try selection.name(config)
            guard FileManager.default.isReadableFile(atPath: file) else { throw CommandError("cannot read archive \(quoted(file))") }
            let id = try ImageStore(config: config, image: image).importArchive(file, activate: activate)
            emit("imported \(file) as \(image) \(id)\(activate ? " (active)" : "")\n")
            if activate { emit(try global.reapplyBootFiles(config) + "\n") }
        }
    }
}

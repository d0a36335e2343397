import ArgumentParser
import Foundation
import ProvisionerCore

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
}

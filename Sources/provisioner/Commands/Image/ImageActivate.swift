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
            let config = try global.loadConfig()
            let image = try selection.name(config)
            let id = try GenerationID(parsing: generation)
            let store = ImageStore(config: config, image: image)
            try store.withLock(wait: false) { try store.activate(id) }
            emit("active generation of \(image): \(id)\n")
            emit(try global.reapplyBootFiles(config) + "\n")
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
            let config = try global.loadConfig()
            let image = try selection.name(config)
            let store = ImageStore(config: config, image: image)
            let (from, to) = try store.withLock { () throws -> (GenerationID?, GenerationID) in
                let set = store.generations()
                let target = try set.rollbackTarget(image: image)
                try store.activate(target)
                return (set.active, target)
            }
            emit("rolled back \(image): \(from.map(\.description) ?? "none") → \(to)\n")
            emit(try global.reapplyBootFiles(config) + "\n")
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
            let config = try global.loadConfig()
            let image = try selection.name(config)
            let id = try GenerationID(parsing: generation)
            let store = ImageStore(config: config, image: image)
            let users = try global.openRegistry().nodesUsing(image: image, generation: id)
            try store.withLock {
                try store.generations().checkRemovable(id, image: image, inUseBy: users)
                try store.remove(id)
            }
            emit("removed \(image) \(id)\n")
        }
    }
}

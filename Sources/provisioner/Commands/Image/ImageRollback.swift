import ArgumentParser
import ProvisionerCore

extension Provisioner.Image {
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
}

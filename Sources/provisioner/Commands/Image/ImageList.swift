import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerImages

extension Provisioner.Image {
    /// `provisioner image list`: every generation of every image.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List image generations.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .long, help: ArgumentHelp("Only this image.", valueName: "NAME"))
        var image: String?

        struct Row: Encodable {
            var image: String
            var generation: String
            var created: String
            var size_bytes: Int64
            var kernel_version: String
            var package_count: Int
            var active: Bool
            var previous: Bool
        }

        func run() throws {
            let config = try global.loadConfig()
            let images = image.map { [$0] } ?? Array(Set(config.profiles.map(\.image))).sorted()
            var rows: [Row] = []
            for name in images {
                let store = ImageStore(config: config, image: name)
                let set = store.generations()
                for id in set.ids {
                    let m = try store.meta(id)
                    rows.append(Row(image: name, generation: id.description, created: m.created, size_bytes: m.sizeBytes,
                                    kernel_version: m.kernelVersion, package_count: m.packageCount,
                                    active: set.active == id, previous: set.previous == id))
                }
            }
            if output.json { emit(try jsonText(rows)); return }
            if rows.isEmpty { emit("no image generations; build one with `provisioner image build`\n"); return }
            emit(TextTable.render(
                header: ["IMAGE", "GEN", "ACTIVE", "CREATED", "SIZE", "KERNEL", "PACKAGES"],
                rows: rows.map { [$0.image, $0.generation, $0.active ? "*" : ($0.previous ? "previous" : ""), $0.created,
                                  ImageList.size($0.size_bytes), $0.kernel_version, String($0.package_count)] }))
        }
    }
}

enum ImageList {
    static func size(_ bytes: Int64) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) : String(format: "%.0f MiB", Double(bytes) / Double(1 << 20))
    }
}

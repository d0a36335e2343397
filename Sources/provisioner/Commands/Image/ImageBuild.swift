import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerSite

extension Provisioner.Image {
    /// `provisioner image build`: a new generation beside the live one.
    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "build",
            abstract: "Build a new generation of the node root with mmdebstrap.",
            discussion: """
                Packages come from rootfs/packages/*.list; rootfs/hooks and rootfs/overlay \
                customize the root (no /etc/hostname, empty machine-id, netboot initramfs, \
                read-only root with a per-node tmpfs overlay, node controller). The base \
                root is cached by the digest of what it is built from, so an unchanged \
                rebuild neither downloads nor reinstalls anything. The new generation is \
                activated unless --no-activate; the live one is untouched until then, and \
                a failed or killed build leaves nothing behind.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: ImageSelection
        @OptionGroup var output: OutputOptions

        @Flag(name: .customLong("no-activate"), help: "Build, but keep the active generation.")
        var noActivate = false
        @Flag(name: .customLong("no-cache"), help: "Install packages afresh instead of reusing a cached base root.")
        var noCache = false
        @Flag(name: .long, help: "No progress lines.")
        var quiet = false
        @Flag(name: .long, help: "Also print the output of mmdebstrap and the hooks.")
        var verbose = false
        @Option(name: .long, help: ArgumentHelp("The rootfs/ customization directory (env PROVISIONER_ROOTFS).", valueName: "DIR"))
        var rootfs: String?
        @Option(name: .customLong("node-controller"), help: ArgumentHelp("node-controller binary to install (env PROVISIONER_NODE_CONTROLLER).", valueName: "FILE"))
        var nodeController: String?
        @Option(name: .customLong("ssh-keys"), help: ArgumentHelp("authorized_keys for root; root login stays locked without it.", valueName: "FILE"))
        var sshKeys: String?

        func run() throws {
            let image = try selection.name(try global.loadConfig())
            let progress = buildProgress(quiet: quiet || output.json, verbose: verbose)
            let options = ImageBuildOptions(image: image, rootfs: rootfs, nodeController: nodeController, sshKeys: sshKeys,
                                            useCache: !noCache, activate: !noActivate)
            let (meta, boot) = try global.site.buildImage(options, now: now(), events: progress.handle)
            if output.json {
                emit(try jsonText(meta))
                return
            }
            emit("built \(image) \(meta.id): kernel \(meta.kernelVersion), \(meta.packageCount) packages, \(ImageList.size(meta.sizeBytes)), \(meta.buildSeconds) s\(meta.fromCache ? " (base root from cache)" : "")\n")
            emit(noActivate ? "not activated; `provisioner image activate \(meta.id)` switches to it\n" : "active generation: \(meta.id)\n")
            if let boot { emit(boot + "\n") }
        }
    }
}

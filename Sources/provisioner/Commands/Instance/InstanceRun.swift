import ArgumentParser
import ProvisionerCore
import ProvisionerSite

extension Provisioner.Instance {
    /// `provisioner instance run --type T`.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Place a new instance on a node with room.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .long, help: "VM type: \(VMType.defaults.map(\.name).joined(separator: ", ")).") var type: String
        @Option(name: .long, help: "Place it on this node.") var node: String?
        @Option(name: .long, help: ArgumentHelp("Kernel, a path on the node (default /vmlinuz, the image's own).", valueName: "PATH")) var kernel: String?
        @Option(name: .long, help: ArgumentHelp("Initrd, a path on the node (default /initrd.img).", valueName: "PATH")) var initrd: String?
        @Option(name: .long, help: ArgumentHelp("Kernel command line.", valueName: "ARGS")) var cmdline: String?
        @Option(name: .long, help: ArgumentHelp("Disk image, a path on the node (instead of a kernel).", valueName: "PATH")) var disk: String?

        func run() throws {
            var rng = SystemRandomNumberGenerator()
            let id = "i-" + lowercaseHex((0..<4).map { _ in UInt8.random(in: .min ... .max, using: &rng) })
            let request = InstanceRequest(type: type, node: node, kernel: kernel, initrd: initrd, cmdline: cmdline, disk: disk)
            let rec = try global.site.runInstance(request, id: id, now: now())
            emit(output.json ? try jsonText(rec) : "\(rec.id) (\(rec.type)) placed on \(rec.node ?? "?"); its node starts it at the next heartbeat\n")
        }
    }
}

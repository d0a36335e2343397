import ArgumentParser
import Foundation
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore

extension Provisioner {
    /// `provisioner instance …`: VM instances on the nodes.
    struct Instance: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "instance",
            abstract: "Run, list and terminate VM instances on the nodes.",
            discussion: """
                Placement is greedy first fit (Eucalyptus' SCHEDPOLICY=GREEDY): the ready \
                nodes in hostname order, the first with the type's cores and memory free \
                (its last report minus instances placed since) gets it. The node's \
                controller starts the libvirt domain at its next heartbeat and reports \
                its state; `instance list` shows it.
                """,
            subcommands: [Run.self, List.self, Terminate.self]
        )
    }
}

extension Provisioner.Instance {
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

        func validate() throws {
            if disk != nil && (kernel != nil || initrd != nil) { throw ValidationError("give --disk or --kernel/--initrd, not both") }
            for (flag, v) in [("--kernel", kernel), ("--initrd", initrd), ("--disk", disk)] {
                if let v, !v.hasPrefix("/") || v.contains("\n") { throw ValidationError("\(flag) must be an absolute path on the node, got \(quoted(v))") }
            }
        }

        func run() throws {
            guard let t = VMType.defaults.first(where: { $0.name == type }) else {
                throw ProvisionerCore.ValidationError(field: "VM type", value: type, reason: "expected one of \(VMType.defaults.map(\.name).joined(separator: ", "))")
            }
            var rng = SystemRandomNumberGenerator()
            let id = "i-" + (0..<4).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &rng)) }.joined()
            let spec = disk != nil
                ? InstanceSpec(id: id, vcpus: t.cpus, memoryMiB: t.memoryMiB, disk: disk)
                : InstanceSpec(id: id, vcpus: t.cpus, memoryMiB: t.memoryMiB, kernel: kernel ?? "/vmlinuz", initrd: initrd ?? "/initrd.img",
                               cmdline: cmdline ?? "console=ttyS0")
            let rec = try global.openRegistry().runInstance(id: id, type: t, spec: spec, only: node, now: now())
            emit(output.json ? try jsonText(rec) : "\(rec.id) (\(rec.type)) placed on \(rec.node ?? "?"); its node starts it at the next heartbeat\n")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List instances with their node and reported state.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let all = try global.openRegistry().instances()
            if output.json { emit(try jsonText(all)); return }
            if all.isEmpty { emit("no instances\n"); return }
            emit(TextTable.render(header: ["ID", "TYPE", "NODE", "STATE", "DESIRED", "VCPUS", "MEMORY MiB", "CREATED", "MESSAGE"],
                                  rows: all.map { [$0.id, $0.type, $0.node ?? "-", $0.state.rawValue, $0.desired.rawValue, String($0.vcpus), String($0.memoryMiB), $0.createdAt, $0.message ?? ""] }))
        }
    }

    struct Terminate: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "terminate", abstract: "Stop an instance (its node destroys the domain at the next heartbeat).")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Instance id, e.g. i-1a2b3c4d.") var id: String

        func run() throws {
            let rec = try global.openRegistry().terminateInstance(id, now: now())
            emit("\(rec.id) on \(rec.node ?? "?"): terminating\n")
        }
    }
}

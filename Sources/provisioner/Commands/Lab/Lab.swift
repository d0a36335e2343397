import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerServices
import ProvisionerStore

extension Provisioner {
    /// `provisioner lab …`: a virtual lab of diskless QEMU nodes on this machine.
    struct Lab: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lab",
            abstract: "Run a virtual lab of diskless nodes: namespaces, serve, QEMU nodes booting over PXE.",
            subcommands: [Up.self, Down.self, Reboot.self, Plug.self]
        )
    }
}

/// Runs this same binary with `args`, its output passed through to stderr as progress.
/// - Throws: `CommandError` with the step when it fails.
func runSelf(_ args: [String], step: String, quiet: Bool = false) throws {
    let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
    var tail: [String] = []
    let status = try ProcessRunner.stream(bin, args) { line in
        tail.append(line); if tail.count > 15 { tail.removeFirst() }
        if !quiet { FileHandle.standardError.write(Data("  \(line)\n".utf8)) }
    }
    if status != 0 { throw CommandError("lab: \(step) failed (status \(status)):\n" + tail.joined(separator: "\n")) }
}

func say(_ s: String) { FileHandle.standardError.write(Data("==> \(s)\n".utf8)) }

import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerLab
import ProvisionerStore

extension Provisioner {
    /// `provisioner lab …`: a virtual lab of diskless QEMU nodes on this machine.
    struct Lab: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lab",
            abstract: "Run a virtual lab of diskless nodes: namespaces, serve, QEMU nodes booting over PXE.",
            subcommands: [Up.self, Down.self, Reboot.self, Plug.self, Chassis.self]
        )
    }
}

/// A progress line on stderr.
func say(_ s: String) { FileHandle.standardError.write(Data("==> \(s)\n".utf8)) }

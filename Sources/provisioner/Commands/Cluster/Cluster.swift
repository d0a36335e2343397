import ArgumentParser
import Foundation

extension Provisioner {
    /// `provisioner cluster …`.
    struct Cluster: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cluster",
            abstract: "What the cluster can run.",
            subcommands: [Status.self]
        )
    }
}

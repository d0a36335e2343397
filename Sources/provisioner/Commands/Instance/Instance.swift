import ArgumentParser
import Foundation
import ProvisionerCore

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

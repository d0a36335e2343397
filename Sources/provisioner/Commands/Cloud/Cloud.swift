import ArgumentParser

extension Provisioner {
    /// `provisioner cloud …`.
    struct Cloud: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cloud",
            abstract: "The cloud the booted nodes join: an Incus cluster.",
            discussion: """
                Attach the site to an existing Incus cluster (`cloud attach`), or make this provisioning server its \
                first, persistent member (`cloud init`). From then on each node that enrolls is given a join token of \
                its own and its controller joins the node's incusd to the cluster; `cloud status` lists the members. \
                The provisioning server talks to the cluster over HTTPS with a client certificate of its own \
                (<home>/cloud/client.key, 0600) and accepts only the cluster certificate it pinned.
                """,
            subcommands: [Attach.self, Init.self, Status.self, JoinToken.self, Evacuate.self, Restore.self]
        )
    }
}

import ArgumentParser
import ProvisionerCore

extension Provisioner.Cloud {
    /// `provisioner cloud init`: this server's incusd becomes the cluster's first member.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Make this provisioning server's incusd the first, persistent member of a new Incus cluster.",
            discussion: """
                For a small site and the lab. Over the local incusd's socket (as root): it listens at --address, gets a \
                `dir` storage pool named default, becomes a cluster named after this boot server, and trusts a client \
                certificate made here; the site config then names it (cloud.engine, cloud.endpoint, cloud.fingerprint). \
                A daemon that is already a cluster member is taken as it is.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "The local incusd's socket.") var socket = "/var/lib/incus/unix.socket"
        @Option(help: "Where the member listens for the cluster and the API: ADDRESS:PORT (the node API has 8443 on the server's address).")
        var address: String
        @Option(help: "The member's name (default: boot_server.name, else this machine's hostname).") var name: String?

        func run() throws {
            let attached = try global.site.cloudInit(socket: socket, address: address, name: name)
            if output.json { emit(try jsonText(attached)); return }
            emit("this server's incusd is a member of the cluster at \(attached.endpoint) (certificate sha256 \(attached.fingerprint)); members: \(attached.members.joined(separator: ", "))\n")
        }
    }
}

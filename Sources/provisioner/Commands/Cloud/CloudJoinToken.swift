import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerSite

extension Provisioner.Cloud {
    /// `provisioner cloud join-token NAME --address IP:PORT`: what a machine needs to join, by hand.
    struct JoinToken: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "join-token",
            abstract: "Mint a join token for a member, as enrollment does for a booted node (for a machine joined by hand).",
            discussion: """
                The same rules as at enrollment: a member of that name that is OFFLINE is removed first, a live one \
                never is, and a member that keeps no state (--persist none) joins only a cluster with three online \
                database members that keep theirs. Prints the join (token, the cluster's address and certificate, \
                the member settings) as JSON for the machine's incusd (`PUT /1.0/cluster`).
                """
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The member's name.") var name: String
        @Option(help: "Where the member's incusd will listen: ADDRESS:PORT.") var address: String
        @Option(help: "Whether the member keeps its cluster state across restarts: disk or none.") var persist = "disk"

        func run() throws {
            _ = try Hostname(parsing: name)
            _ = try CloudSettings.endpoint("https://" + address, field: "address")
            guard ["disk", "none"].contains(persist) else { throw ValidationError(field: "persist", value: persist, reason: "expected disk or none") }
            let site = global.site
            let incus = try site.cloudClient(try site.loadConfig())
            // The same rule as at enrollment: members that are not the site's nodes keep their state, and its nodes as their profile says.
            let config = try site.loadConfig()
            let nodes = Dictionary(try site.openRegistry().nodes().map { ($0.hostname.value, $0) }, uniquingKeysWith: { a, _ in a })
            switch try Site.cloudJoin(incus, node: name, address: address, persistent: persist == "disk",
                                      persistentMembers: { Site.persistentMembers($0, node: { nodes[$0] }, config: config) }) {
            case .success(let minted): emit(try jsonText(minted.join))
            case .failure(let refusal): throw ConflictError("\(name) may not join the cloud now: \(refusal.description)")
            }
        }
    }
}

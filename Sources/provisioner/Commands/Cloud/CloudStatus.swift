import ArgumentParser
import ProvisionerCore

extension Provisioner.Cloud {
    /// `provisioner cloud status`: the cluster's members.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "The cloud's members: roles, status and capacity."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let members = try global.site.cloudStatus()
            if output.json { emit(try jsonText(members)); return }
            emit(TextTable.render(header: ["MEMBER", "STATUS", "ROLES", "CPUS", "MEMORY", "ADDRESS", "MESSAGE"],
                                  rows: members.map { m in
                                      [m.name, m.status, m.roles.joined(separator: ","), m.cpus.map(String.init) ?? "-",
                                       m.memoryBytes.map { "\($0 >> 20) MiB" } ?? "-", m.url, m.message]
                                  }))
        }
    }
}

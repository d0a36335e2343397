import ArgumentParser
import ProvisionerCore

extension Provisioner.Instance {
    /// `provisioner instance list`.
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
}

import ArgumentParser
import ProvisionerCore
import ProvisionerStore

extension Provisioner.Node {
    /// `provisioner node discovered`: machines that PXE-booted unregistered.
    struct Discovered: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "discovered",
            abstract: "List machines that PXE-booted with a MAC that is not registered.",
            discussion: "serve queues them from their DHCP request or iPXE script fetch. Register one with `provisioner node accept MAC`."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let machines = try global.openRegistry().discovered()
            if output.json { emit(try jsonText(machines)); return }
            if machines.isEmpty { emit("no machines waiting\n"); return }
            emit(TextTable.render(header: ["MAC", "IP", "FIRST SEEN", "LAST SEEN", "TIMES", "VIA"],
                                  rows: machines.map { [$0.mac, $0.ip ?? "-", $0.firstSeen, $0.lastSeen, String($0.seen), $0.via] }))
        }
    }
}

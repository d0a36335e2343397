import ArgumentParser

extension Provisioner.Cluster {
    /// `provisioner cluster status`: the cluster's `describe-availability-zones verbose`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Nodes with state, image, cores and memory used/max, hypervisor, last heartbeat; free/max per VM type."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let r = try global.site.clusterReport()
            emit(output.json ? try jsonText(r) : r.text)
        }
    }
}

import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerSite
import ProvisionerStore

extension Provisioner.Image {
    /// `provisioner image rollout [GEN]`: a generation across the nodes in batches.
    struct Rollout: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollout",
            abstract: "Roll a generation out across the image's nodes in batches, rolling back a batch that does not come back.",
            discussion: """
                Batch by batch: drain (no new instances; running ones terminated after --grace seconds, \
                or waited for with --wait), pin the batch to GEN, power-cycle it through its BMCs with \
                PXE next, wait until each node enrolls on GEN, then un-drain. A node that does not come \
                back within --timeout stops the rollout: its batch is put back on what it ran and \
                power-cycled again, and the other nodes are not touched. When every node of the image \
                is through, GEN becomes the active generation. With --nodes only those nodes move (a \
                canary): they stay pinned to GEN. Nodes pinned elsewhere, not running, or without a BMC \
                are left alone and listed. The state is in the registry after every step: --resume \
                continues a rollout whose command was killed, --abort stops it.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: ImageSelection
        @OptionGroup var output: OutputOptions
        @Argument(help: "Generation to roll out (default: the image's newest).") var generation: String?
        @Option(help: ArgumentHelp("Nodes per batch (default 1).", valueName: "N")) var batch: Int?
        @Option(help: ArgumentHelp("Percent of the nodes per batch.", valueName: "P")) var percent: Int?
        @Option(help: ArgumentHelp("Only these nodes (hostnames, MACs or hostlists, comma-separated); they stay pinned to the generation.", valueName: "HOSTLIST"))
        var nodes: String?
        @Option(help: ArgumentHelp("Seconds a power-cycled node has to enroll on the generation.", valueName: "S")) var timeout: Double = 600
        @Option(help: ArgumentHelp("Seconds running instances get before they are terminated.", valueName: "S")) var grace: Double = 30
        @Flag(help: "Wait for running instances to end instead of terminating them.") var wait = false
        @Option(name: .customLong("drain-timeout"), help: ArgumentHelp("Seconds a node has to drain before it is skipped.", valueName: "S")) var drainTimeout: Double = 300
        @Flag(name: .customLong("dry-run"), help: "Show the batches and what would happen; change nothing.") var dryRun = false
        @Flag(help: "Continue the image's running rollout.") var resume = false
        @Flag(help: "Stop the image's running rollout where it is.") var abort = false
        @Option(help: "BMC calls at once.") var parallel: Int = 16
        @Option(name: .customLong("bmc-timeout"), help: ArgumentHelp("Seconds allowed per BMC call.", valueName: "S")) var bmcTimeout: Double = 10

        func validate() throws {
            guard (1...256).contains(parallel), bmcTimeout > 0, bmcTimeout <= 600 else { throw ValidationError("--parallel must be 1 to 256, --bmc-timeout more than 0 and at most 600") }
            guard timeout > 0, grace >= 0, drainTimeout > 0 else { throw ValidationError("--timeout and --drain-timeout must be more than 0, --grace at least 0") }
            if resume || abort {
                guard !(resume && abort), generation == nil, batch == nil, percent == nil, nodes == nil, !dryRun else {
                    throw ValidationError("--resume and --abort take no generation, batching, --nodes or --dry-run (the rollout keeps its own)")
                }
            }
        }

        func run() throws {
            let site = global.site
            let image = try selection.name(try global.loadConfig())
            let power = PowerOptions(parallel: parallel, timeout: bmcTimeout, pxe: true)
            let start = Date()
            let say: (String) -> Void = { line in
                guard !output.json else { return }
                FileHandle.standardError.write(Data((String(format: "[%6.1fs] ", Date().timeIntervalSince(start)) + line + "\n").utf8))
            }
            if abort {
                let r = try site.abortRollout(image: image)
                return try show(r, "rollout \(r.id) aborted")
            }
            var result: ProvisionerCore.Rollout
            do {
                if resume {
                    result = try site.resumeRollout(image: image, power: power, say: say)
                } else {
                    let request = RolloutRequest(
                        image: image, target: try generation.map { try GenerationID(parsing: $0) },
                        batching: try RolloutBatching(batch: batch, percent: percent),
                        nodes: nodes.map { [$0] },
                        settings: RolloutSettings(timeout: timeout, grace: grace, waitForInstances: wait, drainTimeout: drainTimeout),
                        power: power)
                    if dryRun {
                        let plan = try site.planRollout(request, now: ProvisionerStore.Timestamp.iso(Date()))
                        return try show(plan, "dry run: nothing was changed")
                    }
                    result = try site.rollout(request, say: say)
                }
            } catch let failure as RolloutFailure {
                try show(failure.rollout, "")
                throw failure
            }
            try show(result, result.options.activate ? "\(image)/\(result.target) is the active generation"
                                                     : "the nodes above are pinned to \(result.target); the others stay where they are")
        }

        /// The rollout node by node, in batch order (a table, or JSON).
        func show(_ r: ProvisionerCore.Rollout, _ footer: String) throws {
            if output.json { return emit(try jsonText(r)) }
            var rows: [[String]] = []
            for (i, batch) in r.batches.enumerated() {
                for h in batch { rows.append([String(i + 1), h, r.nodes[h]?.state.rawValue ?? "", r.nodes[h]?.seconds.map { String(format: "%.0f s", $0) } ?? "", r.nodes[h]?.note ?? ""]) }
            }
            for (h, n) in r.nodes.sorted(by: { $0.key < $1.key }) where !r.batches.contains(where: { $0.contains(h) }) {
                rows.append(["-", h, n.state.rawValue, "", n.note ?? ""])
            }
            var text = "rollout \(r.id == 0 ? "(planned)" : String(r.id)) of \(r.image): \(r.previous.map { "\($0) → " } ?? "")\(r.target), \(r.id == 0 ? "not started" : r.status.rawValue)"
            text += r.batches.isEmpty ? "; no node to power-cycle\n" : "; \(r.batches.count) batch(es)\n"
            text += TextTable.render(header: ["BATCH", "NODE", "STATE", "TIME", "NOTE"], rows: rows)
            if let m = r.message { text += "\(m)\n" }
            if !footer.isEmpty { text += footer + "\n" }
            emit(text)
        }
    }
}

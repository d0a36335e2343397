import ArgumentParser
import ProvisionerCore
import ProvisionerBMC
import ProvisionerSite

extension Provisioner.Node {
    /// `provisioner node power ACTION HOSTLIST`.
    struct Power: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "power",
            abstract: "Power nodes on, off, cycle them or read their power state, through their BMCs.",
            discussion: """
                A node list is required (there is no all-nodes default). On and cycle set a one-time \
                PXE boot first (--no-pxe skips it). The BMCs are called --parallel at a time, each \
                with --timeout seconds and a quick reachability check first, so dead BMCs cost seconds. \
                Exit status: 0 when every node succeeded; else that of the first failure \
                (6 unreachable, 1 authentication failed, 4 action refused, 2 no or bad BMC settings).
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var fanout: FanoutOptions
        @Argument(help: "on, off, cycle or status.") var action: String
        @Argument(help: "Hostnames, MACs or hostlists such as 'n[001-032]'.") var keys: [String] = []
        @Flag(name: .customLong("no-pxe"), help: "Power on or cycle without setting a one-time PXE boot first.") var noPXE = false

        func run() throws {
            guard let kind = PowerAction(rawValue: action) else {
                throw ProvisionerCore.ValidationError(field: "action", value: action, reason: "expected on, off, cycle or status")
            }
            let results = try global.site.power(kind, keys, PowerOptions(parallel: fanout.parallel, timeout: fanout.timeout, pxe: !noPXE))
            try report(results, json: output.json)
        }
    }
}

struct FanoutOptions: ParsableArguments {
    @Option(help: "BMC calls at once.") var parallel: Int = 16
    @Option(help: ArgumentHelp("Seconds allowed per BMC call.", valueName: "S")) var timeout: Double = 10

    func validate() throws {
        guard (1...256).contains(parallel) else { throw ValidationError("--parallel must be 1 to 256") }
        guard timeout > 0, timeout <= 600 else { throw ValidationError("--timeout must be more than 0 and at most 600 seconds") }
    }
}

/// Prints a fan-out's results (a table, or JSON), then fails when any node failed.
func report(_ results: [PowerResult], json: Bool) throws {
    if json {
        emit(try jsonText(results))
    } else {
        emit(TextTable.render(header: ["NODE", "ACTION", "RESULT", "TIME"], rows: results.map { r in
            [r.node, r.action, r.ok ? (r.result ?? "") : "\(r.failure?.rawValue ?? "failed"): \(r.error ?? "")", String(format: "%.2f s", r.seconds)]
        }))
    }
    if let failures = PowerFailures(results) { throw failures }
}

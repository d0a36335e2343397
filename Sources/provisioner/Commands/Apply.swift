import ArgumentParser
import Foundation
import ProvisionerCore

extension Provisioner {
    /// `provisioner apply`: render → plan → validate → write changed files → reload.
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring the live boot configuration in line with the registry and the config.",
            discussion: """
                Renders everything in memory, shows the plan (+ added, ~ changed, - removed), \
                checks the dnsmasq config with `dnsmasq --test` and the exports syntax, then \
                writes only the changed files, each through a temp file and a rename, and \
                reloads only what read a changed file. Nothing is written when a check fails.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        @Flag(name: .customLong("dry-run"), help: "Print the plan and write nothing.")
        var dryRun = false

        struct JSONReport: Encodable {
            struct Entry: Encodable { var action: String; var path: String }
            var dry_run: Bool
            var changes: [Entry]
            /// Node directories created (dnsmasq watches them from its start).
            var directories: [String]
            var added: Int, changed: Int, removed: Int, unchanged: Int
            var warnings: [String]
            var actions: [String]
        }

        func run() throws {
            let outcome = try global.site.apply(dryRun: dryRun)
            let (plan, actions) = (outcome.plan, outcome.actions)
            if output.json {
                emit(try jsonText(JSONReport(
                    dry_run: dryRun, changes: plan.entries.map { .init(action: $0.kind.rawValue, path: $0.path) }, directories: plan.directories,
                    added: plan.count(.add), changed: plan.count(.change), removed: plan.count(.remove), unchanged: plan.unchanged,
                    warnings: plan.warnings, actions: actions)))
                return
            }
            for w in plan.warnings { FileHandle.standardError.write(Data("provisioner: warning: \(w)\n".utf8)) }
            emit(plan.text)
            for a in actions { emit(a + "\n") }
            emit(dryRun ? "dry run: nothing written\n" : plan.isEmpty ? "nothing to do\n" : "applied\n")
        }
    }
}

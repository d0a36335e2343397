import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerStore

extension Provisioner {
    /// `provisioner audit [--since TIME]`: who changed what.
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "Read the audit log: every change to the registry, when, and who made it.",
            discussion: """
                The actor is token:NAME for a change over the operator API (token:site for the site's own token), \
                cli:USER for the CLI on the server, serve for what serve does by itself. Tokens' values never appear.
                """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .long, help: ArgumentHelp("Only changes at or after this time (ISO 8601, e.g. 2026-12-07 or 2026-12-07T10:00:00Z).", valueName: "TIME"))
        var since: String?

        @Option(name: .long, help: ArgumentHelp("At most this many, the latest (default 100).", valueName: "N"))
        var limit = 100

        func run() throws {
            if let since, Self.parseSince(since) == nil {
                throw ValidationError(field: "since", value: since, reason: "expected an ISO 8601 date or time, e.g. 2026-12-07 or 2026-12-07T10:00:00Z")
            }
            guard limit > 0 else { throw ValidationError(field: "limit", value: String(limit), reason: "expected a positive number") }
            let entries = try global.site.audit(since: since.flatMap(Self.parseSince), limit: limit)
            if output.json { emit(try jsonText(entries)); return }
            if entries.isEmpty { emit("no changes recorded\(since.map { " since \($0)" } ?? "")\n"); return }
            emit(TextTable.render(header: ["AT", "ACTOR", "ACTION", "SUBJECT", "CHANGE"],
                                  rows: entries.map { [$0.at, $0.actor ?? "-", $0.action, $0.subject, Self.change($0)] }))
        }

        /// `since` as the registry's timestamps sort: with milliseconds, as serve
        /// writes them (`…:00.000Z` sorts before `…:00.123Z` and `…:00Z`); a date is its midnight UTC.
        static func parseSince(_ text: String) -> String? {
            if let date = try? Date.ISO8601FormatStyle().year().month().day().parse(text), text.count == 10 {
                return Timestamp.iso(date)
            }
            guard let date = Timestamp.parse(text) else { return nil }
            return Timestamp.iso(date)
        }

        /// What changed, in a table's width.
        static func change(_ e: AuditEntry) -> String {
            let text = [e.old.map { "was " + $0 }, e.new].compactMap { $0 }.joined(separator: " → ")
            return text.count > 80 ? String(text.prefix(77)) + "…" : (text.isEmpty ? "-" : text)
        }
    }
}

import ArgumentParser
import Foundation
import Synchronization
import ProvisionerCore
import ProvisionerSite
import ProvisionerStore

/// Where the provisioner keeps its config and registry; shared by every command.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("State directory (env PROVISIONER_HOME).", valueName: "DIR"))
    var home: String?

    @Option(name: .long, help: ArgumentHelp("Site config file (default DIR/provisioner.yaml).", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Templates directory (env PROVISIONER_TEMPLATES).", valueName: "DIR"))
    var templates: String?

    var homeDir: String {
        home ?? ProcessInfo.processInfo.environment["PROVISIONER_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? Site.defaultHome
    }

    /// The site these options name: the application layer every command calls.
    /// One per process for the same options, so a command's calls share the
    /// site's open registry.
    var site: Site { Self.sites.site(home: homeDir, configPath: config, templates: templates) }

    /// The sites this process has used.
    static let sites = Sites()

    func loadConfig() throws -> SiteConfig { try site.loadConfig() }
    func openRegistry() throws -> Registry { try site.openRegistry() }

    /// Node changes with their boot files; `skip` (`--no-apply`) changes the registry only.
    func nodeOperations(_ config: SiteConfig, skip: Bool) throws -> NodeOperations {
        try site.nodeOperations(config, registryOnly: skip)
    }
}

/// `--no-apply` for node commands.
struct ApplyOptions: ParsableArguments {
    @Flag(name: .customLong("no-apply"), help: "Change the registry only; leave boot files to the next `provisioner apply`.")
    var noApply = false
}

/// `--json` for scripts.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false
}

/// The current time as ISO 8601 UTC, the one clock read of a command.
func now() -> String {
    Date().formatted(.iso8601)
}

/// Encodes a value as pretty, key-sorted JSON, newline-terminated.
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
}

/// Writes to stdout without buffering surprises.
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// A PostgreSQL URL given on the command line as `@FILE` (read from a file
/// only root can read) or as the URL itself, which may then not hold a
/// password: the command line is visible to every user (`ps`, shell history).
/// - Throws: `ValidationError` on `option`, never echoing a password.
func registryURLArgument(_ given: String, option: String) throws -> String {
    if given.hasPrefix("@") {
        let path = String(given.dropFirst())
        var st = stat()
        guard stat(path, &st) == 0, let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError(field: option, value: given, reason: "no readable file \(path)")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw ValidationError(field: option, value: given, reason: "\(path) is readable by others (it may hold a password): chmod 600 it")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    if (try? PostgresLocation(url: given))?.password != nil {
        throw ValidationError(field: option, value: PostgresLocation.redacted(given),
                              reason: "a password on the command line is visible to every user (ps, shell history): put the URL in a 0600 file and pass --\(option) @FILE")
    }
    return given
}

/// Reads a whole file named on the command line.
func readInputFile(_ path: String, what: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CommandError("cannot read \(what) \(quoted(path))")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw CommandError("\(what) \(quoted(path)) is not UTF-8 text")
    }
    return text
}

extension Node {
    static let tableHeader = ["HOSTNAME", "MAC", "IP", "PROFILE", "STATE"]
    var tableRow: [String] { [hostname.value, mac?.description ?? "-", ip.description, profile.value, state.rawValue] }
}

func nodeTable(_ nodes: [Node]) -> String {
    TextTable.render(header: Node.tableHeader, rows: nodes.map(\.tableRow))
}

/// The sites a CLI process uses, one per home, config and templates.
final class Sites: Sendable {
    private let made = Mutex<[String: Site]>([:])

    func site(home: String, configPath: String?, templates: String?) -> Site {
        made.withLock { made in
            let key = [home, configPath ?? "", templates ?? ""].joined(separator: "\u{0}")
            if let site = made[key] { return site }
            let site = Site(home: home, configPath: configPath, templates: templates)
            made[key] = site
            return site
        }
    }
}

/// One line to standard error, as a warning (the command goes on).
func warn(_ text: String) {
    FileHandle.standardError.write(Data("provisioner: \(text)\n".utf8))
}

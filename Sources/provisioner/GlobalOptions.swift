import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerServices
import ProvisionerStore

/// Where the provisioner keeps its config and registry; shared by every command.
struct GlobalOptions: ParsableArguments {
    static let defaultHome = "/var/lib/provisioner"

    @Option(name: .long, help: ArgumentHelp("State directory (env PROVISIONER_HOME).", valueName: "DIR"))
    var home: String?

    @Option(name: .long, help: ArgumentHelp("Site config file (default DIR/provisioner.yaml).", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Templates directory (env PROVISIONER_TEMPLATES).", valueName: "DIR"))
    var templates: String?

    var homeDir: String {
        home ?? ProcessInfo.processInfo.environment["PROVISIONER_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultHome
    }

    var configPath: String { config ?? homeDir + "/provisioner.yaml" }
    var registryPath: String { homeDir + "/registry.sqlite" }

    /// - Throws: `CommandError` when the file is missing or unreadable, or the
    ///   config's own error prefixed with the file name.
    func loadConfig() throws -> SiteConfig {
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw CommandError("no site config at \(configPath); run `provisioner init --home \(homeDir)` first")
        }
        do {
            return try SiteConfig(yaml: String(decoding: data, as: UTF8.self))
        } catch let error as OperatorFacingError {
            throw CommandError("\(configPath): \(error.operatorMessage)")
        }
    }

    /// Opens the registry of an initialized home.
    func openRegistry() throws -> Registry {
        guard FileManager.default.fileExists(atPath: registryPath) else {
            throw CommandError("no registry at \(registryPath); run `provisioner init --home \(homeDir)` first")
        }
        return try Registry(path: registryPath)
    }
}

extension GlobalOptions {
    /// The apply pipeline for this site, with its templates loaded.
    func applier(_ config: SiteConfig, only names: [TemplateName]? = nil) throws -> Applier {
        guard let dir = TemplateLoader.locate(explicit: templates) else {
            throw CommandError("no templates directory found; pass --templates DIR or set PROVISIONER_TEMPLATES")
        }
        return Applier(config: config, templates: try names.map { try TemplateLoader.load(dir, only: $0) } ?? TemplateLoader.load(dir))
    }

    /// Everything a render reads, from the config, the registry and the images.
    func bootSite(_ config: SiteConfig, _ registry: Registry) throws -> BootSite {
        BootSite(config: config, nodes: try registry.nodes(), generations: Generations.active(config), secret: try clusterSecret())
    }

    var secretPath: String { homeDir + "/cluster.secret" }

    /// The cluster secret behind the per-node enrollment tokens: 32 random
    /// bytes in `<home>/cluster.secret` (0600), made on first use.
    func clusterSecret() throws -> [UInt8] {
        try ClusterSecret.load(path: secretPath)
    }

    var apiTokenPath: String { homeDir + "/api.token" }

    /// The bearer token of serve's write API: another 32 random bytes, as hex,
    /// in `<home>/api.token` (0600), made on first use.
    func apiToken() throws -> String {
        try ClusterSecret.load(path: apiTokenPath).map { String(format: "%02x", $0) }.joined()
    }
}

extension GlobalOptions {
    /// Node changes with their boot files, once the site is applied (see
    /// `NodeOperations`); `skip` (`--no-apply`) changes the registry only.
    /// Templates are loaded only when there is a live site to write into.
    func nodeOperations(_ config: SiteConfig, skip: Bool) throws -> NodeOperations {
        let applied = !skip && Applier.isApplied(config)
        return NodeOperations(registry: try openRegistry(), config: config,
                              applier: applied ? try applier(config, only: Renderer.nodeTemplates) : nil, secret: applied ? try clusterSecret() : nil)
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

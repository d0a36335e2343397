import Foundation
import Synchronization
import ProvisionerCore
import ProvisionerStore
import ProvisionerBoot
import ProvisionerPlatform

/// The application layer: one site, opened from its home directory, and the
/// use cases on it. The CLI, serve's HTTP API, the lab and the tests all call
/// these; none of them holds domain logic of its own.
public struct Site: Sendable {
    /// The home of an installed appliance (FHS paths for rendered files).
    public static let defaultHome = "/var/lib/provisioner"

    /// The state directory: site config, registry, secrets.
    public let home: String
    /// The site config file.
    public let configPath: String
    /// The templates directory given explicitly (else `TemplateLoader.locate` finds one).
    public let templatesDir: String?
    /// The registries opened so far, shared by the copies of this site.
    private let registries = OpenRegistries()

    public init(home: String, configPath: String? = nil, templates: String? = nil) {
        self.home = home
        self.configPath = configPath ?? home + "/provisioner.yaml"
        self.templatesDir = templates
    }

    public var registryPath: String { home + "/registry.sqlite" }
    /// Where the URL of a PostgreSQL registry is kept (0600: it may hold a password).
    /// When the file exists, the site's registry is that database, not `registryPath`.
    public var registryURLPath: String { home + "/registry.url" }

    /// The PostgreSQL registry's URL, when the site uses one.
    /// - Throws: `ValidationError` when the file holds no valid URL.
    public func registryURL() throws -> String? {
        guard let data = FileSystem.read(registryURLPath) else { return nil }
        let url = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try PostgresLocation(url: url)
        return url
    }

    /// The registry as the operator may see it: the SQLite path, or the URL without its password.
    public func registryDescription() -> String {
        guard let url = try? registryURL() else { return registryPath }
        return (try? PostgresLocation(url: url).description) ?? PostgresLocation.redacted(url)
    }
    public var apiTokenPath: String { home + "/api.token" }

    /// The site config.
    /// - Throws: `SystemError` when the file is missing, or the config's own
    ///   error (`ConfigSyntaxError`, `ValidationError`) prefixed with the file name.
    public func loadConfig() throws -> SiteConfig {
        guard let data = FileSystem.read(configPath) else {
            throw SystemError("no site config at \(configPath); run `provisioner init --home \(home)` first")
        }
        var config: SiteConfig
        do {
            config = try SiteConfig(yaml: String(decoding: data, as: UTF8.self))
        } catch {
            throw ConfigSyntaxError(message: "\(configPath): \(error)")
        }
        config.siteCA = tls.caFingerprint()
        return config
    }

    /// The site's TLS material (`<home>/tls`): the site CA, this boot server's certificate.
    public var tls: SiteTLS { SiteTLS(dir: home + "/tls") }

    /// Opens the registry of an initialized home.
    /// - Parameter relaxedSync: see `Registry.init(path:relaxedSync:)` (serve's run-time status).
    /// - Throws: `SystemError` when the home has no registry, `RegistryError` when it cannot be opened.
    /// - Parameter connectLater: a PostgreSQL registry connects on its first call instead of now.
    /// The same registry comes back on every call with the same options, so a
    /// use case and the ones it calls share one connection (a PostgreSQL
    /// session, a SQLite handle) instead of opening one each.
    public func openRegistry(relaxedSync: Bool = false, connectLater: Bool = false) throws -> Registry {
        if let url = try registryURL() {
            return try registries.get("postgres \(url) \(connectLater)") { try PostgresRegistry(url: url, connectNow: !connectLater) }
        }
        guard FileManager.default.fileExists(atPath: registryPath) else {
            throw SystemError("no registry at \(registryPath); run `provisioner init --home \(home)` first")
        }
        // The file's identity is part of the key: a registry file replaced under the same path is opened anew.
        var st = stat()
        let identity = stat(registryPath, &st) == 0 ? "\(st.st_dev):\(st.st_ino)" : "?"
        return try registries.get("sqlite \(registryPath) \(identity) \(relaxedSync)") { try SQLiteRegistry(path: registryPath, relaxedSync: relaxedSync) }
    }

    /// The apply pipeline for this site, with its templates (or only `names`) loaded.
    public func applier(_ config: SiteConfig, only names: [TemplateName]? = nil) throws -> Applier {
        guard let dir = TemplateLoader.locate(explicit: templatesDir) else {
            throw SystemError("no templates directory found; pass --templates DIR or set PROVISIONER_TEMPLATES")
        }
        return Applier(config: config, templates: try names.map { try TemplateLoader.load(dir, only: $0) } ?? TemplateLoader.load(dir))
    }

    /// Everything a render reads, from the config, the registry and the images.
    public func bootSite(_ config: SiteConfig, _ registry: Registry) throws -> BootSite {
        BootSite(config: config, nodes: try registry.nodes(), generations: Generations.active(config))
    }

    /// The bearer token of serve's write API: 32 random bytes as hex in
    /// `<home>/api.token` (0600), made on first use.
    public func apiToken() throws -> String {
        lowercaseHex(try SecretFile.load(path: apiTokenPath))
    }

    /// Node changes with their boot files, once the site is applied (see
    /// `NodeOperations`); `registryOnly` (`--no-apply`) changes the registry
    /// only. Templates are loaded only when there is a live site to write into.
    public func nodeOperations(_ config: SiteConfig, registryOnly: Bool = false) throws -> NodeOperations {
        let applied = !registryOnly && Applier.isApplied(config)
        return NodeOperations(registry: try openRegistry(), config: config,
                              applier: applied ? try applier(config, only: Renderer.nodeTemplates) : nil)
    }
}

/// The registries a site has opened, by how they were opened.
final class OpenRegistries: Sendable {
    private let open = Mutex<[String: any Registry]>([:])

    /// The registry opened as `key`, opened by `make` the first time (under
    /// the lock: two first calls share one connection; a site opens few).
    func get(_ key: String, _ make: () throws -> any Registry) throws -> any Registry {
        try open.withLock { open in
            if let registry = open[key] { return registry }
            let registry = try make()
            open[key] = registry
            return registry
        }
    }
}

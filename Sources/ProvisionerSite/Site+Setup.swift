import Foundation
import ProvisionerCore
import ProvisionerStore
import ProvisionerBoot
import ProvisionerPlatform

/// A new site: what `provisioner init` asks for.
public struct SiteSetup: Sendable {
    public var interface: String
    public var serverIP: String
    public var subnet: String
    public var dhcpRange: String
    /// nil: the mirror apt uses on this host.
    public var mirror: String?
    /// Replace an existing config.
    public var force: Bool
    /// A PostgreSQL registry's URL (nil: the embedded SQLite registry).
    public var registry: String?
    /// This boot server's name and role (`boot_server:`), when given.
    public var serverName: String?
    public var role: String?

    public init(interface: String, serverIP: String, subnet: String, dhcpRange: String, mirror: String? = nil, force: Bool = false, registry: String? = nil,
                serverName: String? = nil, role: String? = nil) {
        self.registry = registry
        self.serverName = serverName
        self.role = role
        self.interface = interface
        self.serverIP = serverIP
        self.subnet = subnet
        self.dhcpRange = dhcpRange
        self.mirror = mirror
        self.force = force
    }
}

extension Site {
    /// Writes the site config (with its comments) and creates the registry.
    /// - Throws: `ConflictError` when a config exists (and not `force`),
    ///   `ValidationError` for a bad value, `SystemError` when no mirror is known or the home cannot be made.
    /// - Returns: the registry's node count (an existing registry is kept).
    @discardableResult
    public func initialize(_ setup: SiteSetup) throws -> Int {
        if let url = setup.registry { _ = try PostgresLocation(url: url) }
        if let name = setup.serverName {
            do throws(ValidationError) { _ = try Hostname(parsing: name) } catch { throw ValidationError(field: "server name", value: name, reason: error.reason) }
        }
        if let role = setup.role, BootServerRole(rawValue: role) == nil {
            throw ValidationError(field: "role", value: role, reason: "expected primary or secondary")
        }
        if FileManager.default.fileExists(atPath: configPath) && !setup.force {
            throw ConflictError("\(configPath) exists already; edit it, or pass --force to write a new one")
        }
        guard let mirror = setup.mirror ?? Self.hostAptMirror() else {
            throw SystemError("no Debian mirror found in /etc/apt; pass --mirror URL")
        }
        let fhs = home == Self.defaultHome
        var defaults = SiteDefaults(
            interface: setup.interface, serverIP: setup.serverIP, subnet: setup.subnet, dhcpRange: setup.dhcpRange, mirror: mirror,
            tftpRoot: fhs ? "/srv/tftp" : home + "/tftp",
            httpRoot: fhs ? "/srv/provisioner/http" : home + "/http",
            imagesDir: home + "/images", home: home, systemRoot: fhs ? "" : home)
        defaults.bootServerName = setup.serverName
        defaults.bootServerRole = setup.role
        let text = try SiteConfig.defaultYAML(defaults)
        do {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let configDir = (configPath as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: configDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw SystemError("creating \(home): \(error.localizedDescription)")
        }
        if let url = setup.registry {
            // The database first: a URL that does not connect writes nothing.
            let registry = try PostgresRegistry(url: url)
            try FileSystem.writeAtomically(text, to: configPath, mode: 0o644)
            try FileSystem.writeAtomically(url + "\n", to: registryURLPath, mode: 0o600)
            try ensureSiteCA(serverName: setup.serverName)
            return try registry.count()
        }
        try FileSystem.writeAtomically(text, to: configPath, mode: 0o644)
        try ensureSiteCA(serverName: setup.serverName)
        let registry = try SQLiteRegistry(path: registryPath)
        chmod(registryPath, 0o600)
        return try registry.count()
    }

    /// Makes the site CA (`<home>/tls`) when there is none: the boot files
    /// give nodes its fingerprint, so it exists before anything is rendered.
    /// An existing CA is kept (`init --force` included).
    /// - Throws: `SystemError` when it cannot be written.
    public func ensureSiteCA(serverName: String?) throws {
        try tls.ensureCA(site: serverName ?? Self.machineName())
    }

    /// The first label of the machine's hostname: a boot server's name when its config gives none.
    public static func machineName() -> String {
        String(ProcessInfo.processInfo.hostName.split(separator: ".").first ?? "boot-server")
    }

    /// Copies the site's SQLite registry into the (empty) PostgreSQL database
    /// at `url`, all or nothing, and makes that database the site's registry.
    /// The SQLite file is left as it was, unused.
    /// - Throws: `ConflictError` when the site uses PostgreSQL already or the
    ///   database is not empty; `RegistryError` when it cannot be reached.
    /// - Returns: the rows copied, per table.
    public func migrateRegistry(to url: String) throws -> [(table: String, rows: Int)] {
        _ = try PostgresLocation(url: url)
        if let current = try registryURL() {
            throw ConflictError("the site's registry is PostgreSQL already (\(PostgresLocation.redacted(current)))")
        }
        guard FileManager.default.fileExists(atPath: registryPath) else {
            throw SystemError("no registry at \(registryPath); run `provisioner init --home \(home)` first")
        }
        let counts = try PostgresRegistry(url: url).copyAll(from: try SQLiteRegistry(path: registryPath))
        try FileSystem.writeAtomically(url + "\n", to: registryURLPath, mode: 0o600)
        return counts
    }

    /// Sets one value of the site config (`discovery.mode`, `paths.cache`)
    /// and writes the file back with its comments (`SiteConfigEditor`).
    /// - Returns: whether the file changed.
    /// - Throws: `ConfigSyntaxError` when the value cannot be placed or is not valid.
    @discardableResult
    public func setConfigValue(_ keyPath: String, to value: String) throws -> Bool {
        try editConfig { try SiteConfigEditor.set(keyPath, to: value, in: $0) }
    }

    /// The same with a list of strings (`profiles.NAME.kernel_args`).
    @discardableResult
    public func setConfigValue(_ keyPath: String, toList values: [String]) throws -> Bool {
        try editConfig { try SiteConfigEditor.set(keyPath, toList: values, in: $0) }
    }

    private func editConfig(_ edit: (String) throws -> String) throws -> Bool {
        guard let data = FileSystem.read(configPath) else { throw SystemError("no site config at \(configPath)") }
        let text = String(decoding: data, as: UTF8.self)
        let edited: String
        do { edited = try edit(text) } catch {
            throw ConfigSyntaxError(message: "\(configPath): \(error)")
        }
        guard edited != text else { return false }
        try FileSystem.writeAtomically(edited, to: configPath, mode: 0o644)
        return true
    }

    /// The first Debian mirror URI that apt on this host uses, if any.
    public static func hostAptMirror() -> String? {
        if let text = try? String(contentsOfFile: "/etc/apt/sources.list.d/debian.sources", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("URIs:") {
                if let uri = line.dropFirst(5).split(separator: " ").first { return String(uri) }
            }
        }
        if let text = try? String(contentsOfFile: "/etc/apt/sources.list", encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                if words.first == "deb", let uri = words.dropFirst().first(where: { !$0.hasPrefix("[") }) { return String(uri) }
            }
        }
        return nil
    }
}

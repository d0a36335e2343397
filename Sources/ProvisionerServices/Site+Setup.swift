import Foundation
import ProvisionerCore
import ProvisionerStore

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

    public init(interface: String, serverIP: String, subnet: String, dhcpRange: String, mirror: String? = nil, force: Bool = false) {
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
        if FileManager.default.fileExists(atPath: configPath) && !setup.force {
            throw ConflictError("\(configPath) exists already; edit it, or pass --force to write a new one")
        }
        guard let mirror = setup.mirror ?? Self.hostAptMirror() else {
            throw SystemError("no Debian mirror found in /etc/apt; pass --mirror URL")
        }
        let fhs = home == Self.defaultHome
        let defaults = SiteDefaults(
            interface: setup.interface, serverIP: setup.serverIP, subnet: setup.subnet, dhcpRange: setup.dhcpRange, mirror: mirror,
            tftpRoot: fhs ? "/srv/tftp" : home + "/tftp",
            httpRoot: fhs ? "/srv/provisioner/http" : home + "/http",
            imagesDir: home + "/images", home: home, systemRoot: fhs ? "" : home)
        let text = try SiteConfig.defaultYAML(defaults)
        do {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let configDir = (configPath as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: configDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw SystemError("creating \(home): \(error.localizedDescription)")
        }
        try FileSystem.writeAtomically(text, to: configPath, mode: 0o644)
        let registry = try SQLiteRegistry(path: registryPath)
        chmod(registryPath, 0o600)
        return try registry.count()
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

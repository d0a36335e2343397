import ArgumentParser
import Foundation
import ProvisionerCore
import ProvisionerServices
import ProvisionerStore

extension Provisioner {
    /// `provisioner init`: writes a commented, valid site config and creates the registry.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create the state directory, a commented provisioner.yaml and the registry."
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: "Interface on the node network.")
        var interface = "eth1"

        @Option(name: .customLong("server-ip"), help: "This server's address on the node network.")
        var serverIP = "10.0.0.1"

        @Option(help: "The node network, in CIDR form.")
        var subnet = "10.0.0.0/24"

        @Option(name: .customLong("dhcp-range"), help: ArgumentHelp("Dynamic range for unknown machines.", valueName: "FIRST-LAST"))
        var dhcpRange = "10.0.0.200-10.0.0.250"

        @Option(help: "Debian mirror for node images (default: the one apt uses on this host).")
        var mirror: String?

        @Flag(help: "Overwrite an existing provisioner.yaml.")
        var force = false

        func run() throws {
            let home = global.homeDir
            let configPath = global.configPath
            if FileManager.default.fileExists(atPath: configPath) && !force {
                throw CommandError("\(configPath) exists already; edit it, or pass --force to write a new one")
            }
            guard let mirror = mirror ?? hostAptMirror() else {
                throw CommandError("no Debian mirror found in /etc/apt; pass --mirror URL")
            }
            let fhs = home == Site.defaultHome
            let defaults = SiteDefaults(
                interface: interface, serverIP: serverIP, subnet: subnet, dhcpRange: dhcpRange, mirror: mirror,
                tftpRoot: fhs ? "/srv/tftp" : home + "/tftp",
                httpRoot: fhs ? "/srv/provisioner/http" : home + "/http",
                imagesDir: home + "/images", home: home, systemRoot: fhs ? "" : home)
            let text = try SiteConfig.defaultYAML(defaults)
            do {
                try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                let configDir = (configPath as NSString).deletingLastPathComponent
                try FileManager.default.createDirectory(atPath: configDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            } catch {
                throw CommandError("creating \(home): \(error.localizedDescription)")
            }
            try FileSystem.writeAtomically(text, to: configPath, mode: 0o644)
            let registry = try SQLiteRegistry(path: global.registryPath)
            chmod(global.registryPath, 0o600)
            emit("""
                wrote \(configPath)
                registry \(registry.path) (\(try registry.count()) nodes)
                next: edit the config, then `provisioner node add NAME --mac MAC`

                """)
        }
    }
}

/// The first Debian mirror URI that apt on this host uses, if any.
func hostAptMirror() -> String? {
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

import Foundation
import Testing
import ProvisionerCore
import ProvisionerPlatform

// Fixtures that several test targets share: the source tree, temporary
// directories and sites, nodes.

/// The repository root, found from this file.
public let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The templates of the source tree.
public func loadTemplates() throws -> Templates { try TemplateLoader.load(repoRoot + "/templates") }

public func node(_ host: String, _ mac: String?, _ ip: String, profile: String = "default") throws -> Node {
    Node(hostname: try Hostname(parsing: host), mac: try mac.map { try MACAddress(parsing: $0) }, ip: try IPv4Address(parsing: ip),
         profile: try ProfileName(parsing: profile), state: mac == nil ? .discoverable : .registered, createdAt: "t", updatedAt: "t")
}

public func makeTempDir(_ label: String) throws -> String {
    let dir = NSTemporaryDirectory() + "provisioner-\(label)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A self-contained site under a temp directory: every path in the config is inside it.
public func tempSiteConfig(_ root: String, extra: String = "", mode: String = "authoritative") throws -> SiteConfig {
    try SiteConfig(yaml: """
        interface: pv0
        server_ip: 10.0.0.1
        subnet: 10.0.0.0/24
        dhcp:
          mode: \(mode)
          range: 10.0.0.200-10.0.0.250
        \(extra)
        paths:
          tftp_root: \(root)/tftp
          http_root: \(root)/http
          images: \(root)/images
          dnsmasq_dir: \(root)/etc/dnsmasq.d
          hosts_dir: \(root)/dhcp-hosts
          exports_dir: \(root)/etc/exports.d
          ganesha_config: \(root)/etc/ganesha/provisioner.conf
          run_dir: \(root)/run
        debian:
          mirror: http://mirror.example/debian
        profiles:
          default:
            image: default
        """)
}

/// Every regular file under `dir`, relative path → bytes.
public func snapshot(_ dir: String) -> [String: Data] {
    var out: [String: Data] = [:]
    let e = FileManager.default.enumerator(atPath: dir)
    while let rel = e?.nextObject() as? String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
            out[rel] = FileManager.default.contents(atPath: dir + "/" + rel)
        }
    }
    return out
}

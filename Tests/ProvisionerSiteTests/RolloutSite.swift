import Foundation
import ProvisionerCore
import TestSupport
@testable import ProvisionerImages
@testable import ProvisionerPlatform
@testable import ProvisionerSite

/// The site both rollout suites start from: initialized in a temporary home,
/// image default with generations g1 (active) and g2, nodes n1..n4 registered
/// (none enrolled yet), and a 0600 BMC password file.
struct RolloutSite {
    let home: String
    let site: Site
    let config: SiteConfig
    let passwordFile: String
    static let g1 = GenerationID(number: 1), g2 = GenerationID(number: 2)

    init(_ label: String, now: String) throws {
        home = try makeTempDir(label)
        site = Site(home: home, templates: repoRoot + "/templates")
        _ = try site.initialize(SiteSetup(interface: "pv0", serverIP: "10.0.0.1", subnet: "10.0.0.0/24", dhcpRange: "10.0.0.200-10.0.0.250",
                                          mirror: "http://mirror.example/debian"))
        config = try site.loadConfig()
        let store = ImageStore(config: config, image: "default")
        for id in [Self.g1, Self.g2] { try FakeGeneration.write(store, id, files: ["etc/os-release": "ID=debian\n"], initrd: FakeGeneration.goodInitrd) }
        try store.activate(Self.g1)
        _ = try site.nodeOperations(config, registryOnly: true)
            .add((1...4).map { i in NodeSpec(hostname: try! Hostname(parsing: "n\(i)"), mac: try! MACAddress(parsing: "02:00:00:00:00:0\(i)")) }, now: now)
        passwordFile = home + "/bmc.pass"
        try FileSystem.writeAtomically("secret\n", to: passwordFile, mode: 0o600)
    }
}

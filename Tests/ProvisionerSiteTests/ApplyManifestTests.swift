import Foundation
import ProvisionerCore
import ProvisionerStore
import Testing
import TestSupport
@testable import ProvisionerBoot
@testable import ProvisionerPlatform
@testable import ProvisionerSite

/// `apply` with nothing to change answers from its manifest; anything that
/// changed behind it (a file edited, removed or added, a node, the config)
/// still gets the full comparison and is put right.
@Suite struct ApplyManifestTests {
    let home: String
    let site: Site

    init() throws {
        home = try makeTempDir("manifest")
        site = Site(home: home, templates: repoRoot + "/templates")
        _ = try site.initialize(SiteSetup(interface: "pv0", serverIP: "10.0.0.1", subnet: "10.0.0.0/24", dhcpRange: "10.0.0.200-10.0.0.250",
                                          mirror: "http://mirror.example/debian"))
        _ = try site.nodeOperations(try site.loadConfig(), registryOnly: true)
            .add((1...3).map { NodeSpec(hostname: try! Hostname(parsing: "n\($0)"), mac: try! MACAddress(parsing: "02:00:00:00:00:0\($0)")) }, now: "t0")
    }

    var config: SiteConfig { get throws { try site.loadConfig() } }

    @Test func anUnchangedSiteIsAnsweredFromTheManifest() throws {
        let first = try site.apply()
        #expect(first.plan.count(.add) > 10)
        let manifest = try #require(ApplyManifest.load(try config))
        #expect(Set(manifest.files.map(\.path)) == Set(first.plan.wanted), "every file the render wants is recorded")
        let again = try site.apply()
        #expect(again.plan.isEmpty && again.plan.unchanged == manifest.files.count)
        #expect(again.plan.warnings == first.plan.warnings, "the render's warnings are said again")
    }

    @Test func whatChangedBehindItIsPutRight() throws {
        _ = try site.apply()
        let c = try config
        let host = c.hostsDir + "/n1.conf"
        let original = try #require(FileSystem.read(host))
        // Edited in place with the same size: the metadata (mtime) differs.
        try Data(String(decoding: original, as: UTF8.self).replacingOccurrences(of: "n1", with: "x1").utf8).write(to: URL(fileURLWithPath: host))
        var r = try site.apply()
        #expect(r.plan.entries.map(\.path) == [host] && FileSystem.read(host) == original)
        // Removed.
        try FileManager.default.removeItem(atPath: host)
        r = try site.apply()
        #expect(r.plan.count(.add) == 1 && FileSystem.read(host) == original)
        // A stray file where apply owns the names.
        let stray = c.hostsDir + "/ghost.conf"
        try "dhcp-host=02:00:00:00:00:99,ghost\n".write(toFile: stray, atomically: true, encoding: .utf8)
        r = try site.apply()
        #expect(r.plan.count(.remove) == 1 && !FileManager.default.fileExists(atPath: stray))
        // A node added without its files (registry only): rendered by the next apply.
        _ = try site.nodeOperations(c, registryOnly: true).add([NodeSpec(hostname: try Hostname(parsing: "n4"), mac: try MACAddress(parsing: "02:00:00:00:00:04"))], now: "t1")
        r = try site.apply()
        #expect(r.plan.count(.add) >= 3 && FileManager.default.fileExists(atPath: c.hostsDir + "/n4.conf"), "\(r.plan.text)")
        // The config changed: the full comparison again (the lease time is in dnsmasq's config).
        _ = try site.setConfigValue("dhcp.lease_time", to: "2h")
        r = try site.apply()
        #expect(r.plan.entries.contains { $0.path == Paths.dnsmasqConf(c) }, "\(r.plan.text)")
        #expect(try site.apply().plan.isEmpty)
        // No manifest (a reboot empties the run directory): the full comparison finds nothing to do.
        ApplyManifest.invalidate(c)
        r = try site.apply()
        #expect(r.plan.isEmpty && r.plan.unchanged > 10)
    }

    @Test func aDryRunWritesNoManifest() throws {
        let r = try site.apply(dryRun: true)
        #expect(r.plan.count(.add) > 10)
        #expect(ApplyManifest.load(try config) == nil)
        #expect(!FileManager.default.fileExists(atPath: try config.hostsDir + "/n1.conf"))
    }
}

import Foundation
import Testing
import TestSupport
import ProvisionerCore
@testable import ProvisionerBoot
@testable import ProvisionerPlatform

@Suite struct ApplierTests {
    @Test func applyWritesOnlyChangesAndIncrementalMatchesFull() throws {
        let root = try makeTempDir("apply")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let config = try tempSiteConfig(root)
        let applier = Applier(config: config, templates: try loadTemplates())
        let n1 = try node("n1", "02:00:00:00:00:01", "10.0.0.2"), n2 = try node("n2", "02:00:00:00:00:02", "10.0.0.3")
        var site = BootSite(config: config, nodes: [n1, n2], generations: ["default": "g1"])

        let first = try applier.plan(site)
        #expect(first.count(.add) == first.entries.count && first.count(.add) > 10)
        try applier.execute(first)
        #expect(try applier.plan(site).isEmpty, "a second apply has nothing to do")
        #expect(applier.siteIsApplied)

        // A third node, incrementally: exactly its three files.
        let n3 = try node("n3", "02:00:00:00:00:03", "10.0.0.4")
        let add = try applier.nodePlan([(old: nil, new: n3)], site: site)
        #expect(add.entries.map(\.kind) == [.add, .add, .add])
        try applier.execute(add)
        site.nodes.append(n3)
        #expect(try applier.plan(site).isEmpty, "incremental add wrote what a full apply would")

        // Renamed and re-MACed: old files go, new files come.
        var n3b = n3
        n3b.hostname = try Hostname(parsing: "n3b")
        n3b.mac = try MACAddress(parsing: "02:00:00:00:00:33")
        let change = try applier.nodePlan([(old: n3, new: n3b)], site: site)
        #expect(change.count(.add) == 3 && change.count(.remove) == 3)
        try applier.execute(change)
        site.nodes[2] = n3b
        #expect(try applier.plan(site).isEmpty)

        // A node removed behind the back of the files: a full apply removes its files,
        // and leaves a foreign file in the same directory alone.
        try "keep me\n".write(toFile: root + "/tftp/pxelinux.cfg/custom-menu", atomically: true, encoding: .utf8)
        site.nodes.removeFirst()
        let cleanup = try applier.plan(site)
        #expect(Set(cleanup.entries.filter { $0.kind == .remove }.map(\.path)) == Set(Paths.node(n1, config)))
        try applier.execute(cleanup)
        #expect(FileManager.default.fileExists(atPath: root + "/tftp/pxelinux.cfg/custom-menu"))
        #expect(!FileManager.default.fileExists(atPath: Paths.node(n1, config)[0]))
    }

    /// dnsmasq reads a `dhcp-hostsdir` only if it exists when dnsmasq starts:
    /// a site whose nodes all wait for discovery still gets its node directories.
    @Test func aSiteWithoutMACsGetsItsEmptyNodeDirectories() throws {
        let root = try makeTempDir("nodedirs")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let config = try tempSiteConfig(root)
        let applier = Applier(config: config, templates: try loadTemplates())
        let site = BootSite(config: config, nodes: [try node("spare1", nil, "10.0.0.2")])
        let plan = try applier.plan(site)
        let dirs = Paths.nodeDirectories(config).map(\.dir)
        #expect(plan.directories == dirs && dirs.allSatisfy { plan.text.contains("+ \($0)/\n") }, "\(plan.text)")
        try applier.execute(plan)
        for d in dirs {
            var isDir: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: d, isDirectory: &isDir) && isDir.boolValue, "\(d)")
        }
        #expect(try applier.plan(site).isEmpty, "the directories exist now: nothing left to do")
    }

    @Test func aConfigDnsmasqRejectsLeavesEveryLiveFileAsItWas() throws {
        let root = try makeTempDir("reject")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let config = try tempSiteConfig(root)
        let good = Applier(config: config, templates: try loadTemplates())
        let site = BootSite(config: config, nodes: [try node("n1", "02:00:00:00:00:01", "10.0.0.2")])
        try good.execute(try good.plan(site))
        let before = snapshot(root)

        // Same templates, but the dnsmasq one gains a line dnsmasq rejects, and a node file changes too.
        var texts: [String: String] = [:]
        let dir = repoRoot + "/templates"
        for name in Templates.required { texts[name] = try String(contentsOfFile: "\(dir)/\(name).mustache", encoding: .utf8) }
        texts[TemplateName.dnsmasqConf.rawValue]! += "dhcp-rnage=oops\n"
        texts[TemplateName.dhcpHost.rawValue]! += "# changed\n"
        let bad = Applier(config: config, templates: try Templates(texts: texts))
        let plan = try bad.plan(site)
        #expect(plan.count(.change) == 2)
        do {
            try bad.execute(plan)
            Issue.record("dnsmasq accepted a bad option")
        } catch let e as SystemError {
            #expect(e.description.contains("provisioner.conf would be rejected by dnsmasq"), "\(e)")
            #expect(e.description.contains("line"), "dnsmasq's own reason: \(e)")
        }
        #expect(snapshot(root) == before, "nothing written")
    }

    @Test func bulkApplyOfManyNodes() throws {
        let root = try makeTempDir("bulk")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let config = try tempSiteConfig(root)
        let applier = Applier(config: config, templates: try loadTemplates())
        var nodes: [Node] = []
        for i in 1...150 { nodes.append(try node("n\(i)", String(format: "02:00:00:00:01:%02x", i), "10.0.0.\(i + 1)")) }
        let plan = try applier.plan(BootSite(config: config, nodes: nodes))
        try applier.execute(plan)
        #expect(FileSystem.list(config.hostsDir).count == 150)
        #expect(FileSystem.list(config.hostsDir).allSatisfy { !$0.hasPrefix(".") }, "no temp file left behind")
        #expect(try applier.plan(BootSite(config: config, nodes: nodes)).isEmpty)
    }

    /// Many files: an absent directory is staged and renamed into place whole
    /// (no staging directory left, every file there, modes kept); a directory
    /// that exists keeps its inode (dnsmasq watches dhcp-hostsdir by inode).
    @Test func bulkWriteStagesAbsentDirectoriesAndKeepsExistingOnes() throws {
        let root = try makeTempDir("stage")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/kept", withIntermediateDirectories: true)
        var before = stat()
        stat(root + "/kept", &before)
        var files: [(path: String, contents: Data, mode: UInt16)] = []
        for i in 0..<40 {
            files.append((root + "/new/deep/f\(i)", Data("new \(i)\n".utf8), i == 0 ? 0o600 : 0o644))
            files.append((root + "/kept/f\(i)", Data("kept \(i)\n".utf8), 0o644))
        }
        try FileSystem.writeAll(files)
        for f in files { #expect(FileManager.default.contents(atPath: f.path) == f.contents, "\(f.path)") }
        var after = stat()
        stat(root + "/kept", &after)
        #expect(after.st_ino == before.st_ino)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/new").sorted() == ["deep"], "no staging directory left")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/kept").count == 40, "no temp file left")
        var st = stat()
        stat(root + "/new/deep/f0", &st)
        #expect(st.st_mode & 0o777 == 0o600)
    }
}

import Foundation
import Testing
import TestSupport
import ProvisionerCore
@testable import ProvisionerPlatform

/// A rendering case: a fixture config and nodes, checked against files under Goldens/<name>/.
struct GoldenCase: Sendable, CustomTestStringConvertible {
    var name: String
    var config: String
    var generations: [String: String]
    var testDescription: String { name }

    func nodes() throws -> [Node] {
        switch name {
        case "authoritative":
            return [
                try node("compute-01", "52:54:00:12:34:01", "10.0.0.10", profile: "compute_2"),
                try node("n001", "52-54-00-12-34-02", "10.0.0.2"),
                try node("spare", nil, "10.0.0.3"),
                // The strangest valid values: longest label, all digits, edges of the pool.
                try node(String(repeating: "z", count: 62) + "9", "FE:FF:FF:FF:FF:FE", "10.0.0.254"),
                try node("0", "0200.0000.0001", "10.0.0.199"),
            ]
        default:
            return [try node("edge", "52:54:00:aa:bb:cc", "192.168.41.7")]
        }
    }
}

let goldenCases = [
    GoldenCase(name: "authoritative", config: "authoritative", generations: ["default": "g3"]),
    GoldenCase(name: "proxy", config: "proxy", generations: ["default": "g2"]),
]

@Suite struct GoldenTests {
    @Test(arguments: goldenCases)
    func renderedFilesMatchGoldens(_ c: GoldenCase) throws {
        let config = try fixtureConfig(c.config)
        let result = try Renderer(templates: try loadTemplates()).render(BootSite(config: config, nodes: try c.nodes(), generations: c.generations))
        let goldenDir = "\(testsDir)/Goldens/\(c.name)"
        if ProcessInfo.processInfo.environment["RECORD_GOLDENS"] == "1" {
            try? FileManager.default.removeItem(atPath: goldenDir)
            for f in result.files {
                try FileManager.default.createDirectory(atPath: ((goldenDir + f.path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try f.contents.write(toFile: goldenDir + f.path, atomically: true, encoding: .utf8)
            }
            return
        }
        let expected = snapshot(goldenDir)
        #expect(Set(expected.keys) == Set(result.files.map { String($0.path.dropFirst()) }), "rendered file set differs from goldens (RECORD_GOLDENS=1 to rewrite)")
        for f in result.files {
            let golden = expected[String(f.path.dropFirst())].map { String(decoding: $0, as: UTF8.self) }
            if golden != f.contents {
                Issue.record("\(f.path) differs from its golden (RECORD_GOLDENS=1 to rewrite):\n\(try unifiedDiff(golden ?? "", f.contents))")
            }
            // Every rendered file says it is generated, in its first lines.
            #expect(f.contents.split(separator: "\n").prefix(2).contains { $0.contains(generatedMarker) }, "\(f.path)")
        }
    }

    @Test(arguments: goldenCases)
    func goldenDnsmasqConfigPassesTheRealDnsmasq(_ c: GoldenCase) throws {
        let path = "\(testsDir)/Goldens/\(c.name)/etc/dnsmasq.d/provisioner.conf"
        let r = try ProcessRunner.run(try #require(ProcessRunner.which("dnsmasq"), "dnsmasq is installed by make test"), ["--test", "-C", path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("syntax check OK"))
    }

    @Test func goldenExportsPassTheSyntaxCheck() throws {
        for c in goldenCases {
            let text = try String(contentsOfFile: "\(testsDir)/Goldens/\(c.name)/etc/exports.d/provisioner.exports", encoding: .utf8)
            #expect(ExportsSyntax.problem(in: text) == nil)
            #expect(text.contains("(ro,"), "read-only export")
        }
        #expect(ExportsSyntax.problem(in: "/x 10.0.0.0/24\n") != nil)
        #expect(ExportsSyntax.problem(in: "/x 10.0.0.0/24(sync)\n") != nil)
    }

    @Test func renderingIsDeterministic() throws {
        let c = goldenCases[0]
        let site = BootSite(config: try fixtureConfig(c.config), nodes: try c.nodes(), generations: c.generations)
        let renderer = Renderer(templates: try loadTemplates())
        let a = try renderer.render(site).files
        var shuffled = site
        shuffled.nodes.reverse()
        let b = try renderer.render(shuffled).files
        #expect(a == b)
    }

    @Test func hostEntriesAreOneSafeLineEach() throws {
        let c = goldenCases[0]
        let files = try Renderer(templates: try loadTemplates()).render(BootSite(config: try fixtureConfig(c.config), nodes: try c.nodes())).files
        let hosts = files.filter { $0.path.hasPrefix("/var/lib/provisioner/dhcp-hosts/") }
        #expect(hosts.count == 4) // the node without a MAC has no entry
        for h in hosts {
            let lines = h.contents.split(separator: "\n").filter { !$0.hasPrefix("#") }
            #expect(lines.count == 1)
            // MAC, hostname, IP; a node whose profile picks a loader has its tag after the MAC.
            let fields = lines[0].split(separator: ",")
            #expect(fields.count == (fields.count > 1 && fields[1].hasPrefix("set:loader-") ? 4 : 3), "\(lines[0])")
            #expect(lines[0].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ":,.-".contains($0)) }, "\(lines[0])")
        }
    }

    @Test func aMissingVariableIsAnErrorNotEmptyText() throws {
        var texts: [String: String] = [:]
        for name in Templates.required { texts[name] = "{{% CONTENT_TYPE: TEXT }}\n# {{marker}}\n" }
        texts[TemplateName.dnsmasqConf.rawValue] = "{{% CONTENT_TYPE: TEXT }}\ninterface={{interfcae}}\n"
        let renderer = Renderer(templates: try Templates(texts: texts))
        #expect(throws: TemplateError(template: "etc/dnsmasq.d/provisioner.conf", message: "no variable \"interfcae\" in its context")) {
            try renderer.render(BootSite(config: try fixtureConfig("authoritative"), nodes: []))
        }
    }
}

func unifiedDiff(_ expected: String, _ actual: String) throws -> String {
    let dir = try makeTempDir("diff")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try expected.write(toFile: dir + "/golden", atomically: true, encoding: .utf8)
    try actual.write(toFile: dir + "/rendered", atomically: true, encoding: .utf8)
    return try ProcessRunner.run("/usr/bin/diff", ["-u", dir + "/golden", dir + "/rendered"]).stdout
}

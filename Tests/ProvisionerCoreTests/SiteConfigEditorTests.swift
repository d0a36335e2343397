@testable import ProvisionerCore
import Testing
import Yams

/// The config editor changes one value and keeps every other byte.
struct SiteConfigEditorTests {
    static func defaultText() throws -> String {
        try SiteConfig.defaultYAML(SiteDefaults(
            interface: "eth1", serverIP: "10.0.0.1", subnet: "10.0.0.0/24", dhcpRange: "10.0.0.200-10.0.0.250",
            mirror: "http://deb.debian.org/debian", tftpRoot: "/h/tftp", httpRoot: "/h/http", imagesDir: "/h/images", home: "/h", systemRoot: "/h"))
    }

    /// The lines of `b` that are not in `a`, and those of `a` gone from `b`.
    static func diff(_ a: String, _ b: String) -> (added: [String], removed: [String]) {
        let x = a.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let y = b.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return (y.filter { !x.contains($0) }, x.filter { !y.contains($0) })
    }

    /// The boot_server section `init` writes with its keys commented out takes a name and a role.
    @Test func aCommentedSectionTakesItsKeys() throws {
        let text = try Self.defaultText()
        var edited = try SiteConfigEditor.set("boot_server.name", to: "lab-bs1", in: text)
        edited = try SiteConfigEditor.set("boot_server.role", to: "primary", in: edited)
        let c = try SiteConfig(yaml: edited)
        #expect(c.bootServerName?.value == "lab-bs1" && c.bootServerRole == .primary, "\(edited)")
        #expect(Self.diff(text, edited).removed.isEmpty, "only lines added: \(Self.diff(text, edited))")
    }

    /// A profile made by the program (the lab's RAM-root profile) gets a list of kernel arguments.
    @Test func setsAListInFlowStyle() throws {
        let text = try Self.defaultText()
        var edited = try SiteConfigEditor.set("profiles.ram.root", to: "ram", in: text)
        edited = try SiteConfigEditor.set("profiles.ram.kernel_args", toList: ["console=ttyS0,115200", "quiet"], in: edited)
        let p = try #require(try SiteConfig(yaml: edited).profile(try ProfileName(parsing: "ram")))
        #expect(p.root == .ram && p.kernelArgs == ["console=ttyS0,115200", "quiet"])
        #expect(edited.contains("    kernel_args: [\"console=ttyS0,115200\", quiet]"), "\(edited)")
        // A list the config would refuse is refused here, naming the key.
        #expect(throws: (any Error).self) { try SiteConfigEditor.set("profiles.ram.kernel_args", toList: ["a b"], in: edited) }
    }

    @Test func changesOneLineAndKeepsTheComments() throws {
        let text = try Self.defaultText()
        let edited = try SiteConfigEditor.set("discovery.mode", to: "auto", in: text)
        #expect(try SiteConfig(yaml: edited).discovery == .auto)
        #expect(Self.diff(text, edited).added == ["  mode: auto"] && Self.diff(text, edited).removed == ["  mode: manual"])
        #expect(edited.split(separator: "\n").count == text.split(separator: "\n").count)
        #expect(edited.contains("# manual: it waits in `provisioner node discovered`"))

        let cached = try SiteConfigEditor.set("paths.cache", to: "/var/cache/provisioner", in: edited)
        #expect(try SiteConfig(yaml: cached).cacheDir == "/var/cache/provisioner")
        #expect(Self.diff(edited, cached).added == ["  cache: /var/cache/provisioner"])
    }

    @Test func aMissingSectionOrKeyIsAdded() throws {
        // A site from before discovery modes has no discovery section.
        let text = try Self.defaultText().replacingOccurrences(of: "discovery:\n  mode: manual\n", with: "")
        #expect(try SiteConfig(yaml: text).discovery == .manual)
        let edited = try SiteConfigEditor.set("discovery.mode", to: "auto", in: text)
        #expect(try SiteConfig(yaml: edited).discovery == .auto)
        #expect(edited.hasPrefix(text.trimmingTrailingNewlines()))

        let noKey = try Self.defaultText().replacingOccurrences(of: "  mode: manual\n", with: "  # nothing here yet\n")
        let added = try SiteConfigEditor.set("discovery.mode", to: "auto", in: noKey)
        #expect(try SiteConfig(yaml: added).discovery == .auto && added.contains("  # nothing here yet"))
    }

    @Test func aReformattedFileIsEditedOrRefusedNeverLeftAsItWas() throws {
        let base = try Self.defaultText()
        // Four-space indentation and a comment after the value.
        let wide = base.replacingOccurrences(of: "discovery:\n  mode: manual", with: "discovery:\n    mode:   manual   # for now")
        let edited = try SiteConfigEditor.set("discovery.mode", to: "auto", in: wide)
        #expect(try SiteConfig(yaml: edited).discovery == .auto)
        #expect(edited.contains("    mode: auto  # for now"))
        // Flow style: refused with the key named, not silently unchanged.
        let flow = base.replacingOccurrences(of: "discovery:\n  mode: manual", with: "discovery: {mode: manual}")
        #expect(try SiteConfig(yaml: flow).discovery == .manual)
        let error = #expect(throws: ConfigSyntaxError.self) { try SiteConfigEditor.set("discovery.mode", to: "auto", in: flow) }
        #expect(error?.message.contains("discovery.mode") == true)
        // CRLF line endings are kept, and the value found.
        let crlf = base.replacingOccurrences(of: "\n", with: "\r\n")
        let editedCRLF = try SiteConfigEditor.set("discovery.mode", to: "auto", in: crlf)
        #expect(try SiteConfig(yaml: editedCRLF).discovery == .auto)
        #expect(editedCRLF == crlf.replacingOccurrences(of: "  mode: manual\r\n", with: "  mode: auto\r\n"))
        // A value over several lines (a block scalar) is refused, not half-replaced.
        let block = base.replacingOccurrences(of: "  cache: /h/cache", with: "  cache: >-\n    /h/cache")
        #expect(try SiteConfig(yaml: block).cacheDir == "/h/cache")
        #expect(throws: ConfigSyntaxError.self) { try SiteConfigEditor.set("paths.cache", to: "/var/cache/p", in: block) }
        // A value the config does not allow is refused.
        #expect(throws: (any Error).self) { try SiteConfigEditor.set("discovery.mode", to: "sometimes", in: base) }
    }

    @Test(arguments: [
        ("/var/cache/provisioner", "/var/cache/provisioner"),
        ("/tmp/with space", "\"/tmp/with space\""),
        ("a: b # c", "\"a: b # c\""),
        ("yes", "\"yes\""),
        ("-x", "\"-x\""),
        ("line\nbreak", "\"line\\nbreak\""),
    ])
    func valuesAreQuotedWhenTheyMustBe(value: String, written: String) throws {
        let scalar = SiteConfigEditor.yamlScalar(value)
        #expect(scalar == written)
        let back = try Yams.load(yaml: "k: \(scalar)\n") as? [String: Any]
        #expect(back?["k"] as? String == value, "\(scalar) reads back as \(String(describing: back))")
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}

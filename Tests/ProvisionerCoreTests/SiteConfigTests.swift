import Testing
@testable import ProvisionerCore

let sampleDefaults = SiteDefaults(
    interface: "eth1", serverIP: "10.0.0.1", subnet: "10.0.0.0/24", dhcpRange: "10.0.0.200-10.0.0.250",
    mirror: "http://mirror.example/debian", tftpRoot: "/srv/tftp", httpRoot: "/srv/provisioner/http",
    imagesDir: "/var/lib/provisioner/images", home: "/var/lib/provisioner")

func sampleConfig(_ edit: (inout String) -> Void = { _ in }) throws -> SiteConfig {
    var text = try SiteConfig.defaultYAML(sampleDefaults)
    edit(&text)
    return try SiteConfig(yaml: text)
}

@Suite struct SiteConfigTests {
    @Test func defaultConfigValidatesAndReadsBack() throws {
        let c = try sampleConfig()
        #expect(c.interface == "eth1")
        #expect(c.serverIP.description == "10.0.0.1")
        #expect(c.subnet.description == "10.0.0.0/24")
        #expect(c.dhcpMode == .authoritative)
        #expect(c.dhcpRange?.description == "10.0.0.200-10.0.0.250")
        #expect(c.leaseTime == "12h")
        #expect(c.httpPort == 8080)
        #expect(c.suite == "bookworm")
        #expect(c.profiles.map(\.name.value) == ["default"])
        #expect(c.operatorListen == .address(try IPv4Address(parsing: "127.0.0.1"), port: 8444), "off the node network by default")
    }

    /// `http.operator_listen`: where the operator API answers; a bad value is named and refused.
    @Test func operatorListen() throws {
        func with(_ value: String) throws -> SiteConfig {
            try sampleConfig { $0 = $0.replacingOccurrences(of: "operator_listen: 127.0.0.1:8444", with: "operator_listen: \(value)") }
        }
        #expect(try with("node").operatorListen == .node)
        #expect(try with("10.9.0.1").operatorListen == .address(try IPv4Address(parsing: "10.9.0.1"), port: 8444))
        #expect(try with("10.9.0.1:9443").operatorListen == .address(try IPv4Address(parsing: "10.9.0.1"), port: 9443))
        for bad in ["0.0.0.0", "10.9.0.1:8443", "10.9.0.1:8080", "10.9.0.1:0", "10.9.0.1:x", "eth0", "10.9.0.1:1:2", "'10.9.0.1\\nlisten=x'"] {
            #expect(throws: ValidationError.self, "\(bad)") { _ = try with(bad) }
            do { _ = try with(bad) } catch let error as ValidationError { #expect(error.field == "http.operator_listen", "\(bad): \(error)") }
        }
        // A config written before the key existed gets the default.
        let old = try sampleConfig { $0 = $0.replacingOccurrences(of: "operator_listen: 127.0.0.1:8444", with: "") }
        #expect(old.operatorListen == .default)
    }

    @Test func profilesWithKernelArguments() throws {
        let c = try sampleConfig {
            $0 = $0.replacingOccurrences(of: "    kernel_args: [console=tty0, \"console=ttyS0,115200\"]", with: """
                    kernel_args: []
                  compute:
                    image: compute
                    kernel_args: [quiet, "console=ttyS0,115200"]
                """)
        }
        let p = try #require(c.profile(try ProfileName(parsing: "compute")))
        #expect(p.kernelArgs == ["quiet", "console=ttyS0,115200"])
        #expect(p.image == "compute")
        #expect(p.root == .nfs, "NFS unless a profile says otherwise")
        let ram = try sampleConfig { $0 = $0.replacingOccurrences(of: "    image: default\n", with: "    image: default\n    root: ram\n") }
        #expect(ram.profile(.default)?.root == .ram)
    }

    /// Two boot servers of one subnet hand out halves of its dynamic range
    /// that never meet; static addresses stay out of the whole range.
    @Test func primaryAndSecondarySplitTheDynamicRange() throws {
        let alone = try sampleConfig { _ in }
        #expect(alone.bootServerRole == nil && alone.bootServerName == nil && alone.servedRange == alone.dhcpRange)
        let primary = try sampleConfig { $0 = $0.replacingOccurrences(of: "  # role: primary", with: "  role: primary")
            .replacingOccurrences(of: "  # name: bs1", with: "  name: bs1") }
        let secondary = try sampleConfig { $0 = $0.replacingOccurrences(of: "  # role: primary", with: "  role: secondary") }
        #expect(primary.bootServerName?.value == "bs1")
        #expect(primary.servedRange?.description == "10.0.0.200-10.0.0.224")
        #expect(secondary.servedRange?.description == "10.0.0.225-10.0.0.250")
        #expect(primary.servedRange!.count + secondary.servedRange!.count == alone.dhcpRange!.count)
        #expect(secondary.staticAddressProblem(try IPv4Address(parsing: "10.0.0.210")) != nil)
        let tooSmall = #expect(throws: ValidationError.self) {
            try sampleConfig { $0 = $0.replacingOccurrences(of: "  # role: primary", with: "  role: primary")
                .replacingOccurrences(of: "range: 10.0.0.200-10.0.0.250", with: "range: 10.0.0.200-10.0.0.200") }
        }
        #expect(tooSmall?.field == "boot_server.role")
    }

    @Test func proxyModeNeedsNoRange() throws {
        let c = try sampleConfig {
            $0 = $0.replacingOccurrences(of: "mode: authoritative", with: "mode: proxy")
                .replacingOccurrences(of: "  range: 10.0.0.200-10.0.0.250\n", with: "")
        }
        #expect(c.dhcpMode == .proxy)
        #expect(c.dhcpRange == nil)
    }

    @Test(arguments: [
        ("server_ip: 10.0.0.1", "server_ip: 10.0.1.1", "server_ip"),
        ("range: 10.0.0.200-10.0.0.250", "range: 10.0.0.1-10.0.0.20", "dhcp.range"),
        ("range: 10.0.0.200-10.0.0.250", "range: 10.0.0.200-10.0.1.250", "dhcp.range"),
        ("mode: authoritative", "mode: relay", "dhcp.mode"),
        ("lease_time: 12h", "lease_time: soon", "dhcp.lease_time"),
        ("interface: eth1", "interface: \"eth1 extra\"", "interface"),
        ("tftp_root: /srv/tftp", "tftp_root: srv/tftp", "paths.tftp_root"),
        ("tftp_root: /srv/tftp", "tftp_root: \"/srv/tftp\\nenable-ra\"", "paths.tftp_root"),
        ("mirror: http://mirror.example/debian", "mirror: ftp://x", "debian.mirror"),
        ("port: 8080", "port: 70000", "http.port"),
        ("kernel_args: [console=tty0", "kernel_args: [\"a b\"", "profiles.default.kernel_args"),
        ("  default:\n", "  other:\n", "profiles"),
        ("    image: default\n", "    image: default\n    root: disk\n", "profiles.default.root"),
        ("  # role: primary", "  role: backup", "boot_server.role"),
        ("  # name: bs1", "  name: \"bs1\\ndhcp-range=x\"", "boot_server.name"),
    ])
    func rejectsBadValuesNamingTheKey(from: String, to: String, key: String) throws {
        do {
            _ = try sampleConfig { $0 = $0.replacingOccurrences(of: from, with: to) }
            Issue.record("accepted \(to)")
        } catch let e as ValidationError {
            #expect(e.field == key)
        }
    }

    @Test func garbageYAMLIsASyntaxError() {
        #expect(throws: ConfigSyntaxError.self) { try SiteConfig(yaml: "interface: [unclosed") }
        #expect(throws: ConfigSyntaxError.self) { try SiteConfig(yaml: "http: {port: notanumber}") }
    }

    /// A key the file should not have, or a value of the wrong kind: one error naming the key.
    @Test(arguments: [
        ("dhcp:\n", "dchp:\n", "dchp: unknown key"),
        ("  lease_time: 12h\n", "  lease_time: 12h\n  leasetime: 1h\n", "dhcp.leasetime: unknown key (expected one of: lease_time, mode, range, router_advertisements)"),
        ("port: 8080", "port: eighty", "http.port: expected a whole number, not \"eighty\""),
        ("port: 8080", "port: [8080]", "http.port: expected a single value"),
        ("router_advertisements: true", "router_advertisements: maybe", "dhcp.router_advertisements: expected true or false, not \"maybe\""),
        ("kernel_args: [console=tty0, \"console=ttyS0,115200\"]", "kernel_args: console=tty0", "profiles.default.kernel_args: expected a list"),
    ])
    func wrongKeysAndKindsNameTheKey(from: String, to: String, message: String) throws {
        do {
            _ = try sampleConfig {
                #expect($0.contains(from), "fixture lacks \(from)")
                $0 = $0.replacingOccurrences(of: from, with: to)
            }
            Issue.record("accepted \(to)")
        } catch let e as ConfigSyntaxError {
            #expect(e.message.hasPrefix(message), "\(e.message)")
        }
    }

    @Test func aSectionMustBeAMapping() {
        #expect(throws: ConfigSyntaxError(message: "http: expected a mapping of keys to values")) { try SiteConfig(yaml: "http: 8080") }
        #expect(throws: ConfigSyntaxError(message: "the file: expected a mapping of keys to values")) { try SiteConfig(yaml: "- a\n- b") }
    }

    @Test func yesNoOnOffAndNullReadAsYAMLSaysTheyDo() throws {
        #expect(try sampleConfig { $0 = $0.replacingOccurrences(of: "router_advertisements: true", with: "router_advertisements: off") }.routerAdvertisements == false)
        #expect(try sampleConfig { $0 = $0.replacingOccurrences(of: "router_advertisements: true", with: "router_advertisements: Yes") }.routerAdvertisements == true)
        // A key left empty (null) takes its default.
        #expect(try sampleConfig { $0 = $0.replacingOccurrences(of: "lease_time: 12h", with: "lease_time: ~") }.leaseTime == "12h")
        #expect(try sampleConfig { $0 = $0.replacingOccurrences(of: "port: 8080", with: "port:") }.httpPort == 8080)
        // Quoted, a number is still read as the value it spells.
        #expect(try sampleConfig { $0 = $0.replacingOccurrences(of: "port: 8080", with: "port: \"8081\"") }.httpPort == 8081)
    }

    @Test func staticAddressRules() throws {
        let c = try sampleConfig()
        #expect(c.staticAddressProblem(try IPv4Address(parsing: "10.0.0.5")) == nil)
        for (ip, words) in [("10.0.0.0", "network"), ("10.0.0.255", "broadcast"), ("10.0.0.1", "server"), ("10.0.0.220", "dynamic"), ("10.0.1.2", "outside")] {
            let problem = try #require(c.staticAddressProblem(try IPv4Address(parsing: ip)))
            #expect(problem.contains(words), "\(ip): \(problem)")
        }
    }
}

@Suite struct IPAllocatorTests {
    @Test func skipsServerRangeAndUsed() throws {
        let c = try sampleConfig()
        var a = IPAllocator(config: c, used: [try IPv4Address(parsing: "10.0.0.2"), try IPv4Address(parsing: "10.0.0.4")])
        #expect(a.next()?.description == "10.0.0.3")
        #expect(a.next()?.description == "10.0.0.5")
        var all: [IPv4Address] = []
        while let ip = a.next() { all.append(ip) }
        // 254 hosts - server - 51 dynamic - 4 already taken above
        #expect(all.count == 254 - 1 - 51 - 4)
        #expect(!all.contains { c.dhcpRange!.contains($0) })
        #expect(all.last?.description == "10.0.0.254")
    }
}

@Suite struct CSVTests {
    @Test func parsesQuotesAndLines() throws {
        let r = try CSV.parse("a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\n\nlast,\n")
        #expect(r == [
            CSV.Record(line: 1, fields: ["a", "b"]),
            CSV.Record(line: 2, fields: ["x,1", "say \"hi\""]),
            CSV.Record(line: 4, fields: ["last", ""]),
        ])
    }

    @Test func rejectsBrokenQuotes() {
        #expect(throws: ValidationError.self) { try CSV.parse("a,\"b\n") }
        #expect(throws: ValidationError.self) { try CSV.parse("a,\"b\"c\n") }
        #expect(throws: ValidationError.self) { try CSV.parse("a,b\"c\"\n") }
    }

    @Test func importNamesLineAndField() throws {
        let c = try sampleConfig()
        let good = try NodeImport.parse(csv: "mac,hostname,ip,profile\naa:00:00:00:00:01,n1,10.0.0.10,default\nAA-00-00-00-00-02,N2,,\n", config: c)
        #expect(good.map(\.hostname.value) == ["n1", "n2"])
        #expect(good[1].ip == nil && good[1].profile == nil)
        #expect(good[1].mac?.description == "aa:00:00:00:00:02")

        func error(_ csv: String) -> String {
            do { _ = try NodeImport.parse(csv: csv, config: c); return "accepted" } catch { return "\(error)" }
        }
        #expect(error("mac,hostname\naa:00:00:00:00:01,n1\nzz,n2\naa:00:00:00:00:03,n3\n") == #"line 3: invalid MAC address "zz" (expected 6 octets)"#)
        #expect(error("mac,hostname\naa:00:00:00:00:01,n1\naa-00-00-00-00-01,n2\n").contains("line 3: duplicate MAC address aa:00:00:00:00:01 (also on line 2)"))
        #expect(error("mac,hostname,ip\naa:00:00:00:00:01,n1,10.0.0.210\n").contains("dynamic DHCP range"))
        #expect(error("mac,host\n").contains("CSV column"))
        #expect(error("").contains("empty file"))
        #expect(error("mac,hostname,profile\naa:00:00:00:00:01,n1,gpu\n").contains("unknown profile"))
        #expect(error("mac,hostname\naa:00:00:00:00:01\n").contains("line 2"))
    }
}

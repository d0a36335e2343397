import Testing
@testable import ProvisionerCore

@Suite struct MACAddressTests {
    @Test(arguments: [
        "aa:bb:cc:dd:ee:ff", "AA:BB:CC:DD:EE:FF", "aa-bb-cc-dd-ee-ff", "AA-bb-CC-dd-EE-ff",
        "aabb.ccdd.eeff", "AABB.CCDD.EEFF", "aabbccddeeff",
    ])
    func acceptsEveryFormInOneCanonicalForm(text: String) throws {
        #expect(try MACAddress(parsing: text).description == "aa:bb:cc:dd:ee:ff")
    }

    @Test func formsForFiles() throws {
        let mac = try MACAddress(parsing: "52:54:00:0A:0b:0c")
        #expect(mac.dashed == "52-54-00-0a-0b-0c")
        #expect(mac.compact == "5254000a0b0c")
        #expect(mac.octets == [0x52, 0x54, 0x00, 0x0a, 0x0b, 0x0c])
    }

    @Test(arguments: [
        ("", "empty"), ("aa:bb:cc:dd:ee", "expected 6 octets"), ("aa:bb:cc:dd:ee:ff:00", "expected 6 octets"),
        ("aa:bb:cc:dd:ee:fg", "bad hex digit"), ("a:bb:cc:dd:ee:ff", "expected 2 hex digits per octet"),
        ("aa:bb-cc:dd:ee:ff", "mixed separators"), ("01:00:5e:00:00:01", "multicast address"),
        ("ff:ff:ff:ff:ff:ff", "broadcast address"), ("00:00:00:00:00:00", "all-zero address"),
        ("aabb.ccdd.ee", "expected 3 groups of 4 hex digits"), ("aabbccddeef", "expected 6 octets"),
        ("aa:bb:cc:dd:ee:ff\n", "expected 2 hex digits per octet"), (" aa:bb:cc:dd:ee:ff", "expected 2 hex digits per octet"),
    ])
    func rejects(text: String, reason: String) {
        #expect(throws: ValidationError(field: "MAC address", value: text, reason: reason)) {
            try MACAddress(parsing: text)
        }
    }

    @Test func errorQuotesTheValueOnOneLine() {
        let e = ValidationError(field: "hostname", value: "a\nb\"c", reason: "x")
        #expect(e.description == #"invalid hostname "a\nb\"c" (x)"#)
        #expect(!e.description.contains("\n"))
    }
}

@Suite struct HostnameTests {
    @Test func storesLowercase() throws {
        #expect(try Hostname(parsing: "Node-01").value == "node-01")
        #expect(try Hostname(parsing: String(repeating: "a", count: 63)).value.count == 63)
        #expect(try Hostname(parsing: "0").value == "0")
    }

    @Test(arguments: [
        "", "a b", "a_b", ".a", "a.b", "-a", "a-", "a\nb", "a;b", "a,b", "a=b", "é", "a\u{0}",
        String(repeating: "a", count: 64),
    ])
    func rejects(text: String) {
        #expect(throws: ValidationError.self) { try Hostname(parsing: text) }
    }

    @Test func profileNames() throws {
        #expect(try ProfileName(parsing: "compute_2").value == "compute_2")
        for bad in ["", "Compute", "-x", "a b", "a/b", String(repeating: "p", count: 33)] {
            #expect(throws: ValidationError.self) { try ProfileName(parsing: bad) }
        }
    }
}

@Suite struct IPv4Tests {
    @Test func parsesAndPrints() throws {
        let ip = try IPv4Address(parsing: "10.1.2.3")
        #expect(ip.value == 0x0A01_0203)
        #expect(ip.description == "10.1.2.3")
        #expect(ip.advanced(by: 253)?.description == "10.1.3.0")
    }

    @Test(arguments: ["", "10.0.0", "10.0.0.0.1", "256.0.0.1", "10.0.0.01", "a.b.c.d", "10..0.1", " 10.0.0.1", "10.0.0.1/24", "-1.0.0.1"])
    func rejects(text: String) {
        #expect(throws: ValidationError.self) { try IPv4Address(parsing: text) }
    }

    @Test func subnet() throws {
        let s = try IPv4Subnet(parsing: "192.168.8.0/22")
        #expect(s.broadcast.description == "192.168.11.255")
        #expect(s.netmask.description == "255.255.252.0")
        #expect(s.contains(try IPv4Address(parsing: "192.168.10.7")))
        #expect(!s.contains(try IPv4Address(parsing: "192.168.12.1")))
        #expect(throws: ValidationError.self) { try IPv4Subnet(parsing: "10.0.0.1/24") }
        #expect(throws: ValidationError.self) { try IPv4Subnet(parsing: "10.0.0.0/31") }
        #expect(throws: ValidationError.self) { try IPv4Subnet(parsing: "10.0.0.0") }
        #expect(throws: ValidationError.self) { try IPv4Range(parsing: "10.0.0.9-10.0.0.3") }
        #expect(try IPv4Range(parsing: "10.0.0.3-10.0.0.9").count == 7)
    }
}

@Suite struct HostlistTests {
    @Test func expandsWithPadding() throws {
        #expect(try Hostlist.expand("n[001-003]").map(\.value) == ["n001", "n002", "n003"])
        #expect(try Hostlist.expand("n[8-11]").map(\.value) == ["n8", "n9", "n10", "n11"])
        #expect(try Hostlist.expand("r[1-2]-n[01-02,07]").map(\.value) == ["r1-n01", "r1-n02", "r1-n07", "r2-n01", "r2-n02", "r2-n07"])
        #expect(try Hostlist.expand("solo").map(\.value) == ["solo"])
        #expect(try Hostlist.expand("n[001-100]").count == 100)
    }

    @Test(arguments: ["n[", "n]", "n[]", "n[3-1]", "n[a-b]", "n[1-2-3]", "n[1,1]", "n[0-99999999]", "n_[1-2]", "n[[1]]"])
    func rejects(text: String) {
        #expect(throws: ValidationError.self) { try Hostlist.expand(text) }
    }
}

import Foundation
import Testing
import TestSupport

/// One bad input: the command, and words its one-line error must contain.
struct BadInput: CustomTestStringConvertible, Sendable {
    var args: [String]
    var expect: [String]
    var files: [String: String] = [:]
    var testDescription: String { args.joined(separator: " ").debugDescription }
}

let badInputs: [BadInput] = [
    // MAC forms
    BadInput(args: ["node", "add", "x", "--mac", "02:00:00:00:00"], expect: ["MAC address", "\"02:00:00:00:00\"", "expected 6 octets"]),
    BadInput(args: ["node", "add", "x", "--mac", "02:00:00:00:00:01:02"], expect: ["MAC address", "expected 6 octets"]),
    BadInput(args: ["node", "add", "x", "--mac", "02:00:00:00:00:0g"], expect: ["MAC address", "bad hex digit"]),
    BadInput(args: ["node", "add", "x", "--mac", "01:00:5e:00:00:01"], expect: ["MAC address", "multicast"]),
    BadInput(args: ["node", "add", "x", "--mac", "ff:ff:ff:ff:ff:ff"], expect: ["MAC address", "broadcast"]),
    BadInput(args: ["node", "add", "x", "--mac", "00-00-00-00-00-00"], expect: ["MAC address", "all-zero"]),
    BadInput(args: ["node", "add", "x", "--mac", "0200.0000"], expect: ["MAC address", "\"0200.0000\""]),
    // hostnames
    BadInput(args: ["node", "add", "bad\nname", "--mac", "02:00:00:00:09:01"], expect: ["hostname", #""bad\nname""#]),
    BadInput(args: ["node", "add", "x\ndhcp-range=1.2.3.4,1.2.3.9", "--mac", "02:00:00:00:09:01"], expect: ["hostname", #"\n"#]),
    BadInput(args: ["node", "add", "bad name", "--mac", "02:00:00:00:09:01"], expect: ["hostname", "\"bad name\""]),
    BadInput(args: ["node", "add", "bad_name", "--mac", "02:00:00:00:09:01"], expect: ["hostname", "\"bad_name\""]),
    BadInput(args: ["node", "add", ".dot", "--mac", "02:00:00:00:09:01"], expect: ["hostname", "\".dot\""]),
    BadInput(args: ["node", "add", "--mac", "02:00:00:00:09:01", "--", "-lead"], expect: ["hostname", "hyphen"]),
    BadInput(args: ["node", "add", String(repeating: "a", count: 64), "--mac", "02:00:00:00:09:01"], expect: ["hostname", "63"]),
    BadInput(args: ["node", "add", "", "--mac", "02:00:00:00:09:01"], expect: ["hostname", "empty"]),
    BadInput(args: ["node", "add", "a;reboot", "--mac", "02:00:00:00:09:01"], expect: ["hostname", "\"a;reboot\""]),
    // IPs
    BadInput(args: ["node", "add", "x", "--mac", "02:00:00:00:09:01", "--ip", "10.0.1.5"], expect: ["IP address", "\"10.0.1.5\"", "outside the subnet"]),
    BadInput(args: ["node", "add", "x", "--mac", "02:00:00:00:09:01", "--ip", "10.0.0.210"], expect: ["IP address", "dynamic DHCP range"]),
    BadInput(args: ["node", "add", "x", "--mac", "02:00:00:00:09:01", "--ip", "10.0.0.1"], expect: ["IP address", "server's own address"]),
    BadInput(args: ["node", "add", "x", "--mac", "02:00:00:00:09:01", "--ip", "10.0.0.0"], expect: ["IP address", "network address"]),
    BadInput(args: ["node", "add", "x", "--mac", "02:00:00:00:09:01", "--ip", "10.0.0.255"], expect: ["IP address", "broadcast address"]),
    BadInput(args: ["node", "add", "x", "--mac", "02:00:00:00:09:01", "--ip", "10.0.0.300"], expect: ["IP address", "above 255"]),
    BadInput(args: ["node", "add", "h[1-5]", "--ip", "10.0.0.198"], expect: ["10.0.0.200", "h3", "dynamic DHCP range"]),
    // duplicates
    BadInput(args: ["node", "add", "x", "--mac", "02:00:00:00:00:0A"], expect: ["MAC address 02:00:00:00:00:0a", "already registered to n1"]),
    BadInput(args: ["node", "add", "x", "--mac", "0200.0000.000a"], expect: ["MAC address 02:00:00:00:00:0a", "already registered to n1"]),
    BadInput(args: ["node", "add", "N1", "--mac", "02:00:00:00:09:01"], expect: ["hostname n1", "already registered"]),
    BadInput(args: ["node", "add", "x", "--mac", "02:00:00:00:09:01", "--ip", "10.0.0.10"], expect: ["IP address 10.0.0.10", "already assigned to n1"]),
    // profiles and hostlists
    BadInput(args: ["node", "add", "x", "--profile", "gpu"], expect: ["unknown profile", "\"gpu\""]),
    BadInput(args: ["node", "add", "x", "--profile", "Bad!"], expect: ["profile", "\"Bad!\""]),
    BadInput(args: ["node", "add", "n[3-1]"], expect: ["hostlist", "\"n[3-1]\"", "backwards"]),
    BadInput(args: ["node", "add", "m[1-3]", "--macs", "MACS"], expect: ["holds 2 MAC addresses for 3 nodes"],
             files: ["MACS": "02:00:00:00:08:01\n02:00:00:00:08:02\n"]),
    BadInput(args: ["node", "add", "m[1-2]", "--macs", "MACS"], expect: ["line 2", "duplicate MAC address 02:00:00:00:08:01"],
             files: ["MACS": "02:00:00:00:08:01\n02-00-00-00-08-01\n"]),
    // CSV
    BadInput(args: ["node", "import", "CSV"], expect: ["line 3", "MAC address", "\"02:00:00:00:07\""],
             files: ["CSV": "mac,hostname,ip,profile\n02:00:00:00:07:01,c1,,\n02:00:00:00:07,c2,,\n02:00:00:00:07:03,c3,,\n"]),
    BadInput(args: ["node", "import", "CSV"], expect: ["line 3", "duplicate hostname c1", "line 2"],
             files: ["CSV": "mac,hostname\n02:00:00:00:07:01,c1\n02:00:00:00:07:02,C1\n"]),
    BadInput(args: ["node", "import", "CSV"], expect: ["line 4", "MAC address 02:00:00:00:00:0a", "n1"],
             files: ["CSV": "mac,hostname\n02:00:00:00:07:01,c1\n02:00:00:00:07:02,c2\n02:00:00:00:00:0a,c3\n"]),
    BadInput(args: ["node", "import", "CSV"], expect: ["line 2", "unterminated quote"],
             files: ["CSV": "mac,hostname\n\"02:00:00:00:07:01,c1\n"]),
    BadInput(args: ["node", "import", "CSV"], expect: ["CSV column", "\"name\""],
             files: ["CSV": "mac,name\n02:00:00:00:07:01,c1\n"]),
    BadInput(args: ["node", "import", "CSV"], expect: ["line 2", "hostname", #"\u{1}"#],
             files: ["CSV": "mac,hostname\n02:00:00:00:07:01,c\u{1}1\n"]),
    BadInput(args: ["node", "import", "CSV"], expect: ["line 2", "IP address", "dynamic DHCP range"],
             files: ["CSV": "mac,hostname,ip\n02:00:00:00:07:01,c1,10.0.0.222\n"]),
    BadInput(args: ["node", "import", "missing.csv"], expect: ["cannot read node file", "missing.csv"]),
    // JSON
    BadInput(args: ["node", "import", "JSON"], expect: ["invalid JSON", "[{\\\"hostname\\\":"],
             files: ["JSON": #"[{"hostname": "j1", "#]),
    BadInput(args: ["node", "import", "JSON"], expect: ["node 2", "invalid JSON key", "\"macc\""],
             files: ["JSON": #"[{"hostname": "j1", "mac": "02:00:00:00:06:01"}, {"hostname": "j2", "macc": "02:00:00:00:06:02"}]"#]),
    BadInput(args: ["node", "import", "JSON"], expect: ["node 2", "hostname", #""j2\ndhcp-option=3""#],
             files: ["JSON": #"[{"hostname": "j1"}, {"hostname": "j2\ndhcp-option=3"}]"#]),
    BadInput(args: ["node", "import", "JSON"], expect: ["node 2", "duplicate MAC address 02:00:00:00:06:01", "node 1"],
             files: ["JSON": #"[{"hostname": "j1", "mac": "02:00:00:00:06:01"}, {"hostname": "j2", "mac": "02-00-00-00-06-01"}]"#]),
    // set / rm
    BadInput(args: ["node", "set", "n1", "--ip", "10.0.0.201"], expect: ["IP address", "dynamic DHCP range"]),
    BadInput(args: ["node", "set", "n1", "--mac", "02:00:00:00:00:0b"], expect: ["MAC address 02:00:00:00:00:0b", "already registered to n2"]),
    BadInput(args: ["node", "set", "n1", "--hostname", "N2"], expect: ["hostname n2", "already registered"]),
    BadInput(args: ["node", "set", "ghost", "--profile", "default"], expect: ["no node", "\"ghost\""]),
    BadInput(args: ["node", "rm", "n1", "ghost"], expect: ["no node", "\"ghost\""]),
]

@Suite struct BadInputTests {
    @Test(arguments: badInputs)
    func rejectedWithOneLineAndNothingChanged(_ input: BadInput) throws {
        let home = try Home()
        try home.run(["node", "add", "n1", "--mac", "02:00:00:00:00:0a", "--ip", "10.0.0.10"])
        try home.run(["node", "add", "n2", "--mac", "02:00:00:00:00:0b"])
        // Applied, so rendered boot files exist and must stay as they are too.
        let applied = try home.run(["apply"])
        try #require(applied.status == 0, "\(applied.stderr)")
        #expect(FileManager.default.fileExists(atPath: home.dir + "/dhcp-hosts/n1.conf"))
        var args = input.args
        for (name, contents) in input.files {
            let path = try home.file(name, contents)
            args = args.map { $0 == name ? path : $0 }
        }
        let registryBefore = try home.dump()
        let filesBefore = try home.files()
        #expect(registryBefore.contains("n1") && registryBefore.contains("n2"))

        let r = try home.run(args)

        #expect(r.status != 0)
        #expect(r.stdout.isEmpty, "stdout: \(r.stdout)")
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "expected one line, got: \(r.stderr.debugDescription)")
        for word in input.expect {
            #expect(r.stderr.contains(word), "missing \(word.debugDescription) in \(r.stderr.debugDescription)")
        }
        #expect(!r.stderr.contains("locked"))
        #expect(try home.dump() == registryBefore, "registry changed")
        #expect(try home.files() == filesBefore, "files changed")
    }
}

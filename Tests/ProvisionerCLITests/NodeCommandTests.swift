import Foundation
import Testing
import TestSupport

struct JSONNode: Decodable, Equatable {
    var hostname: String
    var mac: String?
    var ip: String
    var profile: String
    var state: String
}

@Suite struct NodeCommandTests {
    @Test func addListShowSetRemove() throws {
        let home = try Home()
        var r = try home.run(["node", "add", "Alpha", "--mac", "AA-BB-CC-00-00-01"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("alpha") && r.stdout.contains("aa:bb:cc:00:00:01") && r.stdout.contains("10.0.0.2"))

        r = try home.run(["node", "add", "n[001-003]", "--ip", "10.0.0.50", "--json"])
        let batch = try JSONDecoder().decode([JSONNode].self, from: Data(r.stdout.utf8))
        #expect(batch.map(\.ip) == ["10.0.0.50", "10.0.0.51", "10.0.0.52"])
        #expect(batch.allSatisfy { $0.mac == nil && $0.state == "discoverable" })

        let macs = try home.file("macs", "# rack 2\nbe:ef:00:00:00:01\n\nbe-ef-00-00-00-02\n")
        r = try home.run(["node", "add", "r[1-2]", "--macs", macs])
        #expect(r.status == 0, "\(r.stderr)")

        r = try home.run(["node", "list", "--json"])
        let all = try JSONDecoder().decode([JSONNode].self, from: Data(r.stdout.utf8))
        #expect(all.map(\.hostname) == ["alpha", "n001", "n002", "n003", "r1", "r2"])
        #expect(all.first { $0.hostname == "r2" }?.mac == "be:ef:00:00:00:02")

        r = try home.run(["node", "list"])
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 7)
        #expect(lines[0].hasPrefix("HOSTNAME") && lines[0].contains("MAC") && lines[0].contains("STATE"))
        // aligned: every row's IP column starts at the same offset as the header's
        let ipColumn = try #require(lines[0].range(of: "IP")).lowerBound.utf16Offset(in: lines[0])
        for line in lines.dropFirst() {
            let cells = line.split(separator: " ")
            let ipCell = String(cells[2])
            #expect(line.range(of: ipCell)?.lowerBound.utf16Offset(in: line) == ipColumn, "\(line)")
        }

        r = try home.run(["node", "show", "aabb.cc00.0001", "--json"])
        let shown = try JSONDecoder().decode(JSONNode.self, from: Data(r.stdout.utf8))
        #expect(shown == JSONNode(hostname: "alpha", mac: "aa:bb:cc:00:00:01", ip: "10.0.0.2", profile: "default", state: "registered"))

        r = try home.run(["node", "set", "n002", "--mac", "02:00:00:00:00:22", "--hostname", "worker2", "--ip", "10.0.0.99", "--json"])
        let changed = try JSONDecoder().decode(JSONNode.self, from: Data(r.stdout.utf8))
        #expect(changed == JSONNode(hostname: "worker2", mac: "02:00:00:00:00:22", ip: "10.0.0.99", profile: "default", state: "registered"))

        r = try home.run(["node", "rm", "n[001,003]", "alpha"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try home.run(["node", "list", "--json"])
        #expect(try JSONDecoder().decode([JSONNode].self, from: Data(r.stdout.utf8)).map(\.hostname) == ["r1", "r2", "worker2"])
    }

    @Test func importCSV() throws {
        let home = try Home(["--subnet", "10.0.0.0/22"])
        var csv = "mac,hostname,ip,profile\n"
        for i in 1...300 { csv += String(format: "02:00:00:00:%02x:%02x,node%03d,,\n", i / 256, i % 256, i) }
        csv += "\"02:00:00:00:ff:01\",quoted,10.0.0.150,default\n"
        let r = try home.run(["node", "import", try home.file("n.csv", csv)])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("imported 301 nodes"))
        let list = try JSONDecoder().decode([JSONNode].self, from: Data(try home.run(["node", "list", "--json"]).stdout.utf8))
        #expect(list.count == 301)
        #expect(Set(list.map(\.ip)).count == 301)
        #expect(list.first { $0.hostname == "quoted" }?.ip == "10.0.0.150")
    }

    /// `node list --json` output goes back in through `node import`: the same keys (extra ones refused).
    @Test func importJSON() throws {
        let home = try Home()
        let json = #"[{"hostname": "j1", "mac": "02:00:00:00:05:01", "ip": "10.0.0.40"}, {"hostname": "j2", "mac": null, "profile": "default"}]"#
        let r = try home.run(["node", "import", try home.file("n.json", json)])
        #expect(r.status == 0 && r.stdout.contains("imported 2 nodes"), "\(r.stderr)")
        let list = try JSONDecoder().decode([JSONNode].self, from: Data(try home.run(["node", "list", "--json"]).stdout.utf8))
        #expect(list.map(\.hostname) == ["j1", "j2"] && list.first?.ip == "10.0.0.40")
        // Round trip into another site.
        let other = try Home()
        let again = try other.run(["node", "import", try other.file("list.json", try home.run(["node", "list", "--json"]).stdout)])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try other.run(["node", "list", "--json"]).stdout.replacingOccurrences(of: #""(created|updated)_at" : "[^"]*""#, with: "", options: .regularExpression)
                == (try home.run(["node", "list", "--json"]).stdout).replacingOccurrences(of: #""(created|updated)_at" : "[^"]*""#, with: "", options: .regularExpression))
    }

    @Test func initRefusesToOverwriteAndHomeComesFromEnvironment() throws {
        let home = try Home()
        let before = try String(contentsOfFile: home.config, encoding: .utf8)
        let again = try CLI.run(["init", "--home", home.dir, "--subnet", "192.168.0.0/24"])
        #expect(again.status != 0)
        #expect(again.stderr.contains("exists already"))
        #expect(try String(contentsOfFile: home.config, encoding: .utf8) == before)

        let viaEnv = try CLI.run(["node", "add", "envnode", "--mac", "02:00:00:00:00:77"], env: ["PROVISIONER_HOME": home.dir])
        #expect(viaEnv.status == 0, "\(viaEnv.stderr)")
        #expect(try home.run(["node", "show", "envnode"]).status == 0)

        let attrs = try FileManager.default.attributesOfItem(atPath: home.registry)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
    }

    @Test func initValidatesItsArguments() throws {
        let dir = NSTemporaryDirectory() + "provisioner-init-\(UUID().uuidString)"
        let r = try CLI.run(["init", "--home", dir, "--mirror", "http://mirror.example/debian", "--server-ip", "10.0.0.220"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("dhcp.range") && r.stderr.contains("server address"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/provisioner.yaml"))
    }

    @Test func brokenConfigIsNamed() throws {
        let home = try Home()
        try "interface: eth1\nserver_ip: 10.0.0.1\nsubnet: 10.0.0.0/33\n".write(toFile: home.config, atomically: true, encoding: .utf8)
        let r = try home.run(["node", "add", "x"])
        #expect(r.status != 0)
        #expect(r.stderr.contains(home.config) && r.stderr.contains("subnet") && r.stderr.contains("10.0.0.0/33"))
    }
}

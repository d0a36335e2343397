import ProvisionerCore
import Testing

/// Nodes as an operator names them (`node add`, `node import`, the API):
/// hostlists, MACs in order, sequential addresses, and each way a batch is
/// refused, with the field and value it names.
struct NodeBatchTests {
    let config: SiteConfig

    init() throws {
        config = try SiteConfig(yaml: try SiteConfigEditorTests.defaultText())
    }

    func macs(_ n: Int) -> [MACAddress] { (1...n).map { try! MACAddress(parsing: String(format: "52:54:00:00:00:%02x", $0)) } }

    @Test func aHostlistGetsItsMACsAndSequentialAddressesInOrder() throws {
        let specs = try NodeBatch(name: "n[08-11]", macs: macs(4), firstIP: "10.0.0.20", profile: "default").specs(config: config)
        #expect(specs.map(\.hostname.value) == ["n08", "n09", "n10", "n11"])
        #expect(specs.map { $0.mac?.description } == macs(4).map(\.description))
        #expect(specs.map { $0.ip?.description } == ["10.0.0.20", "10.0.0.21", "10.0.0.22", "10.0.0.23"])
        #expect(specs.allSatisfy { $0.profile?.value == "default" })
    }

    @Test func oneNameWithoutMACsOrAddressWaitsForDiscoveryAndTheNextFreeAddress() throws {
        let specs = try NodeBatch(name: "spare1").specs(config: config)
        #expect(specs == [NodeSpec(hostname: try Hostname(parsing: "spare1"), mac: nil)])
        #expect(try NodeBatch(name: "spare[1-3]").specs(config: config).allSatisfy { $0.mac == nil && $0.ip == nil })
    }

    @Test func eachBadBatchIsRefusedNamingTheFieldAndValue() {
        // batch → the field and value the error must name
        let rows: [(NodeBatch, String, String)] = [
            (NodeBatch(name: "bad_name"), "hostname", "bad_name"),
            (NodeBatch(name: "n[3-1]"), "hostlist", "n[3-1]"),
            (NodeBatch(name: "n[1-3]", macs: macs(2), macSource: "macs.txt"), "MAC list", "macs.txt"),
            (NodeBatch(name: "n[1-3]", macs: macs(1), macSource: "--mac"), "MAC list", "--mac"),
            (NodeBatch(name: "n1", firstIP: "10.0.0.300"), "IP address", "10.0.0.300"),
            (NodeBatch(name: "n1", firstIP: "10.9.0.5"), "IP address", "10.9.0.5"),          // outside the subnet
            (NodeBatch(name: "n1", firstIP: "10.0.0.1"), "IP address", "10.0.0.1"),          // the server's own
            (NodeBatch(name: "n1", firstIP: "10.0.0.210"), "IP address", "10.0.0.210"),      // inside the DHCP range
            (NodeBatch(name: "n[1-3]", firstIP: "10.0.0.198"), "IP address", "10.0.0.198"),  // runs into the DHCP range
            (NodeBatch(name: "n[1-2]", firstIP: "10.0.0.254"), "IP address", "10.0.0.254"),  // runs onto the broadcast
            (NodeBatch(name: "n1", profile: "Bad Profile"), "profile", "Bad Profile"),
        ]
        for (batch, field, value) in rows {
            do {
                let specs = try batch.specs(config: config)
                Issue.record("\(batch.name) \(batch.firstIP ?? "") was accepted: \(specs)")
            } catch let e as ValidationError {
                #expect(e.field == field && e.value == value, "\(batch.name): \(e)")
            } catch {
                Issue.record("\(batch.name): \(error) is not a ValidationError")
            }
        }
    }

    @Test func anUnknownProfileIsAConflictWithTheSiteAndSaysWhere() {
        do {
            _ = try NodeBatch(name: "n1", profile: "gpu", location: "node 3").specs(config: config)
            Issue.record("a profile the site does not have was accepted")
        } catch let e as ConflictError {
            #expect(e.message.contains("unknown profile \"gpu\"") && e.location == "node 3", "\(e)")
        } catch {
            Issue.record("\(error) is not a ConflictError")
        }
    }

    @Test func aValidationErrorSaysWhereTheBatchCameFrom() {
        do {
            _ = try NodeBatch(name: "bad_name", location: "node 2").specs(config: config)
            Issue.record("a bad hostname was accepted")
        } catch let e as ValidationError {
            #expect(e.field == "hostname" && e.value == "bad_name" && e.location == "node 2" && !e.reason.isEmpty, "\(e)")
        } catch {
            Issue.record("\(error) is not a ValidationError")
        }
    }

    @Test func aMACListSkipsCommentsAndBlanksAndNamesTheLineOfABadOrRepeatedMAC() throws {
        let list = try NodeBatch.parseMACList("# rack 4\n52:54:00:00:00:01\n\n  52-54-00-00-00-02  # second\r\n", source: "macs.txt")
        #expect(list == macs(2))
        do {
            _ = try NodeBatch.parseMACList("52:54:00:00:00:01\n52:54:00:00:00:zz\n", source: "macs.txt")
            Issue.record("a bad MAC was accepted")
        } catch let e as ValidationError {
            #expect(e.location == "macs.txt line 2" && e.value == "52:54:00:00:00:zz", "\(e)")
        } catch { Issue.record("\(error)") }
        do {
            _ = try NodeBatch.parseMACList("52:54:00:00:00:01\n52:54:00:00:00:02\n52-54-00-00-00-01\n", source: "macs.txt")
            Issue.record("a repeated MAC was accepted")
        } catch let e as ConflictError {
            #expect(e.location == "macs.txt line 3" && e.message.contains("also on line 1"), "\(e)")
        } catch { Issue.record("\(error)") }
    }

    @Test func keysExpandHostlistsInPlace() throws {
        #expect(try Hostlist.expandKeys(["a1", "n[1-3]", "52:54:00:00:00:01"]) == ["a1", "n1", "n2", "n3", "52:54:00:00:00:01"])
        #expect(throws: ValidationError.self) { try Hostlist.expandKeys(["n[2-"]) }
    }
}

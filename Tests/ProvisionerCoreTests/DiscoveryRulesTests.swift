import ProvisionerAPI
import ProvisionerCore
import Testing

/// Who may take a waiting node by itself, as a table.
struct DiscoveryRulesTests {
    @Test func onlyAFreshLeaseOfTheAskingAddressTakesANode() throws {
        let here = try IPv4Address(parsing: "10.0.0.201")
        let rows: [(String?, Double?, IPv4Address?, Bool, Bool, String)] = [
            ("10.0.0.201", 3, here, true, true, "leased this address seconds ago"),
            ("10.0.0.201", DiscoveryRules.leaseFreshness, here, true, true, "the last second of freshness"),
            (nil, nil, here, true, false, "no lease: a made-up MAC"),
            ("10.0.0.202", 3, here, true, false, "leased another address"),
            ("10.0.0.201", 3, nil, true, false, "no client address"),
            ("10.0.0.201", DiscoveryRules.leaseFreshness + 1, here, true, false, "an old lease"),
            ("10.0.0.201", 3, here, false, false, "proxy DHCP: no leases of ours"),
        ]
        for (ip, age, client, authoritative, takes, why) in rows {
            let refusal = DiscoveryRules.refusal(leaseIP: ip, leaseAge: age, clientIP: client, authoritative: authoritative)
            #expect((refusal == nil) == takes, "\(why): \(refusal ?? "taken")")
        }
        #expect(BootPhase.allCases.filter(DiscoveryRules.isLease) == [.dhcp, .dhcpIPXE, .dhcpInitramfs])
    }
}

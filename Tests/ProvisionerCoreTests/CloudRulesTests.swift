import Foundation
import ProvisionerAPI
import ProvisionerCore
import Testing

/// The cloud's rules as tables: who may join when, the quorum guard, Incus
/// tokens, endpoints, and what a node may report of itself.
struct CloudRulesTests {
    typealias M = CloudRules.Member

    @Test func aLiveMemberIsNeverRemovedAnOfflineOneIs() {
        let members = [M(name: "boot1", status: "ONLINE", roles: ["database-leader", "database"]),
                       M(name: "n1", status: "OFFLINE", roles: []), M(name: "n2", status: "ONLINE", roles: []),
                       M(name: "n3", status: "EVACUATED", roles: [])]
        #expect(CloudRules.before(joining: "n9", members: members) == .mint)
        #expect(CloudRules.before(joining: "n1", members: members) == .removeThenMint)
        for live in ["boot1", "n2", "n3"] {
            guard case .refuse(let why) = CloudRules.before(joining: live, members: members) else { Issue.record("\(live) would be removed"); continue }
            #expect(why.contains(live) && why.contains("never removed"))
        }
    }

    @Test func theQuorumGuardCountsOnlineDatabaseMembersThatKeepTheirState() {
        let db = ["database"]
        let rows: [([M], Set<String>, Bool)] = [
            ([M(name: "boot1", status: "ONLINE", roles: ["database-leader", "database"])], ["boot1"], false),
            ([M(name: "a", status: "ONLINE", roles: db), M(name: "b", status: "ONLINE", roles: db), M(name: "c", status: "ONLINE", roles: db)],
             ["a", "b", "c"], true),
            // One of the three keeps no state (a diskless node): not enough.
            ([M(name: "a", status: "ONLINE", roles: db), M(name: "b", status: "ONLINE", roles: db), M(name: "n1", status: "ONLINE", roles: db)],
             ["a", "b"], false),
            // One of the three is down: not enough.
            ([M(name: "a", status: "ONLINE", roles: db), M(name: "b", status: "ONLINE", roles: db), M(name: "c", status: "OFFLINE", roles: db)],
             ["a", "b", "c"], false),
            // Persistent but no database role (a stand-by or a plain member): not counted.
            ([M(name: "a", status: "ONLINE", roles: db), M(name: "b", status: "ONLINE", roles: db), M(name: "c", status: "ONLINE", roles: ["database-standby"])],
             ["a", "b", "c"], false),
            // The joining node itself never counts.
            ([M(name: "a", status: "ONLINE", roles: db), M(name: "b", status: "ONLINE", roles: db), M(name: "n9", status: "ONLINE", roles: db)],
             ["a", "b", "n9"], false),
        ]
        for (members, persistent, allowed) in rows {
            let refusal = CloudRules.quorumRefusal(joining: "n9", members: members, persistent: persistent)
            #expect((refusal == nil) == allowed, "\(members.map(\.name)) \(persistent): \(refusal ?? "allowed")")
            if let refusal { #expect(refusal.contains("at least three online database members")) }
        }
    }

    @Test func incusTokensAreReadAndBadOnesNamedWithoutTheirSecret() throws {
        let fingerprint = String(repeating: "ab", count: 32)
        func token(_ object: [String: Any]) -> String { try! JSONSerialization.data(withJSONObject: object).base64EncodedString() }
        let join = try IncusToken(parsing: token(["server_name": "n1", "fingerprint": fingerprint, "addresses": ["10.0.0.1:8443"],
                                                 "secret": "s3cret", "expires_at": "2026-12-08T06:00:00Z"]), field: "join token")
        #expect(join.name == "n1" && join.fingerprint == fingerprint && join.addresses == ["10.0.0.1:8443"] && join.secret == "s3cret")
        let trust = try IncusToken(parsing: " " + token(["client_name": "provisioner", "fingerprint": fingerprint.uppercased(), "addresses": ["a:1"],
                                                         "secret": "x"]) + "\n", field: "trust token")
        #expect(trust.name == "provisioner" && trust.fingerprint == fingerprint, "whitespace around it, an uppercase fingerprint")
        let bad: [String] = [
            "not a token", token(["fingerprint": fingerprint, "addresses": ["a:1"], "secret": "x"]),
            token(["server_name": "n1", "fingerprint": "abc", "addresses": ["a:1"], "secret": "x"]),
            token(["server_name": "n1", "fingerprint": fingerprint, "addresses": [], "secret": "x"]),
            token(["server_name": "n1", "fingerprint": fingerprint, "addresses": ["a:1"], "secret": ""]),
        ]
        for text in bad {
            do {
                _ = try IncusToken(parsing: text, field: "trust token")
                Issue.record("taken: \(text)")
            } catch {
                #expect(error.field == "trust token" && !error.description.contains("s3cret"), "\(error)")
            }
        }
    }

    @Test func endpointsAndFingerprints() throws {
        #expect(try CloudSettings.endpoint("https://10.0.0.5:8443") == ("10.0.0.5", 8443) as (String, Int))
        #expect(try CloudSettings.endpoint("https://incus.example.org/").host == "incus.example.org")
        #expect(try CloudSettings.endpoint("https://10.0.0.5").port == 8443)
        for bad in ["http://10.0.0.5:8443", "https://", "https://10.0.0.5:0", "https://10.0.0.5:x", "https://a b:1", "https://10.0.0.5:1:2"] {
            #expect(throws: ValidationError.self, "\(bad)") { _ = try CloudSettings.endpoint(bad) }
        }
        #expect(try CloudSettings.fingerprint("AB:" + String(repeating: "cd", count: 31)) == "ab" + String(repeating: "cd", count: 31))
        #expect(throws: ValidationError.self) { _ = try CloudSettings.fingerprint("sha256:" + String(repeating: "ab", count: 32)) }
    }

    @Test func whatANodeReportsOfItselfIsCheckedBeforeItIsKept() {
        #expect(CloudRules.checked(CloudMemberReport(state: "joined")) == CloudMemberReport(state: "joined"))
        #expect(CloudRules.checked(CloudMemberReport(state: "rooted")) == nil)
        let hostile = CloudRules.checked(CloudMemberReport(state: "pending", reason: "\u{1b}[2Jgone\u{7}" + String(repeating: "x", count: 1000)))
        #expect(hostile?.reason?.hasPrefix("[2Jgone") == true && hostile?.reason?.count == 300, "\(String(describing: hostile))")
    }
}

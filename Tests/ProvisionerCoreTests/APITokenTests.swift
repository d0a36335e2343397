import ProvisionerCore
import Testing

/// Operator API tokens' names and scopes, as tables.
struct APITokenTests {
    @Test func scopesParse() throws {
        let rows: [(String, [APIScope]?)] = [
            ("read", [.read]), ("write,read", [.read, .write]), ("power", [.power]), ("read,read,power", [.read, .power]),
            ("read,write,power", [.read, .write, .power]),
            ("", nil), ("admin", nil), ("read,", nil), (",read", nil), ("Read", nil), ("read, write", nil), ("read\nwrite", nil),
        ]
        for (text, expected) in rows {
            if let expected {
                #expect(try APIScope.parse(text) == expected, "\(text)")
            } else {
                #expect(throws: ValidationError.self, "\(text)") { try APIScope.parse(text) }
            }
        }
    }

    @Test func namesAreShortAndPlain() {
        for good in ["ci", "dashboard-1", "a", "0ps", "grafana_ro", "team.a", String(repeating: "x", count: 32)] {
            #expect((try? APITokenName(parsing: good))?.value == good, "\(good)")
        }
        for bad in ["", "-ci", ".ci", "CI", "c i", "ci\n", "ci;rm", String(repeating: "x", count: 33), "é"] {
            #expect(throws: ValidationError.self, "\(bad)") { try APITokenName(parsing: bad) }
        }
    }

    @Test func everyScopeReadsAndEachWriteNeedsItsOwn() {
        let rows: [([APIScope], APIScope, Bool)] = [
            ([.read], .read, true), ([.read], .write, false), ([.read], .power, false),
            ([.write], .read, true), ([.write], .write, true), ([.write], .power, false),
            ([.power], .read, true), ([.power], .write, false), ([.power], .power, true),
            ([], .read, false),
        ]
        for (scopes, needed, allowed) in rows {
            let token = APIToken(name: "t", scopes: scopes, createdAt: "t0", rotatedAt: "t0")
            #expect(token.allows(needed) == allowed, "\(scopes) for \(needed)")
        }
        #expect(APIToken(name: "ci", scopes: [.read], createdAt: "t0", rotatedAt: "t0").actor == "token:ci")
        let a = APIToken.makeValue(), b = APIToken.makeValue()
        #expect(a.count == 64 && a != b && Secret.matches(a, digest: Secret.digest(a)) && !Secret.matches(b, digest: Secret.digest(a)))
    }
}

import Foundation
import Testing
import TestSupport

/// `provisioner token` and `provisioner audit` through the real CLI: values
/// shown once and never listed or kept, bad input refused with nothing
/// changed, and every change in the audit log with who made it.
@Suite struct TokenCommandTests {
    struct Made: Decodable { var name: String; var scopes: [String]; var token: String }
    struct Listed: Decodable { var name: String; var scopes: [String]; var kept_in: String; var rotated_at: String? }
    struct Rotated: Decodable { var name: String; var token: String }
    struct Entry: Decodable { var actor: String?; var action: String; var subject: String }

    @Test func tokensAreMadeListedRotatedAndRevokedAndTheAuditSaysWho() throws {
        let home = try Home()
        var r = try home.run(["token", "add", "ci", "--scope", "write,read", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let made = try JSONDecoder().decode(Made.self, from: Data(r.stdout.utf8))
        #expect(made.name == "ci" && made.scopes == ["read", "write"] && made.token.count == 64)

        // Bad input: one line naming the field and value, exit 2 (4 for a taken name), nothing changed.
        for (args, status, message) in [
            (["token", "add", "Bad Name", "--scope", "read"], Int32(2), #"invalid name "Bad Name""#),
            (["token", "add", "ops", "--scope", "admin"], 2, #"invalid scope "admin""#),
            (["token", "add", "ops", "--scope", "read,"], 2, #"invalid scope "read,""#),
            (["token", "add", "site", "--scope", "read"], 2, "reserved for the site's own token"),
            (["token", "add", "ci", "--scope", "read"], 4, "a token named ci exists"),
            (["token", "revoke", "nope"], 3, "nope"),
            (["token", "revoke", "site"], 2, "cannot be revoked"),
            (["audit", "--since", "yesterday"], 2, #"invalid since "yesterday""#),
        ] {
            r = try home.run(args)
            #expect(r.status == status && r.stderr.contains(message) && r.stderr.split(separator: "\n").count == 1,
                    "\(args): \(r.status) \(r.stderr)")
        }

        r = try home.run(["token", "list", "--json"])
        var listed = try JSONDecoder().decode([Listed].self, from: Data(r.stdout.utf8))
        #expect(listed.map(\.name) == ["ci"] && listed[0].kept_in == "registry", "\(r.stdout)")
        #expect(!r.stdout.contains(made.token))
        r = try home.run(["token", "list"])
        #expect(r.stdout.hasPrefix("NAME") && r.stdout.contains("read,write") && !r.stdout.contains(made.token), "\(r.stdout)")
        let registry = (FileManager.default.contents(atPath: home.dir + "/registry.sqlite") ?? Data())
            + (FileManager.default.contents(atPath: home.dir + "/registry.sqlite-wal") ?? Data())
        #expect(registry.range(of: Data(made.token.utf8)) == nil, "the registry keeps a token's value")

        r = try home.run(["token", "rotate", "ci", "--json"])
        let rotated = try JSONDecoder().decode(Rotated.self, from: Data(r.stdout.utf8))
        #expect(r.status == 0 && rotated.token.count == 64 && rotated.token != made.token, "\(r.stdout)")
        // The site's own token: a new file, 0600.
        r = try home.run(["token", "rotate", "site"])
        #expect(r.status == 0, "\(r.stderr)")
        let site = try String(contentsOfFile: home.dir + "/api.token", encoding: .utf8)
        #expect(r.stdout.contains(site.trimmingCharacters(in: .whitespacesAndNewlines)))
        var st = stat()
        #expect(stat(home.dir + "/api.token", &st) == 0 && st.st_mode & 0o777 == 0o600)
        listed = try JSONDecoder().decode([Listed].self, from: Data(try home.run(["token", "list", "--json"]).stdout.utf8))
        #expect(listed.map(\.name) == ["site", "ci"] && listed[0].scopes == ["read", "write", "power"])

        r = try home.run(["token", "revoke", "ci"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try home.run(["token", "list", "--json"]).stdout.contains("\"ci\"") == false)

        try #require(try home.run(["node", "add", "n1"]).status == 0)
        r = try home.run(["audit", "--json"])
        let entries = try JSONDecoder().decode([Entry].self, from: Data(r.stdout.utf8))
        #expect(entries.map(\.action) == ["token.add", "token.rotate", "token.rotate", "token.revoke", "node.add"], "\(r.stdout)")
        #expect(entries.map(\.subject) == ["ci", "ci", "site", "ci", "n1"], "\(r.stdout)")
        #expect(entries.allSatisfy { $0.actor?.hasPrefix("cli:") == true }, "\(r.stdout)")
        #expect(!r.stdout.contains(made.token) && !r.stdout.contains(rotated.token))
        r = try home.run(["audit", "--since", "2999-01-01"])
        #expect(r.status == 0 && r.stdout.contains("no changes recorded since 2999-01-01"), "\(r.stdout)")
        r = try home.run(["audit", "--limit", "1"])
        #expect(r.stdout.hasPrefix("AT") && r.stdout.contains("node.add") && !r.stdout.contains("token.add"), "\(r.stdout)")
    }
}

/// `provisioner node tpm`: a node's TPM binding shown, accepted and cleared;
/// bad requests refused with one line and nothing changed.
@Suite struct NodeTPMCommandTests {
    @Test func showAcceptAndClearATPMBinding() throws {
        let home = try Home()
        #expect(try home.run(["node", "add", "n1", "--mac", "02:00:00:00:00:01", "--no-apply"]).status == 0)
        var r = try home.run(["node", "tpm", "n1"])
        #expect(r.status == 0 && r.stdout.contains("n1: not bound to a TPM key"), "\(r.stdout)\(r.stderr)")
        for (args, status, message) in [
            (["node", "tpm", "n1", "--accept", "--clear"], Int32(2), "--accept and --clear exclude each other"),
            (["node", "tpm", "nope"], 3, "nope"),
            (["node", "tpm", "n1", "--accept"], 4, "n1 has no other TPM key waiting"),
        ] {
            r = try home.run(args)
            #expect(r.status == status && r.stderr.contains(message) && r.stderr.split(separator: "\n").count == 1, "\(args): \(r.status) \(r.stderr)")
        }
        r = try home.run(["node", "tpm", "n1", "--clear"])
        #expect(r.status == 0 && r.stdout.contains("n1: TPM binding cleared"), "\(r.stdout)\(r.stderr)")
        r = try home.run(["audit", "--json"])
        #expect(r.stdout.contains("node.tpm.clear"), "the clear is in the audit log: \(r.stdout)")
        #expect(!r.stdout.contains("node.tpm.accept"), "a refused accept changed nothing")
    }
}

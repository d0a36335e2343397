import Foundation
import ProvisionerSite
import Testing
import TestSupport

/// The schemathesis CLI that `make test` installs (in .build-py), or $PROVISIONER_SCHEMATHESIS.
let schemathesisCLI: String? = {
    if let p = ProcessInfo.processInfo.environment["PROVISIONER_SCHEMATHESIS"], !p.isEmpty { return p }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let st = root.appendingPathComponent(".build-py/bin/st").path
    return FileManager.default.isExecutableFile(atPath: st) ? st : nil
}()

extension SystemTests {
/// serve against its own OpenAPI document, fuzzed by schemathesis: every
/// answer of every operation matches the document (status, content type,
/// body schema), none is a 5xx, and a write that is refused changes nothing.
@Suite(.serialized) struct OpenAPIFuzzTests {
    @Test(.enabled(if: TestNetwork.unavailableReason == nil && schemathesisCLI != nil,
                   "\(TestNetwork.unavailableReason ?? "needs schemathesis: `make test` installs it in .build-py")"))
    func everyAnswerMatchesTheDocument() throws {
        let site = try ServedSite()
        // serve stops first (the later defer runs first), then its home goes.
        defer { try? FileManager.default.removeItem(atPath: site.home.dir) }
        defer { site.close() }
        // The whole API on one HTTPS listener: the node network's, with the operator API
        // served there too (`http.operator_listen: node`), so one document covers every operation.
        let home = site.home, net = site.net, base = site.secureBase
        try Site(home: home.dir).setConfigValue("nfs.server", to: "none")
        try Site(home: home.dir).setConfigValue("http.operator_listen", to: "node")
        try #require(try home.run(["node", "add", "n1", "--mac", "02:96:00:00:00:01"]).status == 0)
        try #require(try home.run(["node", "add", "spare[1-2]"]).status == 0)
        try #require(try home.run(["apply"]).status == 0)
        let serve = try site.startServe(timeout: 20)
        let token = try String(contentsOfFile: home.dir + "/api.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

        let hooks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("tools").path
        let command = [
            "env", "PYTHONPATH=\(hooks.quotedForShell())", "SCHEMATHESIS_HOOKS=schemathesis_hooks", "PROVISIONER_FUZZ_BASE=\(base)", "PROVISIONER_FUZZ_TOKEN=\(token)",
            "PROVISIONER_FUZZ_CA=\((home.dir + "/tls/ca.pem").quotedForShell())",
            schemathesisCLI!.quotedForShell(), "run", "\(base)/api/v1/openapi.json",
            "--header", "'Authorization: Bearer \(token)'", "--tls-verify", (home.dir + "/tls/ca.pem").quotedForShell(),
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,refused_write_changes_nothing",
            "--phases", "examples,coverage,fuzzing", "--max-examples", "25", "--workers", "1", "--seed", "1",
            "--no-color", "--request-timeout", "10", "--generation-database", "none",
            "--report", "junit", "--report-junit-path", (home.dir + "/fuzz.xml").quotedForShell(),
        ].joined(separator: " ")
        // Run from the test's home, where anything it writes goes.
        let r = try net.exec(net.server, "sh -c " + ("cd \(home.dir.quotedForShell()) && exec " + command).quotedForShell())
        print(r.stdout.components(separatedBy: "SUMMARY").last ?? "")
        #expect(r.status == 0, "schemathesis found answers that do not match the document:\n\(r.stdout.suffix(6000))\n\(r.stderr.suffix(2000))")
        // It did test the write operations (with the token) and the reads: each is a test case of its JUnit report.
        let junit = (try? String(contentsOfFile: home.dir + "/fuzz.xml", encoding: .utf8)) ?? ""
        for op in ["POST /api/v1/nodes", "PATCH /api/v1/nodes/{name}", "DELETE /api/v1/nodes/{name}", "GET /api/v1/nodes", "POST /api/v1/enroll",
                   "POST /api/v1/discovered/{mac}/accept", "POST /api/v1/heartbeat"] {
            #expect(junit.contains("name=\"\(op)\""), "\(op) was not exercised: \(junit.prefix(2000))")
        }
        #expect(!serve.output.contains("Fatal error"), "serve crashed under the fuzzer")
    }
}
}

extension String {
    func quotedForShell() -> String { "'" + replacingOccurrences(of: "'", with: "'\\''") + "'" }
}

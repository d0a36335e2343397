import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ProvisionerAPI
import ProvisionerCore
import ProvisionerLab
import ProvisionerBMC
import ProvisionerBoot
import ProvisionerPlatform
import ProvisionerStore
import Testing
import TestSupport
@testable import ProvisionerServer

/// The node write API on an applied site in a temporary directory: the real
/// templates, the real `dnsmasq --test`, the registry on disk. Every refused
/// request leaves the registry and the rendered files exactly as they were.
struct NodeWriteAPITests {
    static let token = String(repeating: "ab", count: 32)
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("templates").path

    let dir = NSTemporaryDirectory() + "provisioner-writeapi-\(UUID().uuidString)"

    func makeState(discovery: DiscoveryMode = .manual) throws -> ServeState {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = try SiteConfig(yaml: """
            interface: lo
            server_ip: 10.42.0.1
            subnet: 10.42.0.0/24
            dhcp: {mode: authoritative, range: 10.42.0.200-10.42.0.220}
            paths: {http_root: \(dir)/http, tftp_root: \(dir)/tftp, images: \(dir)/images, run_dir: \(dir)/run,
                    dnsmasq_dir: \(dir)/etc/dnsmasq.d, hosts_dir: \(dir)/dhcp-hosts, exports_dir: \(dir)/etc/exports.d,
                    ganesha_config: \(dir)/etc/ganesha/provisioner.conf, cache: \(dir)/cache}
            debian: {mirror: http://mirror.example/debian}
            profiles: {default: {image: default}, gpu: {image: default, kernel_args: [quiet]}}
            discovery: {mode: \(discovery.rawValue)}
            """)
        let registry = try SQLiteRegistry(path: dir + "/registry.sqlite")
        try registry.add([NodeSpec(hostname: try Hostname(parsing: "n1"), mac: try MACAddress(parsing: "02:42:00:00:00:01"))], config: config, now: "2026-01-01T00:00:00Z")
        let applier = Applier(config: config, templates: try TemplateLoader.load(Self.templates))
        _ = try applier.execute(try applier.plan(BootSite(config: config, nodes: try registry.nodes(), generations: [:])))
        return ServeState(config: config, registry: registry, logger: Logger(label: "test"), applier: applier, apiToken: Self.token)
    }

    /// Every file under the temporary site, with its contents (the registry by its rows).
    func snapshot(_ state: ServeState) throws -> [String: Data] {
        var out = TestSupport.snapshot(dir).filter { !$0.key.hasPrefix("registry.sqlite") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        out["registry rows"] = try encoder.encode(try state.registry.nodes())
        return out
    }

    func send(_ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: String = "",
              token: String? = token) async throws -> (HTTPResponse.Status, String) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: uri, method: method, headers: headers, body: ByteBuffer(string: body)) { ($0.status, String(buffer: $0.body)) }
    }

    @Test func refusedWritesChangeNothing() async throws {
        let state = try makeState()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let before = try snapshot(state)
        let app = Application(router: buildRouter(state))
        try await app.test(.router) { client in
            let good = #"{"hostname":"n2","mac":"02:42:00:00:00:02"}"#
            let cases: [(HTTPRequest.Method, String, String, String?, HTTPResponse.Status, String)] = [
                (.post, "/api/v1/nodes", good, nil, .unauthorized, "API token"),
                (.post, "/api/v1/nodes", good, "wrong", .unauthorized, "API token"),
                (.post, "/api/v1/nodes", "{garbage", Self.token, .badRequest, "invalid JSON \\\"{garbage\\\""),
                (.post, "/api/v1/nodes", "42", Self.token, .badRequest, "expected a node object"),
                (.post, "/api/v1/nodes", #"{"hostname":"n2","mca":"02:42:00:00:00:02"}"#, Self.token, .badRequest, "invalid JSON key \\\"mca\\\""),
                (.post, "/api/v1/nodes", #"{"hostname":"n2\ndhcp-range=1.2.3.4","mac":"02:42:00:00:00:02"}"#, Self.token, .badRequest, "invalid hostname \\\"n2\\\\ndhcp-range=1.2.3.4\\\""),
                (.post, "/api/v1/nodes", #"{"hostname":"n2","mac":"02:42:00:00:00:02","ip":7}"#, Self.token, .badRequest, "invalid ip \\\"7\\\" (expected a string)"),
                (.post, "/api/v1/nodes", #"{"hostname":"n2","mac":"02:42:00:00:00:01"}"#, Self.token, .conflict, "MAC address 02:42:00:00:00:01 is already registered to n1"),
                (.post, "/api/v1/nodes", #"[{"hostname":"n2","mac":"02:42:00:00:00:02"},{"hostname":"n3","mac":"02:42:00:00:00:02"}]"#, Self.token, .conflict, "node 2: duplicate MAC address 02:42:00:00:00:02 (also on node 1)"),
                (.post, "/api/v1/nodes", #"{"hostname":"n2","profile":"nope"}"#, Self.token, .conflict, "unknown profile"),
                (.post, "/api/v1/nodes", #"{"hostname":"n2","ip":"10.42.0.1"}"#, Self.token, .badRequest, "10.42.0.1"),
                (.patch, "/api/v1/nodes/n1", "{}", Self.token, .badRequest, "nothing to change"),
                (.patch, "/api/v1/nodes/n1", #"{"mac":"zz"}"#, Self.token, .badRequest, "invalid MAC address \\\"zz\\\""),
                (.patch, "/api/v1/nodes/nope", #"{"ip":"10.42.0.9"}"#, Self.token, .notFound, "no node \\\"nope\\\""),
                (.delete, "/api/v1/nodes/nope", "", Self.token, .notFound, "no node"),
                (.delete, "/api/v1/nodes/n1", "", nil, .unauthorized, "API token"),
                (.post, "/api/v1/discovered/02:42:00:00:00:09/accept", #"{"hostname":"n1"}"#, Self.token, .conflict, "already has a MAC address"),
                (.post, "/api/v1/discovered/not-a-mac/accept", "", Self.token, .badRequest, "invalid MAC address"),
                (.post, "/api/v1/discovered/02:42:00:00:00:09/accept", "", Self.token, .conflict, "no node waits for discovery"),
            ]
            for (method, uri, body, token, status, message) in cases {
                let (got, text) = try await send(client, method, uri, body, token: token)
                #expect(got == status && text.contains(message), "\(method) \(uri) \(body): \(got) \(text)")
            }
        }
        let after = try snapshot(state)
        let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
        #expect(changed.isEmpty, "a refused write changed the registry or a file: \(changed)")
        #expect(state.metrics.rejected == 19)
    }

    /// Named tokens do what their scopes allow, from the registry (digests
    /// only): reads need any token, writes `write`, power `power`; a revoked
    /// or rotated-away value stops at once; the audit log names the token.
    @Test func namedTokensHaveScopesAndTheAuditNamesThem() async throws {
        let state = try makeState()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reader = APIToken.makeValue(), writer = APIToken.makeValue(), rotated = APIToken.makeValue()
        _ = try state.registry.addAPIToken(name: try APITokenName(parsing: "dashboard"), digest: Secret.digest(reader), scopes: [.read], now: "t0")
        _ = try state.registry.addAPIToken(name: try APITokenName(parsing: "ci"), digest: Secret.digest(writer), scopes: [.write], now: "t0")
        let app = Application(router: buildRouter(state))
        try await app.test(.router) { client in
            for path in ["/api/v1/nodes", "/api/v1/nodes/n1", "/api/v1/discovered", "/api/v1/instances", "/api/v1/rollouts"] {
                var (status, body) = try await send(client, .get, path, token: nil)
                #expect(status == .unauthorized && body.contains("missing API token"), "\(path) without a token: \(status) \(body)")
                (status, body) = try await send(client, .get, path, token: "made-up")
                #expect(status == .unauthorized && body.contains("unknown API token"), "\(path): \(status) \(body)")
                for token in [reader, writer, Self.token] {
                    (status, body) = try await send(client, .get, path, token: token)
                    #expect(status == .ok, "\(path) with a token: \(status) \(body)")
                }
            }
            #expect(try await send(client, .get, "/api/v1/openapi.json", token: nil).0 == .ok, "the API's document is public")
            let before = try snapshot(state)
            var (status, body) = try await send(client, .post, "/api/v1/nodes", #"{"hostname":"n2"}"#, token: reader)
            #expect(status == .forbidden && body.contains("token dashboard may not write"), "\(status) \(body)")
            (status, body) = try await send(client, .post, "/api/v1/power", #"{"action": "status", "nodes": ["n1"]}"#, token: writer)
            #expect(status == .forbidden && body.contains("token ci may not power"), "\(status) \(body)")
            #expect(try snapshot(state) == before, "a refused write changed something")
            (status, body) = try await send(client, .post, "/api/v1/nodes", #"{"hostname":"n2"}"#, token: writer)
            #expect(status == .created, "\(body)")
            (status, body) = try await send(client, .delete, "/api/v1/nodes/n2", token: Self.token)
            #expect(status == .ok, "\(body)")
            // Rotated: the old value stops at once; revoked: the new one too.
            _ = try state.registry.rotateAPIToken(name: try APITokenName(parsing: "ci"), digest: Secret.digest(rotated), now: "t1")
            #expect(try await send(client, .get, "/api/v1/nodes", token: writer).0 == .unauthorized)
            #expect(try await send(client, .get, "/api/v1/nodes", token: rotated).0 == .ok)
            try state.registry.revokeAPIToken(name: try APITokenName(parsing: "ci"), now: "t2")
            #expect(try await send(client, .get, "/api/v1/nodes", token: rotated).0 == .unauthorized)
        }
        let audit = try state.registry.audit(since: nil, limit: 100)
        #expect(audit.contains { $0.action == "api.node.add" && $0.subject == "n2" && $0.actor == "token:ci" }, "\(audit)")
        #expect(audit.contains { $0.action == "node.rm" && $0.subject == "n2" && $0.actor == "token:site" }, "\(audit)")
        #expect(try state.registry.apiTokens().first { $0.name == "dashboard" }?.lastUsedAt != nil, "a token's use is noted")
        for file in ["registry.sqlite", "registry.sqlite-wal"] {
            let bytes = FileManager.default.contents(atPath: dir + "/" + file) ?? Data()
            #expect(bytes.range(of: Data(reader.utf8)) == nil && bytes.range(of: Data(rotated.utf8)) == nil, "a token's value is kept in \(file)")
        }
    }

    @Test func addChangeAcceptAndRemoveWriteTheNodesFiles() async throws {
        let state = try makeState()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let app = Application(router: buildRouter(state))
        let hosts = dir + "/dhcp-hosts", script = dir + "/http/boot/02-42-00-00-00-02.ipxe"
        try await app.test(.router) { client in
            var (status, text) = try await send(client, .post, "/api/v1/nodes", #"[{"hostname":"n2","mac":"02:42:00:00:00:02","profile":"gpu"},{"hostname":"n3","mac":null}]"#)
            #expect(status == .created, "\(text)")
            #expect(text.contains(#""hostname":"n2""#) && text.contains(#""state":"discoverable""#) && text.contains(#""applied":true"#), "\(text)")
            #expect(try String(contentsOfFile: script, encoding: .utf8).contains(" quiet"), "n2's iPXE script with its profile's arguments")
            #expect(try FileManager.default.contentsOfDirectory(atPath: hosts).count == 2)

            (status, text) = try await send(client, .patch, "/api/v1/nodes/n2", #"{"ip":"10.42.0.50"}"#)
            #expect(status == .ok && text.contains(#""ip":"10.42.0.50""#), "\(text)")
            let hostEntry = try FileManager.default.contentsOfDirectory(atPath: hosts).filter { $0.contains("n2") || $0.contains("02-42-00-00-00-02") }
            #expect(try hostEntry.map { try String(contentsOfFile: hosts + "/" + $0, encoding: .utf8) }.joined().contains("10.42.0.50"), "\(hostEntry)")

            _ = try state.registry.recordBootEvent(mac: try MACAddress(parsing: "02:42:00:00:00:03"), ip: "10.42.0.201", phase: .ipxe, now: "2026-01-01T00:00:01Z")
            (status, text) = try await send(client, .post, "/api/v1/discovered/02:42:00:00:00:03/accept", #"{"hostname":"n3"}"#)
            #expect(status == .ok && text.contains(#""mac":"02:42:00:00:00:03""#), "\(text)")
            #expect(try state.registry.discovered().isEmpty)
            #expect(FileManager.default.fileExists(atPath: dir + "/http/boot/02-42-00-00-00-03.ipxe"))

            (status, text) = try await send(client, .delete, "/api/v1/nodes/n2")
            #expect(status == .ok && text.contains(#""hostname":"n2""#), "\(text)")
            #expect(!FileManager.default.fileExists(atPath: script))
            (status, _) = try await send(client, .delete, "/api/v1/nodes/n2")
            #expect(status == .notFound)
        }
        #expect(try state.registry.nodes().map(\.hostname.value) == ["n1", "n3"])
    }

    @Test func hostlistsAddAndRemoveSequentialNodes() async throws {
        let state = try makeState()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let app = Application(router: buildRouter(state))
        try await app.test(.router) { client in
            var (status, text) = try await send(client, .post, "/api/v1/nodes", #"{"hostname":"n[001-004]","ip":"10.42.0.10"}"#)
            #expect(status == .created, "\(text)")
            let added = try JSONDecoder().decode(AddAnswer.self, from: Data(text.utf8)).nodes
            #expect(added.map(\.hostname) == ["n001", "n002", "n003", "n004"])
            #expect(added.map(\.ip) == ["10.42.0.10", "10.42.0.11", "10.42.0.12", "10.42.0.13"])
            // One MAC cannot serve four nodes; a clash names its field, value and holder for scripts.
            (status, text) = try await send(client, .post, "/api/v1/nodes", #"{"hostname":"m[1-4]","mac":"02:42:00:00:00:07"}"#)
            #expect(status == .badRequest && text.contains("one MAC address for 4 nodes"), "\(text)")
            (status, text) = try await send(client, .post, "/api/v1/nodes", #"{"hostname":"m[1-2]","ip":"10.42.0.12"}"#)
            #expect(status == .conflict, "\(text)")
            let clash = try JSONDecoder().decode(APIError.self, from: Data(text.utf8))
            #expect(clash.kind == .conflict && clash.field == "IP address" && clash.value == "10.42.0.12" && clash.holder == "n003", "\(text)")

            (status, text) = try await send(client, .delete, "/api/v1/nodes/n[001-004]")
            #expect(status == .ok, "\(text)")
            #expect(try JSONDecoder().decode(AddAnswer.self, from: Data(text.utf8)).nodes.count == 4)
        }
        #expect(try state.registry.nodes().map(\.hostname.value) == ["n1"])
    }

    struct AddAnswer: Decodable {
        struct N: Decodable { var hostname: String; var ip: String }
        var nodes: [N]
    }
}

/// `POST /api/v1/power` and `/api/v1/boot-next` against a real IPMI BMC
/// (ipmi_sim on loopback, its chassis a state file): token required, node
/// list required, per-node results that agree with the chassis.
struct PowerAPITests {
    @Test(.enabled(if: IPMISimulator.unavailableReason == nil, "\(IPMISimulator.unavailableReason ?? "")"))
    func powerOverTheAPIAgreesWithTheChassis() async throws {
        let t = NodeWriteAPITests()
        let state = try t.makeState()
        let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("tools/bmc").path
        let d = t.dir + "/ipmi"
        let password = "api-\(UUID().uuidString.prefix(8))"
        let sim = try IPMISimulator.start(dir: d, name: "apibmc", port: try IPMISimulator.freeUDPPort(), password: password,
                                          chassisControl: "/usr/bin/env BMC_STATE_DIR=\(d) \(tools)/chassis_control 0x20")
        defer { sim.stop() }
        let pass = d + "/pass"
        try #require(FileManager.default.createFile(atPath: pass, contents: Data(password.utf8)))
        chmod(pass, 0o600)
        _ = try state.registry.setBMC("n1", BMCSettings(driver: .ipmi, address: sim.address, user: "admin", passwordFile: pass), now: "2026-01-01T00:00:01Z")
        @Sendable func chassis() -> String { (try? String(contentsOfFile: d + "/chassis-0x20.state", encoding: .utf8)) ?? "" }

        defer { try? FileManager.default.removeItem(atPath: t.dir) }
        let app = Application(router: buildRouter(state))
        try await app.test(.router) { client in
            var (status, body) = try await t.send(client, .post, "/api/v1/power", #"{"action": "on", "nodes": ["n1"]}"#, token: nil)
            #expect(status == .unauthorized, "\(body)")
            (status, body) = try await t.send(client, .post, "/api/v1/power", #"{"action": "on", "nodes": []}"#)
            #expect(status == .badRequest && body.contains("name the nodes"), "\(body)")
            (status, body) = try await t.send(client, .post, "/api/v1/power", #"{"action": "on", "nodes": ["n1"]}"#)
            #expect(status == .ok && body.contains("PXE next boot"), "\(body)")
            #expect(chassis().contains("power=1") && chassis().contains("boot=pxe"), "\(chassis())")
            (status, body) = try await t.send(client, .post, "/api/v1/power", #"{"action": "status", "nodes": ["n1"]}"#)
            let results = (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["results"] as? [[String: Any]]
            #expect(status == .ok && results?.first?["result"] as? String == "on", "\(body)")
            (status, body) = try await t.send(client, .post, "/api/v1/boot-next", #"{"device": "pxe", "nodes": ["n1"]}"#)
            #expect(status == .ok && !body.contains("failure"), "\(body)")
            #expect(!body.contains(password))
        }
    }
}

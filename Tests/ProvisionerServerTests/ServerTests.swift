import Foundation
import Hummingbird
import HummingbirdTesting
import Crypto
import Logging
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore
import Synchronization
import Testing
@testable import ProvisionerServer

/// The node API and the read endpoints, through Hummingbird's in-process
/// test client. Proxy mode: no source-address check here (the namespace test
/// of serve checks addresses with real clients on real addresses).
struct ServerTests {
    static let mac = "02:42:00:00:00:01"
    /// The operator API's token (the inventory reads need one).
    static let apiToken = "test-api-token"
    static let operatorAuth: HTTPFields = [.authorization: "Bearer \(apiToken)"]

    /// A clock the test moves.
    final class TestClock: Sendable {
        let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        func advance(_ s: Double) { now.withLock { $0 = $0.addingTimeInterval(s) } }
        func read() -> Date { now.withLock { $0 } }
    }

    func makeState(clock: TestClock = TestClock()) throws -> ServeState {
        let dir = NSTemporaryDirectory() + "provisioner-server-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = try SiteConfig(yaml: """
            interface: eth0
            server_ip: 10.42.0.1
            subnet: 10.42.0.0/24
            dhcp: {mode: proxy}
            paths: {http_root: \(dir)/http, tftp_root: \(dir)/tftp, images: \(dir)/images, run_dir: \(dir)/run}
            debian: {mirror: http://mirror.example/debian}
            profiles: {default: {image: default}}
            """)
        let registry = try SQLiteRegistry(path: dir + "/registry.sqlite")
        try registry.add([NodeSpec(hostname: try Hostname(parsing: "n1"), mac: try MACAddress(parsing: Self.mac))], config: config, now: "2026-01-01T00:00:00Z")
        return ServeState(config: config, registry: registry, heartbeatSeconds: 5, lostAfterBeats: 3,
                          logger: Logger(label: "test"), clock: { clock.read() }, apiToken: Self.apiToken)
    }

    static let capacity = NodeCapacity(coresMax: 4, coresFree: 4, memoryMiBMax: 4096, memoryMiBFree: 4000, diskMiBMax: 10, diskMiBFree: 10,
                                       hypervisor: .qemuTCG, hardwareVirtualization: false, hardwareVirtualizationReason: "no vmx", libvirtVersion: "9.0.0")

    /// An enrollment of `mac` with `token`, else with a boot credential minted for it now.
    func enrollBody(_ state: ServeState, mac: String = mac, token: String? = nil) throws -> ByteBuffer {
        let t = try token ?? state.mintBootCredential(for: MACAddress(parsing: mac), to: nil)
        let req = EnrollRequest(mac: mac, hostname: "n1", ip: "10.42.0.2", token: t, image: "default/g1", capacity: Self.capacity,
                                instances: [], uptimeSeconds: 10, controllerVersion: "test")
        return ByteBuffer(bytes: try JSONEncoder().encode(req))
    }

    func beatBody(_ seq: Int, instances: [InstanceStatus] = []) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONEncoder().encode(Heartbeat(capacity: Self.capacity, instances: instances, sequence: seq)))
    }

    @Test func badEnrollmentsGet4xxAndNeverTouchTheNode() async throws {
        let state = try makeState()
        let app = Application(router: buildRouter(state))
        try await app.test(.router) { client in
            let cases: [(ByteBuffer, HTTPResponse.Status)] = [
                (ByteBuffer(string: "{garbage"), .badRequest),
                (ByteBuffer(string: "[]"), .badRequest),
                (ByteBuffer(repeating: UInt8(ascii: "x"), count: NodeAPI.maxBodyBytes + 1), .contentTooLarge),
                (try enrollBody(state, token: String(repeating: "0", count: 32)), .forbidden),
                (try enrollBody(state, token: ""), .forbidden),
                (try enrollBody(state, mac: "02:42:00:00:00:99", token: BootCredential.make()), .forbidden),
                (try enrollBody(state, mac: "not-a-mac", token: "x"), .badRequest),
            ]
            for (body, status) in cases {
                try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: body) { response in
                    #expect(response.status == status)
                    #expect((try? JSONDecoder().decode(APIError.self, from: Data(buffer: response.body)))?.error.isEmpty == false)
                }
            }
        }
        #expect(try state.registry.status("n1")?.state == .registered)
        #expect(state.metrics.rejected == 7 && state.metrics.enrollments == 0)
    }

    /// serve's plain HTTP listener (on the node network) answers no API: the
    /// node API's credentials and the operator's tokens travel only over TLS.
    @Test func plainHTTPAnswersNoAPI() async throws {
        let state = try makeState()
        let app = Application(router: buildRouter(state, role: .plain))
        try await app.test(.router) { client in
            let enroll = try enrollBody(state)
            for (path, method, body) in [(NodeAPI.enrollPath, HTTPRequest.Method.post, enroll), (NodeAPI.heartbeatPath, .post, try beatBody(1)),
                                         (NodeAPI.tokenPath, .post, ByteBuffer(string: #"{"mac":"\#(Self.mac)"}"#)),
                                         ("/api/v1/nodes", .get, ByteBuffer()), ("/api/v1/nodes/n1", .delete, ByteBuffer()),
                                         ("/api/v1/no-such-thing", .put, ByteBuffer())] {
                try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer x"], body: body) { response in
                    let error = (try? JSONDecoder().decode(APIError.self, from: Data(buffer: response.body)))?.error ?? ""
                    #expect(response.status == .forbidden && error.contains("answers over HTTPS only: https://") && error.contains(path), "\(method) \(path): \(error)")
                }
            }
            // Nor the status page or the metrics: the inventory.
            for path in ["/", "/metrics"] {
                try await client.execute(uri: path, method: .get, headers: Self.operatorAuth) { response in
                    #expect(response.status == .forbidden && !String(buffer: response.body).contains("n1"), "\(path)")
                }
            }
            // What is public still answers: the API's document, health.
            try await client.execute(uri: "/api/v1/openapi.json", method: .get) { #expect($0.status == .ok || $0.status == .serviceUnavailable) }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
        // Nothing was enrolled or recorded.
        #expect(try state.registry.status("n1")?.state == .registered)
        #expect(state.metrics.enrollments == 0 && state.metrics.rejected == 8)
    }

    @Test func enrollHeartbeatReplayAndLost() async throws {
        let clock = TestClock()
        let state = try makeState(clock: clock)
        let app = Application(router: buildRouter(state))
        try await app.test(.router) { client in
            let credential = try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: try enrollBody(state)) { response in
                #expect(response.status == .ok)
                return try JSONDecoder().decode(EnrollResponse.self, from: Data(buffer: response.body)).credential
            }
            #expect(try state.registry.status("n1")?.state == .ready)
            let auth: HTTPFields = [.authorization: "Bearer \(credential)"]
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(1)) { #expect($0.status == .ok) }
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: [.authorization: "Bearer forged"], body: try beatBody(9)) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: ByteBuffer(string: "{")) { #expect($0.status == .badRequest) }

            // Silent for 3 beats: lost. A heartbeat brings it back.
            clock.advance(16)
            state.sweepLost()
            #expect(try state.registry.status("n1")?.state == .lost)
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(2)) { #expect($0.status == .ok) }
            #expect(try state.registry.status("n1")?.state == .ready)

            // A new boot's credential does not enroll while the node is up: its live credential stays.
            _ = try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: try enrollBody(state)) { #expect($0.status == .conflict) }
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(3)) { #expect($0.status == .ok) }
            // Once it is down (node rebooted), the new boot enrolls and voids the old credential.
            clock.advance(16)
            let renewed = try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: try enrollBody(state)) { r in
                #expect(r.status == .ok)
                return try JSONDecoder().decode(EnrollResponse.self, from: Data(buffer: r.body)).credential
            }
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(4)) { #expect($0.status == .unauthorized) }
            // A replay shows that two parties hold the credential: it is revoked for both, here and in the registry.
            let both: HTTPFields = [.authorization: "Bearer \(renewed)"]
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: both, body: try beatBody(5)) { #expect($0.status == .ok) }
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: both, body: try beatBody(5)) { #expect($0.status == .conflict) }
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: both, body: try beatBody(6)) { #expect($0.status == .unauthorized) }
            #expect(try state.registry.nodeCredential(digest: Secret.digest(renewed)) == nil)
        }
    }

    /// A boot credential enrolls once: asked for, used, refused the second
    /// time (and the live credential stays), never given while the node is up,
    /// and expired after its lifetime.
    @Test func aBootCredentialEnrollsOnce() async throws {
        let clock = TestClock()
        let state = try makeState(clock: clock)
        let app = Application(router: buildRouter(state))
        let ask = ByteBuffer(bytes: try JSONEncoder().encode(NodeTokenRequest(mac: Self.mac)))
        try await app.test(.router) { client in
            let given = try await client.execute(uri: NodeAPI.tokenPath, method: .post, body: ask) { r in
                #expect(r.status == .ok)
                return try JSONDecoder().decode(NodeTokenResponse.self, from: Data(buffer: r.body)).token
            }
            // The registry keeps its digest, never the credential.
            let kept = try #require(try state.registry.bootCredential(mac: MACAddress(parsing: Self.mac)))
            #expect(kept.digest == BootCredential.digest(given) && kept.usedAt == nil)
            let credential = try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: try enrollBody(state, token: given)) { r in
                #expect(r.status == .ok)
                return try JSONDecoder().decode(EnrollResponse.self, from: Data(buffer: r.body)).credential
            }
            let auth: HTTPFields = [.authorization: "Bearer \(credential)"]
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(1)) { #expect($0.status == .ok) }
            // The same boot again (a replay, or someone who read it): refused, logged, the live credential stays.
            try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: try enrollBody(state, token: given)) { r in
                #expect(r.status == .conflict)
                let message = try JSONDecoder().decode(APIError.self, from: Data(buffer: r.body)).error
                #expect(message.contains("one boot enrolls once"), "\(message)")
            }
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(2)) { #expect($0.status == .ok) }
            // No new credential while the node is up.
            try await client.execute(uri: NodeAPI.tokenPath, method: .post, body: ask) { #expect($0.status == .conflict) }
            // Down (no heartbeat for 3 beats): a new one, which expires unused after its lifetime.
            clock.advance(16)
            let late = try await client.execute(uri: NodeAPI.tokenPath, method: .post, body: ask) { r in
                #expect(r.status == .ok)
                return try JSONDecoder().decode(NodeTokenResponse.self, from: Data(buffer: r.body)).token
            }
            clock.advance(BootCredential.lifetime + 1)
            try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: try enrollBody(state, token: late)) { #expect($0.status == .forbidden) }
        }
        #expect(state.metrics.enrollments == 1 && state.metrics.rejected == 3)
    }

    /// A node with a TPM is bound to its key at its first enrollment that
    /// proves one; after that an enrollment without the proof, or with
    /// another key, is refused (the other key kept for the operator, the boot
    /// credential not used up), and the operator's accept lets the new key in.
    @Test func aNodeBoundToItsTPMKeyMustProveIt() async throws {
        let clock = TestClock()
        let state = try makeState(clock: clock)
        let app = Application(router: buildRouter(state))
        let tpm = P256.Signing.PrivateKey(), other = P256.Signing.PrivateKey()
        let n1 = try Hostname(parsing: "n1")
        /// An enrollment with a new boot credential (or `token`), and a proof by `key` (signed over `signedFor` instead, if given).
        func body(_ key: P256.Signing.PrivateKey?, token: String? = nil, signedFor: String? = nil) throws -> ByteBuffer {
            let t = try token ?? state.mintBootCredential(for: MACAddress(parsing: Self.mac), to: nil)
            let proof = try key.map { key in
                TPMProof(publicKey: key.publicKey.pemRepresentation,
                         signature: try key.signature(for: TPMProof.message(mac: Self.mac, token: signedFor ?? t)).derRepresentation.base64EncodedString())
            }
            let req = EnrollRequest(mac: Self.mac, hostname: "n1", ip: "10.42.0.2", token: t, image: "default/g1", capacity: Self.capacity,
                                    instances: [], uptimeSeconds: 10, controllerVersion: "test", tpm: proof)
            return ByteBuffer(bytes: try JSONEncoder().encode(req))
        }
        func enroll(_ body: ByteBuffer) async throws -> (HTTPResponse.Status, String) {
            clock.advance(16)  // each enrollment is a new boot, once the last one is down
            return try await app.test(.router) { client in
                try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: body) { r in
                    (r.status, (try? JSONDecoder().decode(APIError.self, from: Data(buffer: r.body)))?.error ?? "")
                }
            }
        }
        let fingerprint = try TPMBinding.fingerprint(publicKeyPEM: tpm.publicKey.pemRepresentation)
        #expect(try await enroll(try body(tpm)).0 == .ok)
        #expect(try state.registry.tpmKey(hostname: n1)?.fingerprint == fingerprint, "pinned at the first enrollment that proves a key")
        #expect(try await enroll(try body(tpm)).0 == .ok, "the same key proves itself again")

        // Someone with a boot credential but not the TPM: refused, and the credential is not used up.
        let token = try state.mintBootCredential(for: MACAddress(parsing: Self.mac), to: nil)
        let without = try await enroll(try body(nil, token: token))
        #expect(without.0 == .forbidden && without.1.contains("bound to TPM key \(fingerprint)"), "\(without)")
        let changed = try await enroll(try body(other, token: token))
        #expect(changed.0 == .forbidden && changed.1.contains("TPM key changed"), "\(changed)")
        let otherPrint = try TPMBinding.fingerprint(publicKeyPEM: other.publicKey.pemRepresentation)
        let kept = try #require(try state.registry.tpmKey(hostname: n1))
        #expect(kept.fingerprint == fingerprint && kept.pending == otherPrint, "the other key is kept for the operator: \(kept)")
        // A proof signed for another boot's credential does not hold.
        let stale = try await enroll(try body(tpm, token: token, signedFor: "another"))
        #expect(stale.0 == .forbidden && stale.1.contains("TPM proof refused"), "\(stale)")
        // The real node, with its TPM, still enrolls with that same credential.
        #expect(try await enroll(try body(tpm, token: token)).0 == .ok, "a refused enrollment must not use up the boot credential")

        // The operator accepts the new key: from then on it is the one that enrolls.
        try state.registry.setTPMKey(hostname: n1, TPMKeyRecord(fingerprint: otherPrint, pinnedAt: "t"), action: "node.tpm.accept", now: "t")
        #expect(try await enroll(try body(tpm)).0 == .forbidden)
        #expect(try await enroll(try body(other)).0 == .ok)
        #expect(try state.registry.audit(since: nil, limit: 10).map(\.action).filter { $0.hasPrefix("node.tpm") } == ["node.tpm.pin", "node.tpm.accept"])
    }

    /// The registry keeps each node's heartbeat credential (a digest): a
    /// restarted serve, or another boot server on the same registry, takes the
    /// node's heartbeats; an enrollment at another boot server makes the old
    /// credential worthless here once it is checked again.
    @Test func heartbeatCredentialsOutliveARestartAndFollowTheRegistry() async throws {
        let clock = TestClock()
        let first = try makeState(clock: clock)
        let credential = try await Application(router: buildRouter(first)).test(.router) { client in
            try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: try enrollBody(first)) { r in
                try JSONDecoder().decode(EnrollResponse.self, from: Data(buffer: r.body)).credential
            }
        }
        // Another serve on the same registry (a restart, or a second boot server).
        let second = ServeState(config: first.config, registry: first.registry, heartbeatSeconds: 5, lostAfterBeats: 3,
                                logger: Logger(label: "test"), clock: { clock.read() })
        let auth: HTTPFields = [.authorization: "Bearer \(credential)"]
        try await Application(router: buildRouter(second)).test(.router) { client in
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(1)) { #expect($0.status == .ok) }
        }
        // The node reboots and enrolls at the second server: the first stops taking the old credential once it checks again.
        clock.advance(16)
        let renewed = try await Application(router: buildRouter(second)).test(.router) { client in
            try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: try enrollBody(second)) { r in
                #expect(r.status == .ok)
                return try JSONDecoder().decode(EnrollResponse.self, from: Data(buffer: r.body)).credential
            }
        }
        try await Application(router: buildRouter(first)).test(.router) { client in
            clock.advance(CredentialStore.recheckSeconds + 1)
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(2)) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: [.authorization: "Bearer \(renewed)"], body: try beatBody(3)) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test func heartbeatsCarryInstanceWorkUntilTheNodeReportsIt() async throws {
        let state = try makeState()
        let app = Application(router: buildRouter(state))
        try await app.test(.router) { client in
            let credential = try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: try enrollBody(state)) { response in
                try JSONDecoder().decode(EnrollResponse.self, from: Data(buffer: response.body)).credential
            }
            let rec = try state.registry.runInstance(id: "i-1", type: VMType.defaults[0], spec: InstanceSpec(id: "i-1", vcpus: 1, memoryMiB: 128, kernel: "/vmlinuz"),
                                                     only: nil, now: "2026-01-01T00:00:01Z")
            #expect(rec.node == "n1" && rec.state == .pending)
            let auth: HTTPFields = [.authorization: "Bearer \(credential)"]
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(1)) { response in
                let r = try JSONDecoder().decode(HeartbeatResponse.self, from: Data(buffer: response.body))
                #expect(r.run.map(\.id) == ["i-1"] && r.terminate.isEmpty)
            }
            let running = [InstanceStatus(id: "i-1", state: .running, vcpus: 1, memoryMiB: 128)]
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(2, instances: running)) { response in
                let r = try JSONDecoder().decode(HeartbeatResponse.self, from: Data(buffer: response.body))
                #expect(r.run.isEmpty && r.terminate.isEmpty)
            }
            #expect(try state.registry.instances().first?.state == .running)
            _ = try state.registry.terminateInstance("i-1", now: "2026-01-01T00:00:02Z")
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(3, instances: running)) { response in
                let r = try JSONDecoder().decode(HeartbeatResponse.self, from: Data(buffer: response.body))
                #expect(r.terminate == ["i-1"])
            }
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: auth, body: try beatBody(4)) { _ in }
            #expect(try state.registry.instances().first?.state == .terminated)
        }
    }

    @Test func metricsStatusPageAndNodesAPI() async throws {
        let state = try makeState()
        let app = Application(router: buildRouter(state))
        try await app.test(.router) { client in
            // Reads of the inventory: a token first (a browser gets a login prompt for the page).
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .unauthorized && response.headers[.wwwAuthenticate]?.hasPrefix("Basic realm=") == true)
                #expect(!String(buffer: response.body).contains("n1"))
            }
            try await client.execute(uri: "/metrics", method: .get, headers: Self.operatorAuth) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("provisioner_nodes{state=\"registered\"} 1"))
                #expect(text.contains("# TYPE provisioner_http_bytes_total counter"))
            }
            // The browser's way: any user name, the token as the password.
            let basic = "Basic " + Data("operator:\(Self.apiToken)".utf8).base64EncodedString()
            try await client.execute(uri: "/", method: .get, headers: [.authorization: basic]) { response in
                let page = String(buffer: response.body)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(page.contains("<td>n1</td>") && page.contains("registered"))
            }
            try await client.execute(uri: "/api/v1/nodes/n1", method: .get, headers: Self.operatorAuth) { response in
                #expect(response.status == .ok)
                let status = try JSONDecoder().decode(NodeStatus.self, from: Data(buffer: response.body))
                #expect(status.hostname == "n1")
            }
            try await client.execute(uri: "/api/v1/nodes/nope", method: .get, headers: Self.operatorAuth) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/boot/zz-not-a-mac.ipxe", method: .get) { #expect($0.status == .notFound) }
        }
    }

    /// Group commit: 200 heartbeats of 50 nodes at once are all recorded, each
    /// answered with its own node's work, in fewer transactions than heartbeats.
    @Test func concurrentHeartbeatsShareTransactions() async throws {
        let state = try makeState()
        var specs: [NodeSpec] = []
        for i in 2...50 { specs.append(NodeSpec(hostname: try Hostname(parsing: "b\(i)"), mac: try MACAddress(parsing: String(format: "02:43:00:00:00:%02x", i)))) }
        try state.registry.add(specs, config: state.config, now: "2026-01-01T00:00:00Z")
        let hosts = try state.registry.nodes().map(\.hostname)
        let capacity = Self.capacity
        for h in hosts { try state.registry.recordEnrollment(hostname: h, image: nil, capacity: capacity, instances: [], now: "2026-01-01T00:00:01Z") }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for k in 0..<200 {
                let host = hosts[k % hosts.count]
                group.addTask {
                    let work = try await state.heartbeats.submit(.init(hostname: host, capacity: capacity, reported: []))
                    return work.run.count + work.terminate.count
                }
            }
            var answered = 0
            for try await n in group { #expect(n == 0); answered += 1 }
            #expect(answered == 200)
        }
        #expect(try state.registry.statuses().allSatisfy { $0.state == .ready }, "every node's heartbeat was recorded")
        #expect(state.heartbeats.largestBatch.load(ordering: .relaxed) > 1, "every heartbeat had its own transaction")
    }
}

extension ServerTests {
    /// The OpenAPI document is served, parses, and documents the API's routes.
    @Test func openAPIDocumentIsServed() async throws {
        let state = try makeState()
        let app = Application(router: buildRouter(state))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                let doc = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let paths = (doc?["paths"] as? [String: Any]).map { Set($0.keys) } ?? []
                for p in ["/api/v1/nodes", "/api/v1/nodes/{name}", "/api/v1/discovered/{mac}/accept", "/api/v1/enroll", "/api/v1/heartbeat"] {
                    #expect(paths.contains(p), "\(p) is not documented")
                }
            }
        }
    }
}

extension ServerTests {
    /// The node's own boot timings: what it knew at enrollment, then the finished boot from a heartbeat, shown by the API.
    @Test func bootTimingsFromEnrollmentAndHeartbeatAreShown() async throws {
        let state = try makeState()
        let app = Application(router: buildRouter(state))
        let early = BootTimings(kernelSeconds: 14.2, controllerStartSeconds: 8.1)
        let done = BootTimings(kernelSeconds: 14.2, controllerStartSeconds: 8.1, userspaceSeconds: 31.9,
                               slowestUnits: [.init(unit: "libvirtd.service", seconds: 5.0)])
        try await app.test(.router) { client in
            let t = try state.mintBootCredential(for: MACAddress(parsing: Self.mac), to: nil)
            let req = EnrollRequest(mac: Self.mac, hostname: "n1", ip: "10.42.0.2", token: t, image: "default/g1", capacity: Self.capacity,
                                    instances: [], uptimeSeconds: 22, controllerVersion: "test", bootTimings: early)
            let credential = try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: ByteBuffer(bytes: try JSONEncoder().encode(req))) { r in
                try JSONDecoder().decode(EnrollResponse.self, from: Data(buffer: r.body)).credential
            }
            #expect(try state.registry.status("n1")?.bootTimings == early)
            let beat = Heartbeat(capacity: Self.capacity, instances: [], sequence: 1, bootTimings: done)
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: [.authorization: "Bearer \(credential)"],
                                     body: ByteBuffer(bytes: try JSONEncoder().encode(beat))) { #expect($0.status == .ok) }
            // A later heartbeat without timings keeps them.
            let next = Heartbeat(capacity: Self.capacity, instances: [], sequence: 2)
            try await client.execute(uri: NodeAPI.heartbeatPath, method: .post, headers: [.authorization: "Bearer \(credential)"],
                                     body: ByteBuffer(bytes: try JSONEncoder().encode(next))) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/nodes/n1", method: .get, headers: Self.operatorAuth) { r in
                let node = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
                let timings = node?["boot_timings"] as? [String: Any]
                #expect(timings?["userspace_seconds"] as? Double == 31.9 && timings?["kernel_seconds"] as? Double == 14.2, "\(String(describing: node))")
                #expect((timings?["slowest_units"] as? [[String: Any]])?.first?["unit"] as? String == "libvirtd.service")
            }
        }
    }
}

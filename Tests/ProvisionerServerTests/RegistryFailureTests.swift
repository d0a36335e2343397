import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore
import Testing
@testable import ProvisionerServer

/// serve with a registry that fails on demand: every failure of the store is
/// an answer of its kind (503 with Retry-After for an unreachable database,
/// 409 for a constraint, 500 otherwise) with a JSON body, never an empty
/// reply; nothing changes; the heartbeat writer survives a failed batch.
struct RegistryFailureTests {
    static let mac = "02:43:00:00:00:01"
    static let token = String(repeating: "cd", count: 32)

    func makeState(dhcp: String = "proxy") throws -> (ServeState, FailingRegistry) {
        let dir = NSTemporaryDirectory() + "provisioner-failing-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = try SiteConfig(yaml: """
            interface: eth0
            server_ip: 10.43.0.1
            subnet: 10.43.0.0/24
            dhcp: {mode: \(dhcp)}
            paths: {http_root: \(dir)/http, tftp_root: \(dir)/tftp, images: \(dir)/images, run_dir: \(dir)/run}
            debian: {mirror: http://mirror.example/debian}
            profiles: {default: {image: default}}
            """)
        let base = try SQLiteRegistry(path: dir + "/registry.sqlite")
        try base.add([NodeSpec(hostname: try Hostname(parsing: "n1"), mac: try MACAddress(parsing: Self.mac))], config: config, now: "2026-01-01T00:00:00Z")
        let registry = FailingRegistry(base)
        let state = ServeState(config: config, registry: registry, logger: Logger(label: "test"), apiToken: Self.token)
        return (state, registry)
    }

    struct Answer {
        var status: HTTPResponse.Status
        var retryAfter: String?
        var error: APIError?
    }

    func send(_ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: ByteBuffer = ByteBuffer(),
              bearer: String? = token) async throws -> Answer {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body) { r in
            Answer(status: r.status, retryAfter: r.headers[.retryAfter], error: try? JSONDecoder().decode(APIError.self, from: Data(buffer: r.body)))
        }
    }

    @Test func eachStoreFailureIsAnAnswerOfItsKindAndChangesNothing() async throws {
        let (state, registry) = try makeState()
        let before = try registry.base.nodes()
        let app = Application(router: buildRouter(state))
        let add = ByteBuffer(string: #"{"hostname":"n2","mac":"02:43:00:00:00:02"}"#)
        try await app.test(.router) { client in
            let cases: [(RegistryError, HTTPResponse.Status, String?)] = [
                (RegistryError("database unreachable (injected)", kind: .unavailable), .serviceUnavailable, "5"),
                (RegistryError("the registry stayed locked (injected)", kind: .busy), .serviceUnavailable, "5"),
                (RegistryError("constraint (injected)", kind: .conflict), .conflict, nil),
                (RegistryError("disk image is malformed (injected)", kind: .failed), .internalServerError, nil),
            ]
            for (error, status, retry) in cases {
                registry.fail([.add, .remove, .read], with: error)
                for (method, uri, body) in [(HTTPRequest.Method.post, "/api/v1/nodes", add), (.delete, "/api/v1/nodes/n1", ByteBuffer()), (.get, "/api/v1/nodes", ByteBuffer())] {
                    let a = try await send(client, method, uri, body)
                    #expect(a.status == status, "\(method) \(uri) with \(error.kind): \(a.status)")
                    #expect(a.retryAfter == retry, "\(method) \(uri): Retry-After \(a.retryAfter ?? "none")")
                    #expect(a.error?.kind == error.kind && a.error?.error == error.description, "\(method) \(uri): \(String(describing: a.error))")
                }
            }
            registry.heal()
            #expect(try await send(client, .get, "/api/v1/nodes").status == .ok)
        }
        #expect(try registry.base.nodes() == before)
    }

    /// A made-up heartbeat credential from an address no node has never costs
    /// a registry read with authoritative DHCP (the registry failing shows it:
    /// 401, not 503); with proxy DHCP serve cannot tell, and asks.
    @Test func madeUpCredentialsFromNoNodesAddressNeverReachTheRegistry() async throws {
        for (mode, expected) in [("authoritative, range: 10.43.0.200-10.43.0.220", HTTPResponse.Status.unauthorized), ("proxy", .serviceUnavailable)] {
            let (state, registry) = try makeState(dhcp: mode)
            state.follow()
            registry.fail([.heartbeats])
            let app = Application(router: buildRouter(state))
            let capacity = NodeCapacity(coresMax: 2, coresFree: 2, memoryMiBMax: 1024, memoryMiBFree: 1000, diskMiBMax: 1, diskMiBFree: 1,
                                        hypervisor: .qemuTCG, hardwareVirtualization: false, hardwareVirtualizationReason: nil, libvirtVersion: nil)
            let beat = ByteBuffer(bytes: try JSONEncoder().encode(Heartbeat(capacity: capacity, instances: [], sequence: 1)))
            try await app.test(.router) { client in
                let answer = try await send(client, .post, NodeAPI.heartbeatPath, beat, bearer: "made-up")
                #expect(answer.status == expected, "\(mode)")
            }
        }
    }

    @Test func enrollmentAndHeartbeatsAreRetryableWhileTheStoreIsDown() async throws {
        let (state, registry) = try makeState()
        let app = Application(router: buildRouter(state))
        let capacity = NodeCapacity(coresMax: 2, coresFree: 2, memoryMiBMax: 1024, memoryMiBFree: 1000, diskMiBMax: 1, diskMiBFree: 1,
                                    hypervisor: .qemuTCG, hardwareVirtualization: false, hardwareVirtualizationReason: "no vmx", libvirtVersion: "9.0.0")
        let mac = try MACAddress(parsing: Self.mac)
        let enroll = ByteBuffer(bytes: try JSONEncoder().encode(EnrollRequest(
            mac: Self.mac, hostname: "n1", ip: "10.43.0.2", token: try state.mintBootCredential(for: mac, to: nil), image: "default/g1",
            capacity: capacity, instances: [], uptimeSeconds: 1, controllerVersion: "test")))
        let beat1 = ByteBuffer(bytes: try JSONEncoder().encode(Heartbeat(capacity: capacity, instances: [], sequence: 1)))
        let beat2 = ByteBuffer(bytes: try JSONEncoder().encode(Heartbeat(capacity: capacity, instances: [], sequence: 2)))
        try await app.test(.router) { client in
            registry.fail([.enrollment])
            let refused = try await send(client, .post, NodeAPI.enrollPath, enroll, bearer: nil)
            #expect(refused.status == .serviceUnavailable && refused.retryAfter != nil && refused.error?.kind == .unavailable)
            #expect(try registry.base.status("n1")?.state == .registered, "a refused enrollment records nothing")

            registry.heal()
            let credential = try await client.execute(uri: NodeAPI.enrollPath, method: .post, body: enroll) { r in
                try JSONDecoder().decode(EnrollResponse.self, from: Data(buffer: r.body)).credential
            }
            registry.fail([.heartbeats])
            let lost = try await send(client, .post, NodeAPI.heartbeatPath, beat1, bearer: credential)
            #expect(lost.status == .serviceUnavailable && lost.retryAfter != nil, "\(lost)")
            registry.heal()
            // The writer thread survived the failed batch: the next heartbeat is recorded.
            #expect(try await send(client, .post, NodeAPI.heartbeatPath, beat2, bearer: credential).status == .ok)
        }
        #expect(try registry.base.status("n1")?.state == .ready)
    }

    @Test func aFailedBatchFailsEveryHeartbeatInItAndTheNextBatchIsWritten() async throws {
        let (state, registry) = try makeState()
        let capacity = NodeCapacity(coresMax: 1, coresFree: 1, memoryMiBMax: 512, memoryMiBFree: 512, diskMiBMax: 1, diskMiBFree: 1,
                                    hypervisor: .none, hardwareVirtualization: false, hardwareVirtualizationReason: "test", libvirtVersion: nil)
        let record = HeartbeatRecord(hostname: try Hostname(parsing: "n1"), capacity: capacity, reported: [])
        try registry.base.recordEnrollment(hostname: record.hostname, image: nil, capacity: capacity, instances: [], now: "2026-01-01T00:00:01Z")
        registry.fail([.heartbeats])
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask { (try? await state.heartbeats.submit(record)) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.count == 20 && outcomes.allSatisfy { !$0 }, "every queued heartbeat gets the error, none hangs")
        registry.heal()
        let work = try await state.heartbeats.submit(record)
        #expect(work.run.isEmpty && work.terminate.isEmpty)
        #expect(try registry.base.status("n1")?.lastHeartbeat.map { $0 > "2026-01-01T00:00:01Z" } == true, "the heartbeat after the failure is recorded")
    }
}

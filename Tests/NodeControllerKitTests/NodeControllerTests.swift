import Foundation
import ProvisionerAPI
import Testing
@testable import NodeControllerKit

/// The controller loop against a scripted server and an in-memory hypervisor.
@Suite struct NodeControllerTests {
    let transport = ScriptedTransport()
    let hypervisor = FakeHypervisor()
    let capture = LogCapture()
    let server = URL(string: "http://10.0.0.1:8080")!

    /// Random numbers: no jitter (factor 1) unless a test says otherwise.
    func controller(random: @escaping @Sendable (ClosedRange<Double>) -> Double = { _ in 1 }) -> NodeController {
        NodeController(client: ServerClient(server: server, transport: transport), hypervisor: hypervisor,
                       enrollment: .init(mac: "52:54:00:12:34:56", hostname: "node1", ip: "10.0.0.21", token: "tok", image: "default/3"),
                       log: capture.log, backoff: Backoff(random: random), sleep: { _ in }, uptime: { 12.5 })
    }

    static let enrolled = ScriptedTransport.json(EnrollResponse(hostname: "node1", credential: "cred-1", heartbeatSeconds: 5))
    static let ok = ScriptedTransport.json(HeartbeatResponse(heartbeatSeconds: 5))

    func body<T: Decodable>(_ type: T.Type, _ index: Int) throws -> T {
        try JSONDecoder().decode(T.self, from: try #require(transport.requests[index].body))
    }

    @Test func enrollThenHeartbeats() async throws {
        transport.append(Self.enrolled, Self.ok, Self.ok)
        let c = controller()
        #expect(await c.step() == 5)
        #expect(capture.contains("enrolled as node1 at http://10.0.0.1:8080, heartbeat every 5s"))
        await c.step()
        await c.step()

        let r = transport.requests
        #expect(r.map(\.url.absoluteString) == ["http://10.0.0.1:8080/api/v1/enroll", "http://10.0.0.1:8080/api/v1/heartbeat", "http://10.0.0.1:8080/api/v1/heartbeat"])
        #expect(r.allSatisfy { $0.method == "POST" && $0.headers["Content-Type"] == "application/json" })
        #expect(r[0].headers["Authorization"] == nil)
        #expect(r[1].headers["Authorization"] == "Bearer cred-1")
        let enroll = try body(EnrollRequest.self, 0)
        #expect(enroll.mac == "52:54:00:12:34:56" && enroll.token == "tok" && enroll.image == "default/3" && enroll.ip == "10.0.0.21")
        #expect(enroll.uptimeSeconds == 12.5 && enroll.controllerVersion == NodeControllerKit.version)
        #expect(enroll.capacity == FakeHypervisor.capacity)
        #expect(try body(Heartbeat.self, 1).sequence == 1)
        #expect(try body(Heartbeat.self, 2).sequence == 2)
        #expect(await c.failures == 0)
    }

    /// A new boot credential from serve.
    static func given(_ token: String) -> ScriptedTransport.Step { ScriptedTransport.json(NodeTokenResponse(token: token)) }

    /// pxelinux and GRUB boot files carry no boot credential: the controller
    /// asks serve for one (refused while serve counts the node as up, then
    /// given) and enrolls with it.
    @Test func withoutACredentialItAsksForOneAndEnrollsWithIt() async throws {
        transport.append(ScriptedTransport.json(APIError(error: "node1 is up (its last heartbeat 3 s ago)"), status: 409),
                         Self.given("given-token"), Self.enrolled, Self.ok)
        let c = NodeController(client: ServerClient(server: server, transport: transport), hypervisor: hypervisor,
                               enrollment: .init(mac: "52:54:00:12:34:56", hostname: "node1", ip: "10.0.0.21", token: nil, image: nil),
                               log: capture.log, backoff: Backoff(random: { _ in 1 }), sleep: { _ in }, uptime: { 30 })
        #expect(await c.step() > 0, "a refusal backs off")
        #expect(capture.contains("for a boot credential: rejected (409: node1 is up"), "\(capture.lines)")
        #expect(await c.token == nil)
        #expect(await c.step() == 0, "with the credential, it enrolls at once")
        #expect(await c.token == "given-token")
        await c.step()
        await c.step()
        let r = transport.requests
        #expect(r.map(\.url.path) == ["/api/v1/node-token", "/api/v1/node-token", "/api/v1/enroll", "/api/v1/heartbeat"])
        #expect(try body(NodeTokenRequest.self, 0) == NodeTokenRequest(mac: "52:54:00:12:34:56"))
        #expect(try body(EnrollRequest.self, 2).token == "given-token")
        #expect(await c.credential == "cred-1")
    }

    /// A boot credential serve does not take (from the boot files but used
    /// already, as after a restart of this controller; or one it gave that
    /// expired) is dropped and a new one asked for; junk in an answer is not taken.
    @Test func aRefusedCredentialIsReplacedByANewOne() async throws {
        transport.append(ScriptedTransport.json(APIError(error: "the boot credential of node1 was used at …: one boot enrolls once"), status: 409),
                         Self.given("two words"), Self.given("old"),
                         ScriptedTransport.json(APIError(error: "the boot credential of node1 expired"), status: 403),
                         Self.given("new"), Self.enrolled)
        let c = controller()
        for _ in 0..<6 { await c.step() }
        #expect(transport.requests.map(\.url.path) == ["/api/v1/enroll", "/api/v1/node-token", "/api/v1/node-token", "/api/v1/enroll",
                                                       "/api/v1/node-token", "/api/v1/enroll"])
        #expect(try body(EnrollRequest.self, 0).token == "tok" && body(EnrollRequest.self, 3).token == "old" && body(EnrollRequest.self, 5).token == "new")
        #expect(await c.credential == "cred-1")
        #expect(capture.contains("the answer's credential is empty or not one word"), "\(capture.lines)")
    }

    /// A heartbeat taken as replayed (someone else sends with this credential,
    /// or pushed its count ahead; serve revokes it): the node gets a new boot
    /// credential and enrolls again for a new heartbeat credential.
    @Test func aHeartbeatRefusedAsReplayedEnrollsAgain() async throws {
        let second = ScriptedTransport.json(EnrollResponse(hostname: "node1", credential: "cred-2", heartbeatSeconds: 5))
        transport.append(Self.enrolled, ScriptedTransport.json(APIError(error: "heartbeat 1 of node1 replayed or out of order"), status: 409),
                         Self.given("t2"), second, Self.ok)
        let c = controller()
        await c.step()
        #expect(await c.step() == 0, "asks again at once")
        #expect(await [c.credential, c.token] == [nil, nil])
        for _ in 0..<3 { await c.step() }
        let r = transport.requests
        #expect(r.map(\.url.path) == ["/api/v1/enroll", "/api/v1/heartbeat", "/api/v1/node-token", "/api/v1/enroll", "/api/v1/heartbeat"])
        #expect(try body(EnrollRequest.self, 3).token == "t2")
        #expect(r[4].headers["Authorization"] == "Bearer cred-2")
        #expect(capture.contains("refused (409: heartbeat 1 of node1 replayed or out of order); enrolling again"), "\(capture.lines)")
    }

    @Test func onlyOneWordOfPrintableASCIIIsACredential() {
        for good in ["abc123", "0f" + String(repeating: "a", count: 30), "~!@"] { #expect(NodeController.isCredential(good), "\(good)") }
        for bad in ["", "two words", "tab\there", "new\nline", "é", "\u{7f}"] { #expect(!NodeController.isCredential(bad), "\(bad)") }
    }

    /// libvirtd's first answer after boot takes ~30 s under TCG: the node enrolls
    /// without it and keeps its heartbeats on time, then reports the hypervisor once it answers.
    @Test func enrollsAndBeatsWhileTheHypervisorDoesNotAnswer() async throws {
        transport.append(Self.enrolled, Self.ok, Self.ok)
        hypervisor.gate.close()
        let c = NodeController(client: ServerClient(server: server, transport: transport), hypervisor: hypervisor,
                               enrollment: .init(mac: "52:54:00:12:34:56", hostname: "node1", ip: "10.0.0.21", token: "tok", image: nil),
                               log: capture.log, sleep: { _ in }, uptime: { 3 }, hypervisorWait: 0.2)
        // The hypervisor answers nothing until the gate opens below: these two go without it.
        await c.step()
        await c.step()
        let enroll = try body(EnrollRequest.self, 0)
        #expect(enroll.capacity.hypervisor == .none && enroll.capacity.coresMax >= 1 && enroll.capacity.memoryMiBMax > 0)
        #expect(enroll.capacity.hardwareVirtualizationReason?.contains("has not answered within 0.2s") == true)
        #expect(enroll.instances.isEmpty)
        #expect(try body(Heartbeat.self, 1).capacity.hypervisor == .none)
        // One question in flight, not one per step.
        #expect(hypervisor.gate.waiting == 1)
        hypervisor.gate.openUp()
        await c.step()
        #expect(try body(Heartbeat.self, 2).capacity == FakeHypervisor.capacity)
        #expect(await c.credential == "cred-1")
    }

    /// A libvirt that always answers just after the deadline is still heard: its last
    /// answer stands in while it is recent, rather than "none" on every heartbeat.
    /// (The gate decides when the hypervisor answers, so no timing can change the outcome.)
    @Test(arguments: [(30.0, true), (0.0, false)])
    func aLateAnswerStandsInWhileItIsRecent(keepLate: Double, standsIn: Bool) async throws {
        defer { hypervisor.gate.openUp() }
        let reader = HypervisorReader(hypervisor: hypervisor, keepLate: keepLate)
        hypervisor.gate.close()
        #expect(await reader.read(within: 0.05) == nil, "nothing heard yet")
        hypervisor.gate.openUp()
        for _ in 0..<200 where !reader.hasAnswered { try await Task.sleep(nanoseconds: 50_000_000) }
        try #require(reader.hasAnswered, "the first question was answered after its deadline")
        hypervisor.gate.close()
        try await Task.sleep(nanoseconds: 10_000_000)
        let late = await reader.read(within: 0.05)
        #expect((late?.capacity == FakeHypervisor.capacity) == standsIn, "keepLate \(keepLate): \(String(describing: late?.capacity))")
    }

    /// proxyDHCP: the site's DHCP server named the node otherwise; the registered name wins.
    @Test func enrollmentAnswerRenamesTheNode() async {
        let names = Names()
        transport.append(ScriptedTransport.json(EnrollResponse(hostname: "rack1-n07", credential: "cred-1", heartbeatSeconds: 5)))
        let c = NodeController(client: ServerClient(server: server, transport: transport), hypervisor: hypervisor,
                               enrollment: .init(mac: "52:54:00:12:34:56", hostname: "dhcp-10-0-0-21", ip: "10.0.0.21", token: "tok", image: nil),
                               log: capture.log, sleep: { _ in }, uptime: { 1 }, rename: { names.append($0); return true })
        await c.step()
        #expect(names.all == ["rack1-n07"])
        #expect(capture.contains("host name set to rack1-n07, the registered name (DHCP gave dhcp-10-0-0-21)"))
        // The same name: nothing to do.
        transport.append(Self.enrolled)
        let same = NodeController(client: ServerClient(server: server, transport: transport), hypervisor: hypervisor,
                                  enrollment: .init(mac: "52:54:00:12:34:56", hostname: "node1", ip: "10.0.0.21", token: "tok", image: nil),
                                  log: capture.log, sleep: { _ in }, uptime: { 1 }, rename: { names.append($0); return true })
        await same.step()
        #expect(names.all == ["rack1-n07"])
    }

    @Test func heartbeatIntervalIsJitteredTenPercent() async {
        transport.append(ScriptedTransport.json(EnrollResponse(hostname: "n", credential: "c", heartbeatSeconds: 10)))
        let low = controller(random: { $0.lowerBound })
        #expect(abs(await low.step() - 9) < 1e-9)
        transport.append(ScriptedTransport.json(EnrollResponse(hostname: "n", credential: "c", heartbeatSeconds: 10)))
        let high = controller(random: { $0.upperBound })
        #expect(abs(await high.step() - 11) < 1e-9)
    }

    @Test func unauthorizedHeartbeatEnrollsAgain() async throws {
        transport.append(Self.enrolled, Self.ok, .respond(401, Data(#"{"error":"unknown credential"}"#.utf8)), Self.given("t2"),
                         ScriptedTransport.json(EnrollResponse(hostname: "node1", credential: "cred-2", heartbeatSeconds: 5)), Self.ok)
        let c = controller()
        await c.step()
        await c.step()
        #expect(await c.step() == 0)  // first 401: enroll again at once
        #expect(await [c.credential, c.token] == [nil, nil], "the boot credential was used up by the enrollment")
        #expect(capture.contains("heartbeat 2 refused (401: unknown credential); enrolling again"))
        await c.step()
        await c.step()
        #expect(await c.credential == "cred-2")
        await c.step()
        let r = transport.requests
        #expect(r.map { $0.url.path } == ["/api/v1/enroll", "/api/v1/heartbeat", "/api/v1/heartbeat", "/api/v1/node-token", "/api/v1/enroll",
                                          "/api/v1/heartbeat"])
        #expect(r[5].headers["Authorization"] == "Bearer cred-2")
        #expect(try body(Heartbeat.self, 5).sequence == 3)  // still increasing
    }

    @Test func repeated401sBackOff() async {
        let c = controller()
        var delays: [Double] = []
        for round in 0..<3 {
            if round > 0 { transport.append(Self.given("t\(round)")) }
            transport.append(Self.enrolled, .respond(401, Data()))
            if round > 0 { #expect(await c.step() == 0, "a new boot credential, then the enrollment at once") }
            await c.step()
            delays.append(await c.step())
        }
        #expect(delays == [0, 1, 2])
    }

    @Test func unreachableAnd5xxBackOffExponentiallyUpToTheCap() async {
        for i in 0..<9 {
            transport.append(i % 3 == 0 ? .respond(503, Data(#"{"error":"registry busy"}"#.utf8)) : .fail(URLError(i % 3 == 1 ? .timedOut : .cannotConnectToHost)))
        }
        transport.append(Self.enrolled)
        let c = controller()
        var delays: [Double] = []
        for _ in 0..<10 { delays.append(await c.step()) }
        #expect(delays == [1, 2, 4, 8, 16, 30, 30, 30, 30, 5])
        #expect(capture.contains("server error (503: registry busy); attempt 1, retrying in 1s"))
        #expect(capture.lines.filter { $0.contains("server unreachable") }.count == 6)
        #expect(await c.failures == 0)

        // Jitter never pushes past the cap and never to zero.
        let b = Backoff(random: { $0.upperBound })
        #expect((1...40).map(b.delay(afterFailures:)).allSatisfy { $0 > 0 && $0 <= 30 })
        let lows = (1...40).map(Backoff(random: { $0.lowerBound }).delay(afterFailures:))
        #expect(lows.first == 0.8 && lows.last == 24)
    }

    @Test func heartbeatFailuresKeepTheCredentialAndBackOff() async throws {
        transport.append(Self.enrolled, .respond(500, Data("<html>oops</html>".utf8)), .fail(URLError(.timedOut)), Self.ok)
        let c = controller()
        await c.step()
        #expect(await c.step() == 1)
        #expect(await c.step() == 2)
        #expect(capture.contains("heartbeat 1: server error (500: \"<html>oops</html>\")"))
        #expect(await c.step() == 5)
        #expect(await c.credential == "cred-1")
        #expect(try body(Heartbeat.self, 3).sequence == 3)
    }

    @Test(arguments: [
        ("not json at all", "not JSON"),
        (#"{"run":[],"terminate":[]}"#, "missing \"heartbeatSeconds\""),
        (#"{"run":"x","terminate":[],"heartbeatSeconds":5}"#, "bad \"run\""),
        ("", "not JSON"),
    ])
    func garbageAnswersAreLoggedAndTheLoopGoesOn(body: String, message: String) async throws {
        transport.append(Self.enrolled, .respond(200, Data(body.utf8)), Self.ok)
        let c = controller()
        await c.step()
        #expect(await c.step() == 5)  // the normal interval: no busy loop, no backoff storm
        #expect(capture.lines.contains { $0.hasPrefix("warning: heartbeat 1: answer to POST /api/v1/heartbeat is not a HeartbeatResponse") && $0.contains(message) },
                "\(capture.lines)")
        await c.step()
        #expect(await c.credential == "cred-1")
        #expect(transport.requests.count == 3)
    }

    @Test func garbageEnrollmentBacksOff() async {
        transport.append(.respond(200, Data("{}".utf8)), .respond(200, Data([0xff, 0xfe])), Self.enrolled)
        let c = controller()
        #expect(await c.step() == 1)
        #expect(await c.step() == 2)
        #expect(await c.step() == 5)
        #expect(await c.credential == "cred-1")
    }

    @Test func refusedTokenBacksOffAndKeepsTrying() async {
        transport.append(.respond(401, Data(#"{"error":"bad token for 52:54:00:12:34:56"}"#.utf8)), .respond(403, Data()), Self.given("t2"),
                         Self.enrolled)
        let c = controller()
        #expect(await c.step() == 1)
        #expect(capture.contains("enrolling at http://10.0.0.1:8080: refused (401: bad token for 52:54:00:12:34:56)"))
        #expect(await c.step() == 2)
        #expect(capture.contains("rejected (403: (empty body))"))
        #expect(await c.step() == 0, "a new boot credential after the 403")
        #expect(await c.step() == 5)
    }

    @Test func silly_intervalsAreNotAccepted() async {
        transport.append(ScriptedTransport.json(EnrollResponse(hostname: "n", credential: "c", heartbeatSeconds: -3)),
                         ScriptedTransport.json(HeartbeatResponse(heartbeatSeconds: 0.001)),
                         ScriptedTransport.json(HeartbeatResponse(heartbeatSeconds: 1e9)))
        let c = controller()
        #expect(await c.step() == 5)
        #expect(capture.contains("server sent heartbeatSeconds -3.0; keeping 5s"))
        #expect(await c.step() == 1)
        #expect(await c.step() == 3600)
    }

    @Test func runAndTerminateAreAppliedAndReported() async throws {
        hypervisor.add(InstanceStatus(id: "old", state: .running, vcpus: 1, memoryMiB: 128))
        hypervisor.failStartIDs = ["broken"]
        let specA = InstanceSpec(id: "a", vcpus: 2, memoryMiB: 512, kernel: "/k")
        let broken = InstanceSpec(id: "broken", vcpus: 1, memoryMiB: 64, kernel: "/nope")
        transport.append(Self.enrolled,
                         ScriptedTransport.json(HeartbeatResponse(run: [specA, broken, specA], terminate: ["old", "never-existed"], heartbeatSeconds: 5)),
                         ScriptedTransport.json(HeartbeatResponse(run: [specA, broken], heartbeatSeconds: 5)),
                         Self.ok)
        let c = controller()
        await c.step()
        #expect(try body(EnrollRequest.self, 0).instances.map(\.id) == ["old"])
        await c.step()
        #expect(hypervisor.terminated == ["old", "never-existed"])
        #expect(hypervisor.started == ["a", "broken"])  // a listed twice, started once

        await c.step()
        let second = try body(Heartbeat.self, 2).instances
        #expect(second.map(\.id) == ["a", "broken", "never-existed", "old"])
        #expect(second.first { $0.id == "a" }?.state == .running)
        let failed = try #require(second.first { $0.id == "broken" })
        #expect(failed.state == .failed && failed.message?.contains("no such kernel") == true)
        #expect(second.first { $0.id == "old" } == InstanceStatus(id: "old", state: .terminated, vcpus: 1, memoryMiB: 128))
        // The server still lists both: a is running, broken already failed: neither is started again.
        #expect(hypervisor.started == ["a", "broken"])

        await c.step()
        let third = try body(Heartbeat.self, 3).instances
        #expect(third.map(\.id) == ["a", "broken"])  // terminated ones are reported once
        #expect(capture.contains("instance a: new -> running"))
        #expect(capture.contains("instance old: running -> terminated"))
        #expect(capture.contains("error: starting instance broken: no such kernel"))
        #expect(!capture.contains("starting instance broken: starting"))
    }

    @Test func stateChangesAndVanishedInstancesAreReportedNextHeartbeat() async throws {
        hypervisor.add(InstanceStatus(id: "x", state: .running, vcpus: 1, memoryMiB: 64))
        hypervisor.add(InstanceStatus(id: "y", state: .running, vcpus: 1, memoryMiB: 64))
        transport.append(Self.enrolled, Self.ok, Self.ok, Self.ok)
        let c = controller()
        await c.step()
        hypervisor.set("x", state: .crashed)
        hypervisor.remove("y")
        await c.step()
        let hb = try body(Heartbeat.self, 1).instances
        #expect(hb.first { $0.id == "x" }?.state == .crashed)
        #expect(hb.first { $0.id == "y" }?.state == .terminated)
        #expect(hb.first { $0.id == "y" }?.message == "no longer defined in the hypervisor")
        #expect(capture.contains("instance x: running -> crashed"))
        await c.step()
        #expect(try body(Heartbeat.self, 2).instances.map(\.id) == ["x"])
    }

    @Test func unreportedEndingsSurviveAFailedHeartbeat() async throws {
        hypervisor.add(InstanceStatus(id: "z", state: .running, vcpus: 1, memoryMiB: 64))
        transport.append(Self.enrolled, ScriptedTransport.json(HeartbeatResponse(terminate: ["z"], heartbeatSeconds: 5)),
                         .respond(502, Data()), Self.ok, Self.ok)
        let c = controller()
        for _ in 0..<5 { await c.step() }
        #expect(try body(Heartbeat.self, 2).instances.map(\.state) == [.terminated])  // the 502 one
        #expect(try body(Heartbeat.self, 3).instances.map(\.state) == [.terminated])  // sent again, accepted
        #expect(try body(Heartbeat.self, 4).instances.isEmpty)
    }

    @Test func listingFailureReportsLastKnownStates() async throws {
        hypervisor.add(InstanceStatus(id: "x", state: .running, vcpus: 1, memoryMiB: 64))
        transport.append(Self.enrolled, Self.ok, Self.ok)
        let c = controller()
        await c.step()
        hypervisor.listError = LibvirtError(operation: "listing domains", message: "connection reset", code: 1)
        await c.step()
        await c.step()
        #expect(try body(Heartbeat.self, 2).instances.map(\.id) == ["x"])
        #expect(capture.lines.filter { $0.contains("listing instances: listing domains: connection reset") }.count == 1)
    }

    @Test func runLoopSleepsBetweenStepsAndStopsWhenSleepThrows() async {
        for _ in 0..<3 { transport.append(.fail(URLError(.cannotConnectToHost))) }
        transport.append(Self.enrolled, Self.ok, Self.ok)
        let sleeps = LockedArray()
        let c = NodeController(client: ServerClient(server: server, transport: transport), hypervisor: hypervisor,
                               enrollment: .init(mac: "52:54:00:12:34:56", hostname: "n", ip: "", token: "t", image: nil),
                               log: capture.log, backoff: Backoff(random: { _ in 1 }),
                               sleep: { d in
                                   sleeps.append(d)
                                   if sleeps.count >= 6 { throw CancellationError() }
                               })
        await c.run()
        #expect(sleeps.values == [1, 2, 4, 5, 5, 5])
        #expect(transport.requests.count == 6)
    }

    @Test func onceModeDoesNotApplyCommands() async {
        transport.append(Self.enrolled, ScriptedTransport.json(HeartbeatResponse(run: [InstanceSpec(id: "q", vcpus: 1, memoryMiB: 64, kernel: "/k")], heartbeatSeconds: 5)))
        let c = controller()
        #expect(await c.runOnce() == FakeHypervisor.capacity)
        #expect(hypervisor.started.isEmpty)
        #expect(capture.contains("--once: not applying 1 run and 0 terminate commands"))
        transport.append(.fail(URLError(.timedOut)))
        #expect(await controller().runOnce() == nil)
    }

    @Test func serverURLKeepsItsPathPrefix() {
        #expect(ServerClient(server: URL(string: "http://h:1/prov/")!, transport: transport).url(NodeAPI.enrollPath).absoluteString == "http://h:1/prov/api/v1/enroll")
        #expect(ServerClient(server: URL(string: "http://h:1")!, transport: transport).url(NodeAPI.heartbeatPath).absoluteString == "http://h:1/api/v1/heartbeat")
    }
}

final class LockedArray: @unchecked Sendable {
    private let lock = NSLock()
    private var _values: [Double] = []
    var values: [Double] { lock.withLock { _values } }
    var count: Int { lock.withLock { _values.count } }
    func append(_ v: Double) { lock.withLock { _values.append(v) } }
}

/// Names a test's rename hook was called with.
final class Names: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [String] = []
    func append(_ name: String) { lock.withLock { names.append(name) } }
    var all: [String] { lock.withLock { names } }
}

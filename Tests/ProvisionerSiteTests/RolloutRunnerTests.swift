import Foundation
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore
import Testing
import TestSupport
@testable import ProvisionerImages
@testable import ProvisionerPlatform
@testable import ProvisionerSite

/// A rollout's run — drain, pin, power-cycle, wait for the enrollment, roll
/// a failed batch back, resume — on a real site directory and registry, with
/// fake BMCs whose nodes enroll as a real node controller would, and a clock
/// that jumps instead of sleeping: the ten-minute timeouts pass in
/// milliseconds. The end-to-end lab runs the same code with QEMU nodes.
@Suite struct RolloutRunnerTests {
    let home: String
    let site: Site
    let clock = TestClock()
    let cluster: FakeCluster
    let g1 = RolloutSite.g1, g2 = RolloutSite.g2

    init() throws {
        let fixture = try RolloutSite("rollout-run", now: Timestamp.iso(clock.now))
        home = fixture.home
        site = fixture.site
        let config = fixture.config, password = fixture.passwordFile
        let registry = try site.openRegistry()
        cluster = FakeCluster(registry: registry, clock: clock) {
            "default/" + (ImageStore(config: config, image: "default").generations().active?.description ?? "none")
        }
        // n1..n4 run g1, each behind a fake BMC.
        for i in 1...4 {
            _ = try site.setBMC("n\(i)", BMCSettings(driver: .ipmi, address: "n\(i)", user: "admin", passwordFile: password))
            try registry.recordEnrollment(hostname: try Hostname(parsing: "n\(i)"), image: "default/g1", capacity: FakeCluster.capacity,
                                          instances: [], bootTimings: nil, platform: nil, now: Timestamp.iso(clock.now))
        }
        clock.advance(60)
    }

    /// The runner as `image rollout` makes it, with the fake BMCs and the test clock.
    func runner(_ lines: Lines) throws -> RolloutRunner {
        let clock = self.clock
        var runner = RolloutRunner(site: site, config: try site.loadConfig(), power: PowerOptions(parallel: 4, timeout: 5), say: lines.add)
        runner.clock = RolloutClock(now: { clock.now }, sleep: { clock.advance($0) })
        runner.bmc = cluster.client
        return runner
    }

    /// A rollout planned and recorded, as `image rollout` starts one.
    func start(batch: Int, timeout: Double = 600) throws -> Rollout {
        let plan = try site.planRollout(RolloutRequest(image: "default", target: g2, batching: .size(batch),
                                                       settings: RolloutSettings(timeout: timeout)), now: Timestamp.iso(clock.now))
        return try site.openRegistry().createRollout(plan)
    }

    func status(_ host: String) throws -> NodeStatus? { try site.openRegistry().status(host) }

    @Test func everyBatchIsCycledOntoTheTargetWhichThenBecomesActive() throws {
        let lines = Lines()
        let began = clock.now
        let done = try runner(lines).run(try start(batch: 2))
        #expect(done.status == .done, "\(done.message ?? "")")
        // Batch by batch (a batch's nodes are cycled at once, in any order).
        #expect(cluster.cycles.count == 4 && Set(cluster.cycles.prefix(2)) == ["n1", "n2"] && Set(cluster.cycles.suffix(2)) == ["n3", "n4"], "\(cluster.cycles)")
        for i in 1...4 {
            #expect(done.nodes["n\(i)"]?.state == .done, "n\(i): \(String(describing: done.nodes["n\(i)"]))")
            #expect(try status("n\(i)")?.image == "default/g2")
            #expect(try status("n\(i)")?.drained == false, "n\(i) left drained")
        }
        // Activated, and the rollout's own pins gone: the nodes follow the active generation again.
        #expect(ImageStore(config: try site.loadConfig(), image: "default").generations().active == g2)
        #expect(try site.openRegistry().nodes().allSatisfy { $0.generation == nil })
        #expect(try site.rollouts(image: "default").first?.status == .done, "the saved rollout is the finished one")
        // Each node enrolled 20 s after its power cycle (the fake boot), and each batch
        // waited for it: about 20 s of polling per batch, not its 600 s timeout.
        #expect(done.nodes["n1"]?.seconds == 20, "\(String(describing: done.nodes["n1"]?.seconds))")
        let waited = clock.now.timeIntervalSince(began)
        #expect(waited >= 40 && waited < 60, "two batches of a 20 s boot took \(waited) s of the test clock")
        #expect(lines.text.contains("batch 2/2: n3, n4"), "\(lines.text)")
    }

    @Test func aNodeThatDoesNotComeBackFailsItsBatchWhichGoesBackAndTheRestIsLeftAlone() throws {
        cluster.set("n2", .failsOn("default/g2"))
        let lines = Lines()
        let began = clock.now
        do {
            _ = try runner(lines).run(try start(batch: 2, timeout: 300))
            Issue.record("a batch with a node that never enrolled did not fail")
        } catch let failure as RolloutFailure {
            let r = failure.rollout
            #expect(r.status == .failed)
            #expect(r.message?.contains("n2 failed in batch 1/2") == true, "\(r.message ?? "")")
            #expect(r.nodes["n2"]?.note?.contains("did not enroll on g2 within 300 s") == true, "\(String(describing: r.nodes["n2"]))")
            #expect(r.nodes["n1"]?.state == .rolledBack && r.nodes["n2"]?.state == .rolledBack)
            #expect(r.nodes["n3"]?.state == .pending && r.nodes["n4"]?.state == .pending, "the next batch was touched")
        }
        // Both nodes of the batch are back on g1, unpinned and undrained; g1 stays active; n3 and n4 were never cycled.
        for h in ["n1", "n2"] {
            #expect(try status(h)?.image == "default/g1", "\(h)")
            #expect(try site.openRegistry().node(h)?.generation == nil, "\(h) still pinned")
            #expect(try status(h)?.drained == false)
        }
        #expect(cluster.cycles.count == 4 && Set(cluster.cycles) == ["n1", "n2"], "cycled onto g2, then back: \(cluster.cycles)")
        #expect(ImageStore(config: try site.loadConfig(), image: "default").generations().active == g1)
        #expect(clock.now.timeIntervalSince(began) >= 300, "the batch waited its whole timeout for n2")
        #expect(lines.text.contains("rolling back n1, n2"), "\(lines.text)")
    }

    @Test func aBMCThatCannotCycleItsNodeFailsTheBatch() throws {
        cluster.set("n1", .unreachable)
        #expect(throws: RolloutFailure.self) { try runner(Lines()).run(try start(batch: 1)) }
        let r = try #require(try site.rollouts(image: "default").first)
        #expect(r.status == .failed)
        #expect(r.nodes["n1"]?.note?.contains("power cycle failed (unreachable)") == true, "\(String(describing: r.nodes["n1"]))")
        #expect(cluster.cycles.isEmpty, "nothing was cycled")
        #expect(try status("n1")?.image == "default/g1")
    }

    @Test func aResumedRolloutWaitsForTheCycledBatchWithoutCyclingItAgain() throws {
        // The process died after cycling batch 1: its nodes are pinned, cycling, and come up on g2 by themselves.
        var r = try start(batch: 2)
        let ops = try site.nodeOperations(try site.loadConfig())
        for h in ["n1", "n2"] {
            _ = try ops.update(h, NodeChange(pin: .pin(g2)), now: Timestamp.iso(clock.now))
            r.nodes[h]?.state = .cycling
        }
        _ = try site.openRegistry().setDrained(["n1", "n2"], true, now: Timestamp.iso(clock.now))
        r.batchPoweredAt = Timestamp.iso(clock.now)
        try site.openRegistry().saveRollout(r)
        clock.advance(30)
        for h in ["n1", "n2"] {
            try site.openRegistry().recordEnrollment(hostname: try Hostname(parsing: h), image: "default/g2", capacity: FakeCluster.capacity,
                                                     instances: [], bootTimings: nil, platform: nil, now: Timestamp.iso(clock.now))
        }
        // Resumed as `image rollout --resume` does: the running rollout read back from the registry.
        let saved = try #require(try site.rollouts(image: "default").first { $0.status == .running })
        #expect(saved.nodes["n1"]?.state == .cycling && saved.batchPoweredAt == r.batchPoweredAt)
        let done = try runner(Lines()).run(saved)
        #expect(done.status == .done)
        #expect(cluster.cycles.count == 2 && Set(cluster.cycles) == ["n3", "n4"], "batch 1 was cycled again: \(cluster.cycles)")
        #expect(done.nodes["n1"]?.seconds.map { $0 >= 29 && $0 <= 31 } == true, "measured from the saved power-on")
    }
}

/// What a rollout said, collected.
final class Lines: @unchecked Sendable { // appended from one thread at a time
    private var lines: [String] = []
    private let lock = NSLock()
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var text: String { lock.withLock { lines.joined(separator: "\n") } }
}

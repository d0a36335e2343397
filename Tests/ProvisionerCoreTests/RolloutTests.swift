import Foundation
import ProvisionerAPI
import Testing
@testable import ProvisionerCore

struct RolloutTests {
    @Test func batchesBySizeOrPercentTheFirstNeverBigger() throws {
        let hosts = ["n1", "n2", "n3", "n4", "n5"]
        #expect(try RolloutBatching(batch: nil, percent: nil).batches(hosts) == hosts.map { [$0] })
        #expect(try RolloutBatching(batch: 2, percent: nil).batches(hosts) == [["n1", "n2"], ["n3", "n4"], ["n5"]])
        #expect(try RolloutBatching(batch: 9, percent: nil).batches(hosts) == [hosts])
        #expect(try RolloutBatching(batch: nil, percent: 40).batches(hosts) == [["n1", "n2"], ["n3", "n4"], ["n5"]])
        // A percent of a small cluster is still at least one node.
        #expect(try RolloutBatching(batch: nil, percent: 10).batches(["a", "b", "c"]) == [["a"], ["b"], ["c"]])
        #expect(try RolloutBatching(batch: 3, percent: nil).batches([]) == [])
    }

    @Test func badBatchingNamesTheField() {
        #expect(throws: ValidationError.self) { try RolloutBatching(batch: 0, percent: nil) }
        #expect(throws: ValidationError.self) { try RolloutBatching(batch: nil, percent: 0) }
        #expect(throws: ValidationError.self) { try RolloutBatching(batch: nil, percent: 101) }
        do {
            _ = try RolloutBatching(batch: 2, percent: 50)
            Issue.record("--batch and --percent together were accepted")
        } catch {
            #expect(error.field == "batch" && error.reason.contains("not both"))
        }
    }

    /// The state is what the registry keeps and `--resume` reads back: it survives JSON whole.
    @Test func stateRoundTripsThroughJSON() throws {
        var r = Rollout(image: "default", target: GenerationID(number: 3), previous: GenerationID(number: 2), batches: [["a"], ["b"]],
                        nodes: ["a": RolloutNode(pinBefore: nil, ranBefore: "default/g2"), "b": RolloutNode(pinBefore: GenerationID(number: 1)),
                                "c": RolloutNode(state: .skipped, note: "no BMC")],
                        options: RolloutSettings(timeout: 150, grace: 0), now: "2026-12-02T10:00:00Z")
        r.id = 7
        r.nodes["a"]?.state = .cycling
        r.batchPoweredAt = "2026-12-02T10:00:05Z"
        let back = try JSONDecoder().decode(Rollout.self, from: try JSONEncoder().encode(r))
        #expect(back == r)
        #expect(r.hostnames(in: .pending) == ["b"] && r.hostnames(in: .skipped) == ["c"])
        #expect(r.summary == "1 pending, 1 cycling, 1 skipped")
        let text = String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
        #expect(text.contains("\"batch_powered_at\"") && text.contains("\"pin_before\":\"g1\""), "\(text)")
    }

    @Test func aDrainedNodeGetsNoNewInstance() throws {
        let cap = PlacementTests.cap(cores: 4, mem: 4096)
        let nodes = [
            Placement.Candidate(hostname: "n1", ready: true, capacity: cap, drained: true),
            Placement.Candidate(hostname: "n2", ready: true, capacity: cap),
        ]
        #expect(try Placement.choose(PlacementTests.small, among: nodes).get() == "n2")
        guard case .failure(let only) = Placement.choose(PlacementTests.small, among: nodes, only: "n1") else { Issue.record("placed on a drained node"); return }
        #expect(only.description.contains("drained"))
        guard case .failure(let none) = Placement.choose(PlacementTests.small, among: [nodes[0]]) else { Issue.record("placed on a drained node"); return }
        #expect(none.description.contains("drained"))
    }
}

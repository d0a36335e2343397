import Foundation
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore
import Testing
import TestSupport
@testable import ProvisionerBoot
@testable import ProvisionerImages
@testable import ProvisionerPlatform
@testable import ProvisionerSite

/// Generation pins in the rendered boot files, and what a rollout plans
/// (which nodes go, in which batches, which it leaves alone and why), on a
/// real site directory and registry. The rollout's run (drain, BMC power
/// cycle, enrollment, rollback) is proved by the end-to-end lab.
@Suite struct RolloutPlanTests {
    let home: String
    let site: Site
    let g1 = RolloutSite.g1, g2 = RolloutSite.g2

    init() throws {
        let fixture = try RolloutSite("rollout", now: "t0")
        home = fixture.home
        site = fixture.site
        let registry = try site.openRegistry()
        // n1..n3 run g1; n4 never booted.
        for i in 1...3 {
            try registry.recordEnrollment(hostname: try Hostname(parsing: "n\(i)"), image: "default/g1", capacity: FakeCluster.capacity, instances: [],
                                          bootTimings: nil, platform: nil, now: Timestamp.iso(Date()))
        }
        for i in 1...2 { _ = try site.setBMC("n\(i)", BMCSettings(driver: .ipmi, address: "127.0.0.1:\(7000 + i)", user: "admin", passwordFile: fixture.passwordFile)) }
    }

    /// Every rendered file that names `image` on a kernel command line, by node MAC.
    func macsBooting(_ image: String) throws -> Set<String> {
        let out = home + "/rendered-\(UUID().uuidString)"
        _ = try site.render(into: out)
        var macs = Set<String>()
        let e = FileManager.default.enumerator(atPath: out)
        while let rel = e?.nextObject() as? String {
            guard let text = try? String(contentsOfFile: out + "/" + rel, encoding: .utf8), text.contains("provisioner.image=\(image) ") else { continue }
            for i in 1...4 where text.contains("BOOTIF=01-02-00-00-00-00-0\(i)") { macs.insert("n\(i)") }
        }
        return macs
    }

    @Test func aPinnedNodeBootsItsGenerationTheOthersTheActiveOne() throws {
        #expect(try macsBooting("default/g1") == ["n1", "n2", "n3", "n4"])
        let pinned = try site.pin(["n2"], to: g2)
        #expect(pinned.map(\.node.generation) == [g2])
        #expect(try macsBooting("default/g2") == ["n2"])
        #expect(try macsBooting("default/g1") == ["n1", "n3", "n4"])
        #expect(try site.openRegistry().status("n2")?.pinned == "g2")
        // A pinned generation cannot be removed; nor a generation that does not exist be pinned.
        #expect(throws: ConflictError.self) { try site.removeImage("default", generation: g2) }
        #expect(throws: NotFoundError.self) { try site.pin(["n3"], to: GenerationID(number: 9)) }
        #expect(try site.openRegistry().node("n3")?.generation == nil, "a refused pin changes nothing")
        // A profile pin moves the profile's nodes; a node's own pin wins over it.
        _ = try site.setConfigValue("profiles.default.generation", to: "g2")
        #expect(try macsBooting("default/g2") == ["n1", "n2", "n3", "n4"])
        _ = try site.pin(["n1"], to: g1)
        #expect(try macsBooting("default/g1") == ["n1"])
        _ = try site.pin(["n1", "n2"], to: nil)
        #expect(try site.openRegistry().nodes().allSatisfy { $0.generation == nil })
    }

    @Test func theRolloutPlanBatchesTheRunningNodesWithBMCsAndSaysWhyItLeavesTheOthers() throws {
        let plan = try site.planRollout(RolloutRequest(image: "default", target: nil, batching: .size(1)), now: "t1")
        #expect(plan.target == g2 && plan.previous == g1 && plan.id == 0)
        #expect(plan.batches == [["n1"], ["n2"]])
        #expect(plan.nodes["n3"]?.state == .skipped && plan.nodes["n3"]?.note?.contains("no BMC") == true, "\(plan.nodes)")
        #expect(plan.nodes["n4"]?.state == .skipped && plan.nodes["n4"]?.note?.contains("not running") == true, "\(plan.nodes)")
        #expect(plan.nodes["n1"]?.ranBefore == "default/g1" && plan.options.activate)
        // An operator's pin elsewhere keeps a node out, unless it is named.
        _ = try site.pin(["n2"], to: g1)
        let held = try site.planRollout(RolloutRequest(image: "default", target: g2), now: "t1")
        #expect(held.batches == [["n1"]] && held.nodes["n2"]?.note?.contains("pinned to g1") == true, "\(held.nodes)")
        let named = try site.planRollout(RolloutRequest(image: "default", target: g2, nodes: ["n[1-2]"]), now: "t1")
        #expect(named.batches == [["n1"], ["n2"]] && named.nodes["n2"]?.pinBefore == g1 && !named.options.activate)
        // Nothing was recorded by planning.
        #expect(try site.rollouts(image: nil).isEmpty)
    }

    @Test func aRolloutOfWhatDoesNotExistIsRefusedAndRecordsNothing() throws {
        #expect(throws: NotFoundError.self) { try site.planRollout(RolloutRequest(image: "default", target: GenerationID(number: 9)), now: "t") }
        #expect(throws: NotFoundError.self) { try site.planRollout(RolloutRequest(image: "default", target: g2, nodes: ["nope"]), now: "t") }
        _ = try site.setConfigValue("profiles.other.image", to: "other")
        _ = try site.nodeOperations(try site.loadConfig(), registryOnly: true)
            .add([NodeSpec(hostname: try Hostname(parsing: "o1"), mac: try MACAddress(parsing: "02:00:00:00:01:01"), profile: try ProfileName(parsing: "other"))], now: "t")
        do {
            _ = try site.planRollout(RolloutRequest(image: "default", target: g2, nodes: ["o1"]), now: "t")
            Issue.record("a node of another image was taken into the rollout")
        } catch let error as ValidationError {
            #expect(error.field == "node" && error.reason.contains("boots image other"))
        }
        #expect(throws: NotFoundError.self) { try site.resumeRollout(image: "default", say: { _ in }) }
        #expect(try site.rollouts(image: nil).isEmpty)
    }
}

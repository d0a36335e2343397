import Foundation
import GRDB
import Testing
import ProvisionerAPI
import ProvisionerCore
@testable import ProvisionerStore

/// Generation pins, drained nodes and rollouts as the registry keeps them.
@Suite struct RolloutRegistryTests {
    let dir = tempDir()

    @Test(arguments: Store.allCases) func aPinIsKeptAuditedAndCleared(_ store: Store) throws {
        let r = try store.open(dir)
        let c = try config()
        try r.add([try spec("a", "02:00:00:00:00:01"), try spec("b", "02:00:00:00:00:02")], config: c, now: "t0")
        let (old, new) = try r.update("a", NodeChange(pin: .pin(GenerationID(number: 2))), config: c, now: "t1")
        #expect(old.generation == nil && new.generation == GenerationID(number: 2))
        #expect(try r.node("a")?.generation == GenerationID(number: 2) && r.node("b")?.generation == nil)
        #expect(try r.status("a")?.pinned == "g2")
        let audit = try r.read { db in try db.value(String.self, "SELECT new FROM audit WHERE action = 'node.set' AND subject = 'a'") }
        #expect(audit?.contains("\"generation\":\"g2\"") == true, "\(audit ?? "")")
        // The node JSON carries the pin only when there is one.
        let json = String(decoding: try JSONEncoder().encode(try r.node("a")!), as: UTF8.self)
        let unpinned = String(decoding: try JSONEncoder().encode(try r.node("b")!), as: UTF8.self)
        #expect(json.contains("\"generation\":\"g2\"") && !unpinned.contains("generation"))
        _ = try r.update("a", NodeChange(pin: .unpin), config: c, now: "t2")
        #expect(try r.node("a")?.generation == nil)
    }

    @Test(arguments: Store.allCases) func drainedNodesAreSkippedByPlacementAndShown(_ store: Store) throws {
        let r = try store.open(dir)
        let c = try config()
        try r.add([try spec("a", "02:00:00:00:00:01"), try spec("b", "02:00:00:00:00:02")], config: c, now: "t0")
        let capacity = NodeCapacity(coresMax: 4, coresFree: 4, memoryMiBMax: 4096, memoryMiBFree: 4096, diskMiBMax: 1, diskMiBFree: 1,
                                    hypervisor: .qemuTCG, hardwareVirtualization: false, hardwareVirtualizationReason: "test", libvirtVersion: "9")
        for h in ["a", "b"] {
            try r.recordEnrollment(hostname: try Hostname(parsing: h), image: "default/g1", capacity: capacity, instances: [], bootTimings: nil, platform: nil, now: "t1")
        }
        #expect(try r.setDrained(["a"], true, now: "t2") == ["a"])
        #expect(try r.setDrained(["a"], true, now: "t2") == [], "draining a drained node changes nothing")
        #expect(try r.status("a")?.drained == true && r.status("b")?.drained == false)
        let spec = InstanceSpec(id: "i-00000001", vcpus: 1, memoryMiB: 128, kernel: "/vmlinuz", initrd: "/initrd.img", cmdline: "console=ttyS0")
        #expect(try r.runInstance(id: "i-00000001", type: VMType.defaults[0], spec: spec, only: nil, now: "t3").node == "b")
        #expect(throws: ConflictError.self) { try r.runInstance(id: "i-00000002", type: VMType.defaults[0], spec: spec, only: "a", now: "t3") }
        #expect(throws: NotFoundError.self) { try r.setDrained(["a", "nope"], false, now: "t4") }
        #expect(try r.status("a")?.drained == true, "all or none: the unknown node left a drained")
        #expect(try r.setDrained(["a"], false, now: "t4") == ["a"])
    }

    /// A batch of heartbeats is written in a few statements, whatever its
    /// size: each node's status and state, and each beat's own instance work
    /// (an unknown hostname gets none and fails nothing).
    @Test(arguments: Store.allCases) func aBatchOfHeartbeatsRecordsEachNodeAndAnswersEachBeat(_ store: Store) throws {
        let r = try store.open(dir)
        let c = try config()
        try r.add([try spec("a", "02:00:00:00:00:01"), try spec("b", "02:00:00:00:00:02"), try spec("c", "02:00:00:00:00:03")], config: c, now: "t0")
        func capacity(_ free: Int) -> NodeCapacity {
            NodeCapacity(coresMax: 4, coresFree: free, memoryMiBMax: 4096, memoryMiBFree: 4096, diskMiBMax: 1, diskMiBFree: 1,
                         hypervisor: .qemuTCG, hardwareVirtualization: false, hardwareVirtualizationReason: "test", libvirtVersion: "9")
        }
        for h in ["a", "b"] {
            try r.recordEnrollment(hostname: try Hostname(parsing: h), image: "default/g1", capacity: capacity(4), instances: [],
                                   bootTimings: BootTimings(kernelSeconds: 3), platform: nil, now: "t1")
        }
        _ = try r.setDrained(["a"], true, now: "t1")
        let instance = InstanceSpec(id: "i-00000001", vcpus: 1, memoryMiB: 128)
        #expect(try r.runInstance(id: "i-00000001", type: VMType.defaults[0], spec: instance, only: nil, now: "t2").node == "b")
        let beats = [
            HeartbeatRecord(hostname: try Hostname(parsing: "a"), capacity: capacity(3), reported: [], bootTimings: BootTimings(kernelSeconds: 9)),
            HeartbeatRecord(hostname: try Hostname(parsing: "nobody"), capacity: capacity(1), reported: []),
            HeartbeatRecord(hostname: try Hostname(parsing: "b"), capacity: capacity(2), reported: []),
        ]
        let work = try r.heartbeats(beats, now: "t3")
        #expect(work.count == 3)
        #expect(work[0].run.isEmpty && work[1].run.isEmpty && work[2].run.map(\.id) == ["i-00000001"])
        let a = try #require(try r.status("a")), b = try #require(try r.status("b")), cNode = try #require(try r.status("c"))
        #expect(a.state == .ready && b.state == .ready && cNode.state == .registered)
        #expect(a.lastHeartbeat == "t3" && b.lastHeartbeat == "t3" && cNode.lastHeartbeat == nil)
        #expect(a.capacity?.coresFree == 3 && b.capacity?.coresFree == 2)
        // New boot timings replace the old; a beat without them keeps what was there.
        #expect(a.bootTimings?.kernelSeconds == 9 && b.bootTimings?.kernelSeconds == 3)
        // The instance reported running: no work left, its state recorded.
        let running = try r.heartbeats([HeartbeatRecord(hostname: try Hostname(parsing: "b"), capacity: capacity(1),
                                                        reported: [InstanceStatus(id: "i-00000001", state: .running, vcpus: 1, memoryMiB: 128)])], now: "t4")
        #expect(running.first?.run.isEmpty == true)
        #expect(try r.instances().first?.state == .running)
    }

    @Test(arguments: Store.allCases) func oneRunningRolloutPerImageAndItsStateIsSaved(_ store: Store) throws {
        let r = try store.open(dir)
        let plan = Rollout(image: "default", target: GenerationID(number: 2), previous: GenerationID(number: 1), batches: [["a"], ["b"]],
                           nodes: ["a": RolloutNode(), "b": RolloutNode()], options: RolloutSettings(), now: "t0")
        var first = try r.createRollout(plan)
        #expect(first.id > 0)
        do {
            _ = try r.createRollout(plan)
            Issue.record("a second rollout of the same image started")
        } catch let error as ConflictError {
            #expect(error.description.contains("rollout \(first.id)") && error.description.contains("--resume"))
        }
        var other = plan
        other.image = "other"
        #expect(try r.createRollout(other).id > first.id, "another image rolls out on its own")
        first.nodes["a"]?.state = .done
        first.batch = 1
        try r.saveRollout(first)
        #expect(try r.rollouts(image: "default") == [first])
        first.status = .done
        try r.saveRollout(first)
        #expect(try r.createRollout(plan).id > first.id, "once done, the image can roll out again")
        #expect(try r.rollouts(image: nil).map(\.image) == ["default", "other", "default"])
        var ghost = first
        ghost.id = 999
        #expect(throws: NotFoundError.self) { try r.saveRollout(ghost) }
    }

    /// apply's manifest trusts this token instead of reading every node: it must change with what a node's files are made of, and only then.
    @Test(arguments: Store.allCases) func theNodesTokenChangesWithWhatBootFilesAreMadeOfOnly(_ store: Store) throws {
        let r = try store.open(dir)
        let c = try config()
        var last = try r.nodesToken()
        func changed() throws -> Bool { let now = try r.nodesToken(); defer { last = now }; return now != last }
        try r.add([try spec("a", "02:00:00:00:00:01"), try spec("b", "02:00:00:00:00:02")], config: c, now: "t0")
        #expect(try changed(), "add")
        _ = try r.update("a", NodeChange(ip: try IPv4Address(parsing: "10.0.0.77")), config: c, now: "t1")
        #expect(try changed(), "a new IP")
        _ = try r.update("a", NodeChange(pin: .pin(GenerationID(number: 2))), config: c, now: "t2")
        #expect(try changed(), "a pin")
        let capacity = NodeCapacity(coresMax: 1, coresFree: 1, memoryMiBMax: 1, memoryMiBFree: 1, diskMiBMax: 1, diskMiBFree: 1,
                                    hypervisor: .none, hardwareVirtualization: false, hardwareVirtualizationReason: "test", libvirtVersion: "9")
        try r.recordEnrollment(hostname: try Hostname(parsing: "b"), image: "default/g1", capacity: capacity, instances: [], bootTimings: nil, platform: nil, now: "t3")
        _ = try r.recordBootEvent(mac: try MACAddress(parsing: "02:00:00:00:00:01"), ip: "10.0.0.77", phase: .dhcp, now: "t4", newBoot: true, bootPath: nil)
        _ = try r.setDrained(["b"], true, now: "t5")
        _ = try r.markLost(heartbeatBefore: "t9", now: "t9")
        #expect(try !changed(), "run-time state (enrollment, boot phases, drain, lost) leaves the boot files as they are")
        _ = try r.remove(["b"], now: "t6")
        #expect(try changed(), "remove")
    }
}

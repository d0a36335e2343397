import Foundation
import ProvisionerAPI
import ProvisionerBMC
import ProvisionerCore
import ProvisionerStore
import Synchronization

/// A clock a test moves by hand: `sleep` jumps it forward at once, so code
/// that waits minutes runs in milliseconds and still sees the minutes pass.
/// What happens "later" (a node enrolling 20 s after its power cycle) is
/// told each move and happens when the clock reaches it.
public final class TestClock: Sendable {
    private let current: Mutex<Date>
    private let observers = Mutex<[@Sendable (Date) -> Void]>([])
    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }
    public var now: Date { current.withLock { $0 } }

    /// Moves the clock on, then tells every observer the new time.
    public func advance(_ seconds: Double) {
        let now = current.withLock { $0 = $0.addingTimeInterval(seconds); return $0 }
        for observer in observers.withLock({ $0 }) { observer(now) }
    }

    /// Calls `observer` with the new time after every move.
    public func onAdvance(_ observer: @escaping @Sendable (Date) -> Void) { observers.withLock { $0.append(observer) } }
}

/// Nodes behind fake BMCs, with a registry as serve would keep it: a power
/// cycle boots the node on the generation its registry record names (its
/// pin, else the image's active one) and, as its node controller would,
/// enrolls it there `bootSeconds` later, when the test clock gets there. A node can be told not to come back
/// on a generation, and a BMC to be unreachable or refuse: the failures a
/// rollout must handle.
public final class FakeCluster: @unchecked Sendable { // state under lock
    /// How a node's BMC and boot go.
    public enum Behaviour: Sendable, Equatable {
        /// Boots whatever it is given and enrolls.
        case boots
        /// Boots, but never enrolls on this image (`default/g2`): a broken generation for it.
        case failsOn(String)
        /// Its BMC does not answer.
        case unreachable
        /// Its BMC answers and refuses the action.
        case refuses
    }

    let registry: any Registry
    let clock: TestClock
    /// The image a node without a pin boots (`default/g1`).
    let active: @Sendable () -> String
    /// Seconds from a power cycle to the enrollment.
    let bootSeconds: Double
    private let lock = NSLock()
    private var behaviours: [String: Behaviour] = [:]
    private var cycled: [String] = []
    /// Boots under way: who enrolls on what, when.
    private var booting: [(host: Hostname, image: String, at: Date)] = []

    public init(registry: any Registry, clock: TestClock, bootSeconds: Double = 20, active: @escaping @Sendable () -> String) {
        self.registry = registry
        self.clock = clock
        self.bootSeconds = bootSeconds
        self.active = active
        clock.onAdvance { [weak self] now in self?.enroll(upTo: now) }
    }

    /// Sets how `host` behaves from now on.
    public func set(_ host: String, _ behaviour: Behaviour) { lock.withLock { behaviours[host] = behaviour } }
    /// The hosts power-cycled, in order.
    public var cycles: [String] { lock.withLock { cycled } }

    /// The BMC client factory to hand to a fan-out: a node's fake BMC has the node's hostname as its address.
    public var client: @Sendable (BMCSettings, Double) throws -> any BMCClient {
        { [self] settings, _ in FakeBMC(cluster: self, host: settings.address) }
    }

    func behaviour(_ host: String) -> Behaviour { lock.withLock { behaviours[host] ?? .boots } }

    /// A power cycle of `host`: it boots its generation and enrolls there, unless told otherwise.
    func cycle(_ host: String) throws(BMCError) {
        switch behaviour(host) {
        case .unreachable: throw BMCError(.unreachable, "fake BMC of \(host) does not answer")
        case .refuses: throw BMCError(.refused, "fake BMC of \(host) refuses the power cycle")
        case .boots, .failsOn: break
        }
        lock.withLock { cycled.append(host) }
        do {
            guard let hostname = try? Hostname(parsing: host), let node = try registry.node(host) else { return }
            let image = node.generation.map { "default/\($0)" } ?? active()
            if case .failsOn(let broken) = behaviour(host), broken == image { return }
            let at = clock.now.addingTimeInterval(bootSeconds)
            lock.withLock { booting.append((hostname, image, at)) }
        } catch {
            throw BMCError(.failed, "fake node \(host): \(error)")
        }
    }

    /// Enrolls the nodes whose boot has reached `now`, each at its own time.
    func enroll(upTo now: Date) {
        let done = lock.withLock { () -> [(host: Hostname, image: String, at: Date)] in
            let done = booting.filter { $0.at <= now }
            booting.removeAll { $0.at <= now }
            return done
        }
        for boot in done {
            try? registry.recordEnrollment(hostname: boot.host, image: boot.image, capacity: Self.capacity, instances: [],
                                           bootTimings: nil, platform: nil, now: Timestamp.iso(boot.at))
        }
    }

    public static let capacity = NodeCapacity(coresMax: 2, coresFree: 2, memoryMiBMax: 1024, memoryMiBFree: 1024, diskMiBMax: 1, diskMiBFree: 1,
                                       hypervisor: .qemuTCG, hardwareVirtualization: false, hardwareVirtualizationReason: "fake", libvirtVersion: "9")
}

/// One node's fake BMC.
struct FakeBMC: BMCClient {
    let cluster: FakeCluster
    let host: String

    func powerState() throws(BMCError) -> String {
        if cluster.behaviour(host) == .unreachable { throw BMCError(.unreachable, "fake BMC of \(host) does not answer") }
        return "on"
    }

    func power(_ action: PowerAction) throws(BMCError) -> String {
        switch action {
        case .cycle: try cluster.cycle(host); return "cycle"
        case .status: return try powerState()
        case .on, .off: _ = try powerState(); return action.rawValue
        }
    }

    func bootNextPXE() throws(BMCError) { _ = try powerState() }
}

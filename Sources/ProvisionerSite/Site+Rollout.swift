import Foundation
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore
import ProvisionerBMC
import ProvisionerImages
import ProvisionerPlatform

/// What `image rollout` asks for.
public struct RolloutRequest: Sendable {
    public var image: String
    /// nil: the image's newest generation.
    public var target: GenerationID?
    public var batching: RolloutBatching
    /// Hostnames, MACs or hostlists; nil: every node of the image.
    public var nodes: [String]?
    public var settings: RolloutSettings
    public var power: PowerOptions

    public init(image: String, target: GenerationID?, batching: RolloutBatching = .size(1), nodes: [String]? = nil,
                settings: RolloutSettings = RolloutSettings(), power: PowerOptions = PowerOptions()) {
        self.image = image
        self.target = target
        self.batching = batching
        self.nodes = nodes
        self.settings = settings
        self.power = power
    }
}

/// A rollout that stopped on a failed batch (rolled back) or could not go on.
public struct RolloutFailure: Error, CustomStringConvertible, ClassifiedError, Sendable {
    public var rollout: Rollout
    public var description: String { "rollout \(rollout.id) of \(rollout.image)/\(rollout.target) stopped: \(rollout.message ?? "failed")" }
    public var kind: FailureKind { .failed }
}

extension Site {
    /// Works out a rollout: the target, its batches and the nodes it leaves
    /// alone (and why). Nothing is changed.
    /// - Throws: `NotFoundError` for an unknown generation or node, `ValidationError` for a node of another image.
    public func planRollout(_ request: RolloutRequest, now: String) throws -> Rollout {
        let config = try loadConfig()
        let registry = try openRegistry()
        let set = ImageStore(config: config, image: request.image).generations()
        guard let target = request.target ?? set.ids.max() else { throw ConflictError("image \(request.image) has no generation to roll out (`provisioner image build`)") }
        guard set.ids.contains(target) else { throw NotFoundError("generation", target.description, message: "image \(request.image) has no generation \(target)") }
        let profiles = Dictionary(uniqueKeysWithValues: config.profiles.map { ($0.name, $0) })
        let all = try registry.nodes()
        var chosen: [Node]
        if let keys = request.nodes {
            guard !keys.isEmpty else { throw ValidationError(field: "nodes", value: "", reason: "name the nodes, or leave --nodes out for every node of the image") }
            var seen = Set<String>()
            chosen = []
            for key in try Hostlist.expandKeys(keys) {
                guard let node = try registry.node(key) else { throw NotFoundError("node", key) }
                let image = profiles[node.profile]?.image ?? "default"
                guard image == request.image else {
                    throw ValidationError(field: "node", value: node.hostname.value, reason: "it boots image \(image), not \(request.image)")
                }
                if seen.insert(node.hostname.value).inserted { chosen.append(node) }
            }
        } else {
            chosen = all.filter { (profiles[$0.profile]?.image ?? "default") == request.image && $0.mac != nil }
        }
        let statuses = Dictionary(try registry.statuses().map { ($0.hostname, $0) }, uniquingKeysWith: { a, _ in a })
        let bmcs = try registry.bmcs()
        let named = request.nodes != nil
        var nodes: [String: RolloutNode] = [:]
        var going: [String] = []
        for node in chosen {
            let host = node.hostname.value
            let status = statuses[host]
            var entry = RolloutNode(pinBefore: node.generation, ranBefore: status?.image)
            if let pin = profiles[node.profile]?.generation, pin != target {
                entry.state = .skipped
                entry.note = "profile \(node.profile) is pinned to \(pin)"
            } else if let pin = node.generation, pin != target, !named {
                entry.state = .skipped
                entry.note = "pinned to \(pin) (name it with --nodes to move it, or `provisioner node unpin \(host)`)"
            } else if status?.image == "\(request.image)/\(target)" && status?.state == .ready {
                entry.state = .done
                entry.note = "already runs \(target)"
            } else if node.mac == nil || status?.state != .ready {
                entry.state = .skipped
                entry.note = "not running (\(status?.state.rawValue ?? "registered")): it boots the new generation when it next boots"
            } else if bmcs[host] == nil {
                entry.state = .skipped
                entry.note = "no BMC to power-cycle it (`provisioner node bmc \(host) …`)"
            } else {
                going.append(host)
            }
            nodes[host] = entry
        }
        var settings = request.settings
        settings.activate = settings.activate && !named
        return Rollout(image: request.image, target: target, previous: set.active, batches: request.batching.batches(going),
                       nodes: nodes, options: settings, now: now)
    }

    /// Starts a rollout (see `planRollout`) and runs it to its end; `say` gets progress lines.
    /// - Returns: the finished rollout.
    /// - Throws: `RolloutFailure` when a batch failed (it was rolled back), `ConflictError` while another rollout of the image runs.
    public func rollout(_ request: RolloutRequest, say: @escaping (String) -> Void) throws -> Rollout {
        let config = try loadConfig()
        return try RolloutLock(config: config, image: request.image).holding {
            let planned = try planRollout(request, now: Timestamp.iso(Date()))
            let rollout = try openRegistry().createRollout(planned)
            say("rollout \(rollout.id): \(rollout.image) \(rollout.previous.map { "\($0) → " } ?? "")\(rollout.target), "
                + "\(rollout.batches.count) batch(es) of \(rollout.batches.first?.count ?? 0)")
            return try RolloutRunner(site: self, config: config, power: request.power, say: say).run(rollout)
        }
    }

    /// Continues the image's running rollout (its CLI was killed) from where its state says it was.
    public func resumeRollout(image: String, power: PowerOptions = PowerOptions(), say: @escaping (String) -> Void) throws -> Rollout {
        let config = try loadConfig()
        return try RolloutLock(config: config, image: image).holding {
            guard let rollout = try openRegistry().rollouts(image: image).first(where: { $0.status == .running }) else {
                throw NotFoundError("rollout", image, message: "image \(image) has no running rollout to resume")
            }
            say("resuming rollout \(rollout.id) at batch \(min(rollout.batch + 1, rollout.batches.count))/\(rollout.batches.count)")
            return try RolloutRunner(site: self, config: config, power: power, say: say).run(rollout)
        }
    }

    /// Stops the image's running rollout where it is: its drained nodes are put back, pins stay.
    public func abortRollout(image: String) throws -> Rollout {
        let config = try loadConfig()
        return try RolloutLock(config: config, image: image).holding {
            let registry = try openRegistry()
            guard var rollout = try registry.rollouts(image: image).first(where: { $0.status == .running }) else {
                throw NotFoundError("rollout", image, message: "image \(image) has no running rollout")
            }
            let held = rollout.nodes.filter { [.draining, .cycling].contains($0.value.state) }.map(\.key)
            _ = try registry.setDrained(held, false, now: Timestamp.iso(Date()))
            rollout.status = .aborted
            rollout.message = "aborted by the operator at batch \(rollout.batch + 1)/\(rollout.batches.count)"
            rollout.updatedAt = Timestamp.iso(Date())
            try registry.saveRollout(rollout)
            return rollout
        }
    }

    /// Rollouts, newest first.
    public func rollouts(image: String?) throws -> [Rollout] { try openRegistry().rollouts(image: image) }

    /// Pins nodes to a generation of their image (nil: they follow the active one again) and writes their boot files.
    /// - Throws: `NotFoundError` for an unknown node or generation.
    public func pin(_ keys: [String], to generation: GenerationID?) throws -> [(node: Node, files: NodeOperations.FileReport)] {
        let config = try loadConfig()
        let ops = try nodeOperations(config)
        var out: [(node: Node, files: NodeOperations.FileReport)] = []
        let hosts = try PowerOperations(registry: ops.registry).targets(keys).map(\.node)
        if let generation {
            for host in hosts {
                guard let node = try ops.registry.node(host) else { throw NotFoundError("node", host) }
                let image = config.profile(node.profile)?.image ?? "default"
                guard ImageStore(config: config, image: image).generations().ids.contains(generation) else {
                    throw NotFoundError("generation", generation.description, message: "image \(image) (of \(host)) has no generation \(generation)")
                }
            }
        }
        let now = Timestamp.iso(Date())
        for host in hosts {
            let r = try ops.update(host, NodeChange(pin: generation.map { .pin($0) } ?? .unpin), now: now)
            out.append((r.new, r.files))
        }
        return out
    }

    /// Takes nodes out of placement (or puts them back).
    public func drain(_ keys: [String], _ drained: Bool) throws -> [String] {
        let registry = try openRegistry()
        let hosts = try PowerOperations(registry: registry).targets(keys).map(\.node)
        return try registry.setDrained(hosts, drained, now: Timestamp.iso(Date()))
    }
}

/// One rollout at a time per image, across processes: flock on `<image>/.rollout.lock`.
struct RolloutLock {
    let config: SiteConfig
    let image: String

    func holding<T>(_ body: () throws -> T) throws -> T {
        let dir = "\(config.imagesDir)/\(image)"
        try FileSystem.makeDirectory(dir)
        let fd = open(dir + "/.rollout.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("opening \(dir)/.rollout.lock: \(errnoText())") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw BusyError("a rollout of image \(image) is being worked on by another process (it holds \(dir)/.rollout.lock)")
        }
        return try body()
    }
}

/// Why a node could not be drained.
struct DrainRefusal: Error {
    let reason: String
}

/// The time a rollout goes by: the system's, or a test's that jumps
/// forward instead of sleeping (a fast test walks through hours of waiting).
struct RolloutClock: Sendable {
    var now: @Sendable () -> Date
    var sleep: @Sendable (Double) -> Void

    static let system = RolloutClock(now: { Date() }, sleep: { Thread.sleep(forTimeInterval: $0) })

    /// Now, as the registry's timestamps write it.
    func iso() -> String { Timestamp.iso(now()) }

    /// Waits until `condition` holds, checking every second, for at most `seconds`.
    func wait(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = now().addingTimeInterval(seconds)
        while now() < deadline {
            if condition() { return true }
            sleep(1)
        }
        return condition()
    }
}

/// Runs a rollout's batches, saving its state after every step: drain,
/// pin and power-cycle through the BMCs, wait for each node's enrollment on
/// the target, and roll a failed batch back.
struct RolloutRunner {
    let site: Site
    let config: SiteConfig
    let power: PowerOptions
    let say: (String) -> Void
    /// The clock its waits and timestamps use.
    var clock: RolloutClock = .system
    /// Makes a node's BMC client (nil: the real drivers).
    var bmc: (@Sendable (BMCSettings, Double) throws -> any BMCClient)? = nil

    /// The BMC fan-outs of this rollout.
    func powerOperations(_ registry: any Registry) -> PowerOperations { PowerOperations(registry: registry, client: bmc) }

    func run(_ start: Rollout) throws -> Rollout {
        var r = start
        let registry = try site.openRegistry()
        let ops = try site.nodeOperations(config)
        func save() throws {
            r.updatedAt = clock.iso()
            try registry.saveRollout(r)
        }
        for (host, n) in r.nodes.sorted(by: { $0.key < $1.key }) where n.state == .skipped || (n.state == .done && r.batch == 0 && r.batchPoweredAt == nil) {
            say("  \(host): \(n.state.rawValue): \(n.note ?? "")")
        }
        while r.batch < r.batches.count {
            let batch = r.batches[r.batch]
            let label = "batch \(r.batch + 1)/\(r.batches.count)"
            var hosts = batch.filter { [.pending, .draining, .cycling].contains(r.nodes[$0]?.state) }
            say("\(label): \(batch.joined(separator: ", "))")
            // 1. Drain: out of placement, instances stopped.
            if r.batchPoweredAt == nil {
                for h in hosts { r.nodes[h]?.state = .draining }
                try save()
                for (h, outcome) in try drain(hosts, r.options, registry: registry) {
                    switch outcome {
                    case .failure(let refusal):
                        r.nodes[h]?.state = .skipped
                        r.nodes[h]?.note = refusal.reason
                        _ = try registry.setDrained([h], false, now: clock.iso())
                        say("  \(h): skipped: \(refusal.reason)")
                    case .success(let note?):
                        r.nodes[h]?.note = note
                    case .success(nil):
                        break
                    }
                }
                hosts = hosts.filter { r.nodes[$0]?.state == .draining }
                // 2. Pinned to the target (its boot files now name it), power-cycled with PXE next.
                for h in hosts {
                    _ = try ops.update(h, NodeChange(pin: .pin(r.target)), now: clock.iso())
                    r.nodes[h]?.state = .cycling
                }
                r.batchPoweredAt = clock.iso()
                try save()
                for result in try powerOperations(registry).power(.cycle, hosts, power) {
                    if let failure = result.failure {
                        r.nodes[result.node]?.state = .failed
                        r.nodes[result.node]?.note = "power cycle failed (\(failure.rawValue)): \(result.error ?? "")"
                    }
                    say("  \(result.node): \(result.ok ? result.result ?? "" : "power cycle failed: \(result.error ?? "")")")
                }
                try save()
            }
            // 3. Wait for each node's enrollment on the target generation.
            let cycling = hosts.filter { r.nodes[$0]?.state == .cycling }
            let back = try awaitEnrollment(cycling, image: "\(r.image)/\(r.target)", since: r.batchPoweredAt ?? clock.iso(), timeout: r.options.timeout, registry: registry)
            for h in cycling {
                if let seconds = back[h] {
                    r.nodes[h]?.state = .done
                    r.nodes[h]?.seconds = seconds
                    say(String(format: "  %@: enrolled on %@ (%.0f s)", h, r.target.description, seconds))
                } else {
                    r.nodes[h]?.state = .failed
                    // Built first: the assignment below holds `r` exclusively.
                    let note = "did not enroll on \(r.target) within \(Int(r.options.timeout)) s; \(lastPhase(h, since: r.batchPoweredAt, registry: registry))"
                    r.nodes[h]?.note = note
                    say("  \(h): FAILED: \(r.nodes[h]?.note ?? "")")
                }
            }
            // 4. A failed batch goes back to what it ran, and the rollout stops.
            let failed = batch.filter { r.nodes[$0]?.state == .failed }
            if !failed.isEmpty {
                r.message = "\(failed.joined(separator: ", ")) failed in \(label): " + failed.compactMap { r.nodes[$0]?.note }.joined(separator: "; ")
                try save()
                try rollBack(batch.filter { [.failed, .done].contains(r.nodes[$0]?.state) }, &r, registry: registry, ops: ops)
                r.status = .failed
                try save()
                throw RolloutFailure(rollout: r)
            }
            _ = try registry.setDrained(batch, false, now: clock.iso())
            r.batch += 1
            r.batchPoweredAt = nil
            try save()
        }
        // 5. Every node of the image through: the target becomes the active generation and the rollout's pins go.
        if r.options.activate {
            say("activating \(r.image)/\(r.target): " + (try site.activateImage(r.image, generation: r.target)))
            // A pin to the target (the rollout's own, a canary's) now says what the active generation says: it goes.
            let pinned = try registry.nodes().filter { r.nodes[$0.hostname.value] != nil && $0.generation == r.target }.map(\.hostname.value)
            for h in pinned { _ = try ops.update(h, NodeChange(pin: .unpin), now: clock.iso()) }
        }
        r.status = .done
        r.message = nil
        try save()
        return r
    }

    /// Drains the nodes: out of placement, then their instances are stopped
    /// (after the grace period, or waited for). Returns, per node, nil or why it could not be drained.
    func drain(_ hosts: [String], _ options: RolloutSettings, registry: any Registry) throws -> [(String, Result<String?, DrainRefusal>)] {
        guard !hosts.isEmpty else { return [] }
        _ = try registry.setDrained(hosts, true, now: clock.iso())
        func live(_ h: String) throws -> [InstanceRecord] {
            // Running, or placed and wanted (not started yet): either would hold the node.
            try registry.instances().filter { $0.node == h && ($0.state == .running || ($0.state == .pending && $0.desired == .running)) }
        }
        var count: [String: Int] = [:]
        var notes: [String: String] = [:]
        for h in hosts { count[h] = try live(h).count }
        if count.values.contains(where: { $0 > 0 }) {
            for h in hosts where count[h, default: 0] > 0 { notes[h] = "drained \(count[h]!) instance(s)" }
            if options.waitForInstances {
                say("  waiting up to \(Int(options.drainTimeout)) s for \(count.values.reduce(0, +)) instance(s) to end")
            } else {
                say("  \(count.values.reduce(0, +)) instance(s) terminated in \(Int(options.grace)) s (the grace period)")
                clock.sleep(options.grace)
                for h in hosts {
                    for i in try live(h) where i.desired != .terminated { _ = try registry.terminateInstance(i.id, now: clock.iso()) }
                }
            }
            _ = clock.wait(options.drainTimeout) { hosts.allSatisfy { ((try? live($0)) ?? [InstanceRecord]()).isEmpty } }
        }
        return try hosts.map { h in
            let left = try live(h)
            if !left.isEmpty { return (h, .failure(DrainRefusal(reason: "instances \(left.map(\.id).joined(separator: ", ")) did not stop within \(Int(options.drainTimeout)) s"))) }
            return (h, .success(notes[h]))
        }
    }

    /// Waits until each node has enrolled on `image` ("default/g2") since `since`.
    /// - Returns: seconds from `since` to the enrollment, per node that made it.
    func awaitEnrollment(_ hosts: [String], image: String?, since: String, timeout: Double, registry: any Registry,
               notOn target: String? = nil) throws -> [String: Double] {
        guard !hosts.isEmpty else { return [:] }
        let start = Timestamp.parse(since) ?? clock.now()
        let remaining = max(30, timeout - clock.now().timeIntervalSince(start))
        var back: [String: Double] = [:]
        var told: [String: Set<BootPhase>] = [:]
        _ = clock.wait(remaining) {
            for h in hosts where back[h] == nil {
                guard let s = try? registry.status(h) else { continue }
                for p in BootPhase.order where (s.phases[p] ?? "") >= since && told[h, default: []].insert(p).inserted && p != .enrolled {
                    say("  \(h): \(p.rawValue)")
                }
                let onImage = image.map { s.image == $0 } ?? (s.image != target)
                if s.state == .ready, onImage, let at = s.enrolledAt, at >= since {
                    back[h] = (Timestamp.parse(at) ?? clock.now()).timeIntervalSince(start)
                }
            }
            return back.count == hosts.count
        }
        return back
    }

    /// Where a node's boot got to since `since`: its last boot phase.
    func lastPhase(_ host: String, since: String?, registry: any Registry) -> String {
        guard let s = try? registry.status(host) else { return "no status" }
        let since = since ?? ""
        guard let last = BootPhase.order.last(where: { (s.phases[$0] ?? "") >= since && s.phases[$0] != nil }) else {
            return "it never asked for DHCP"
        }
        return "last boot phase: \(last.rawValue)"
    }

    /// Puts a failed batch back on what each node ran (its pin before the
    /// rollout, or the active generation), power-cycles it and waits for it.
    func rollBack(_ hosts: [String], _ r: inout Rollout, registry: any Registry, ops: NodeOperations) throws {
        guard !hosts.isEmpty else { return }
        say("rolling back \(hosts.joined(separator: ", ")) to what they ran")
        for h in hosts {
            let before = r.nodes[h]?.pinBefore
            _ = try ops.update(h, NodeChange(pin: before.map { .pin($0) } ?? .unpin), now: clock.iso())
        }
        let since = clock.iso()
        for result in try powerOperations(registry).power(.cycle, hosts, power) where !result.ok {
            say("  \(result.node): power cycle failed: \(result.error ?? "")")
        }
        let back = try awaitEnrollment(hosts, image: nil, since: since, timeout: r.options.timeout, registry: registry, notOn: "\(r.image)/\(r.target)")
        for h in hosts {
            let failure = r.nodes[h]?.note.map { " (\($0))" } ?? ""
            r.nodes[h]?.state = .rolledBack
            if let seconds = back[h] {
                let now = (try? registry.status(h))?.image ?? "?"
                r.nodes[h]?.note = String(format: "rolled back: enrolled on %@ (%.0f s)%@", now, seconds, failure)
                say(String(format: "  %@: back on %@, enrolled (%.0f s)", h, now, seconds))
            } else {
                let note = "rolled back, but it did not enroll within \(Int(r.options.timeout)) s\(failure)"
                r.nodes[h]?.note = note
                say("  \(h): rolled back, but it did not enroll within \(Int(r.options.timeout)) s")
            }
        }
        _ = try registry.setDrained(hosts, false, now: clock.iso())
    }
}

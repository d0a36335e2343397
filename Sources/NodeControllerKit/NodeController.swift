import FoundationEssentials
import ProvisionerAPI

/// The node's conversation with `provisioner serve`: enroll, then heartbeat forever.
///
/// Heartbeats go out at the server's interval ±10%. While the server is unreachable or
/// answers 5xx the loop backs off exponentially (±20%, capped); a 401 on a heartbeat means
/// enroll again; an answer that breaks the contract is logged and the loop goes on. Commands
/// in heartbeat answers (`run`, `terminate`) are applied to the `Hypervisor`, and every
/// heartbeat reports all instances, including ones that failed to start or just ended.
public actor NodeController {
    /// What the node says about itself when it enrolls.
    public struct Enrollment: Sendable, Equatable {
        public var mac: String
        public var hostname: String
        public var ip: String
        /// The single-use boot credential from the kernel command line (the
        /// node's iPXE script) or the config file; nil: the boot files carried
        /// none, and the controller asks serve for one.
        public var token: String?
        public var image: String?

        public init(mac: String, hostname: String, ip: String, token: String?, image: String?) {
            self.mac = mac
            self.hostname = hostname
            self.ip = ip
            self.token = token
            self.image = image
        }
    }

    /// Heartbeat interval used until the server names one.
    public static let defaultInterval = 5.0

    let client: ServerClient
    let hypervisor: any Hypervisor
    let enrollment: Enrollment
    let log: Log
    let backoff: Backoff
    let sleep: @Sendable (Double) async throws -> Void
    let uptime: @Sendable () -> Double?
    /// Sets the host name (sethostname(2) on a node); nil leaves it alone.
    let rename: (@Sendable (String) -> Bool)?

    /// The boot credential to enroll with: the enrollment's, else one serve
    /// gave; nil once used or refused (the controller then asks for a new one).
    public private(set) var token: String?
    public private(set) var credential: String?
    public private(set) var sequence = 0
    public private(set) var interval = NodeController.defaultInterval
    /// Consecutive failed exchanges; drives the backoff.
    public private(set) var failures = 0
    /// Consecutive 401s on heartbeats, reset only by an accepted heartbeat.
    private var unauthorizedStreak = 0

    private var lastKnown: [InstanceStatus] = []
    private var lastStates: [String: InstanceState] = [:]
    private var failedStarts: [String: InstanceStatus] = [:]
    private var ended: [String: InstanceStatus] = [:]
    private var listingFailed = false
    /// Reads the node's own boot timings; nil: none are sent.
    let bootTimings: BootTimingsProbe?
    /// The node's firmware, sent with the enrollment.
    let platform: NodePlatform?
    /// The node's TPM: each enrollment proves the key it keeps; nil: none.
    let tpm: (any TPMSigner)?
    /// The node's incusd, which joins the site's Incus cluster (nil: the node has none).
    let cloud: IncusJoiner?
    /// The node's standing in the cloud, reported with each heartbeat (nil: the site has no cloud).
    public private(set) var cloudReport: CloudMemberReport?
    /// Asks the hypervisor off the controller's own thread, with a deadline.
    let reader: HypervisorReader
    /// Seconds an enrollment or heartbeat waits for the hypervisor before it goes
    /// without its answer (the host's own numbers, hypervisor "none", the last
    /// known instances): libvirtd's first answer after boot takes ~30 s under TCG.
    let hypervisorWait: Double
    /// The same wait for the enrollment, shorter: a booting node's libvirtd is not
    /// up yet, and the first heartbeat follows the enrollment with its answer.
    var enrollWait: Double { min(0.5, hypervisorWait) }
    /// Seconds since boot when this controller started.
    let startedAt: Double?
    /// The timings of the finished boot have been accepted by the server.
    private var finishedTimingsSent = false

    public init(client: ServerClient, hypervisor: any Hypervisor, enrollment: Enrollment, log: Log = .standardError,
                backoff: Backoff = Backoff(),
                sleep: @escaping @Sendable (Double) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64(max(0, $0) * 1e9)) },
                uptime: @escaping @Sendable () -> Double? = { HostProbe().uptimeSeconds() },
                rename: (@Sendable (String) -> Bool)? = nil, bootTimings: BootTimingsProbe? = nil, platform: NodePlatform? = nil,
                hypervisorWait: Double = 2, tpm: (any TPMSigner)? = nil, cloud: IncusJoiner? = nil) {
        self.token = enrollment.token
        self.cloud = cloud
        self.tpm = tpm
        self.reader = HypervisorReader(hypervisor: hypervisor)
        self.hypervisorWait = hypervisorWait
        self.bootTimings = bootTimings
        self.platform = platform
        self.startedAt = uptime()
        self.client = client
        self.rename = rename
        self.hypervisor = hypervisor
        self.enrollment = enrollment
        self.log = log
        self.backoff = backoff
        self.sleep = sleep
        self.uptime = uptime
    }

    /// Runs until the task is cancelled or `sleep` throws.
    public func run() async {
        while !Task.isCancelled {
            let delay = await step()
            do { try await sleep(delay) } catch { return }
        }
    }

    /// One exchange with the server (enroll when there is no credential, else a heartbeat).
    /// - Returns: seconds to wait before the next step.
    @discardableResult
    public func step() async -> Double {
        if token == nil { return await tokenStep() }
        if credential == nil { return await enrollStep() }
        return await heartbeatStep()
    }

    /// `--once`: enroll and send one heartbeat, without retries and without applying commands.
    /// - Returns: the capacity reported, or nil (already logged) when either exchange failed.
    public func runOnce() async -> NodeCapacity? {
        if token == nil {
            let outcome = await fetchToken()
            guard case .ok = outcome else {
                log.error("asking \(client.server.absoluteString) for a boot credential: \(Self.describe(outcome))")
                return nil
            }
        }
        switch await client.enroll(await enrollRequest()) {
        case .ok(let answer):
            credential = answer.credential
            log.info("enrolled as \(answer.hostname) at \(client.server.absoluteString)")
            await joinCloud(answer.cloud, pending: answer.cloudPending)
        case let other:
            log.error("enrolling at \(client.server.absoluteString): \(Self.describe(other))")
            return nil
        }
        let instances = collectInstances(Result { try hypervisor.instances() })
        let capacity = hypervisor.capacity()
        sequence += 1
        switch await client.heartbeat(Heartbeat(capacity: capacity, instances: instances, sequence: sequence, cloud: cloudReport), credential: credential ?? "") {
        case .ok(let answer):
            if !answer.run.isEmpty || !answer.terminate.isEmpty {
                log.info("--once: not applying \(answer.run.count) run and \(answer.terminate.count) terminate commands")
            }
            log.info("heartbeat \(sequence) accepted")
            return capacity
        case let other:
            log.error("heartbeat \(sequence): \(Self.describe(other))")
            return nil
        }
    }

    // MARK: Steps

    /// Asks serve for a new boot credential and takes it.
    /// - Returns: `.ok` once the controller has one; else why not (an
    ///   answer whose credential is empty or not one word is garbage).
    private func fetchToken() async -> ServerOutcome<NodeTokenResponse> {
        let outcome = await client.nodeToken(NodeTokenRequest(mac: enrollment.mac))
        guard case .ok(let answer) = outcome else { return outcome }
        guard Self.isCredential(answer.token) else { return .garbage("the answer's credential is empty or not one word") }
        log.info("got a boot credential from \(client.server.absoluteString)")
        token = answer.token
        return outcome
    }

    /// Whether `text` can be a credential: one word of printable ASCII.
    public static func isCredential(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }

    private func tokenStep() async -> Double {
        let outcome = await fetchToken()
        guard case .ok = outcome else { return failed("asking \(client.server.absoluteString) for a boot credential", outcome) }
        failures = 0
        return 0
    }

    private func enrollStep() async -> Double {
        let request = await enrollRequest()
        let outcome = await client.enroll(request)
        switch outcome {
        case .ok(let answer):
            credential = answer.credential
            failures = 0
            accept(interval: answer.heartbeatSeconds)
            log.info("enrolled as \(answer.hostname) at \(client.server.absoluteString), heartbeat every \(Self.seconds(interval))")
            adoptRegisteredName(answer.hostname)
            log.info("capacity: \(Self.summary(request.capacity))" + (request.platform.map { "; firmware: \($0.summary)" } ?? ""))
            startJoin(answer.cloud, pending: answer.cloudPending)
            return backoff.jittered(interval)
        case .rejected(403, _), .rejected(409, _):
            // A boot credential serve does not take (used already, this
            // controller restarted; expired; replaced by a newer one; or the
            // node still counts as up): forget it and ask for a new one.
            token = nil
            return failed("enrolling at \(client.server.absoluteString)", outcome)
        case let other:
            return failed("enrolling at \(client.server.absoluteString)", other)
        }
    }

    private var joining = false

    /// The join beside the heartbeats (a join can take a minute; the node must
    /// not look lost meanwhile): its heartbeats say `joining` until it ends.
    private func startJoin(_ join: CloudJoin?, pending: String?) {
        guard let join, cloud != nil else {
            Task { await self.joinCloud(join, pending: pending) }
            return
        }
        guard !joining else { return }
        joining = true
        cloudReport = CloudMemberReport(state: "joining")
        Task {
            await self.joinCloud(join, pending: pending)
            self.endJoin()
        }
    }

    private func endJoin() { joining = false }

    /// Joins the node's incusd to the site's cluster with the join the server
    /// minted for this boot; or records why not (the server's reason, no
    /// incusd, incusd's own error), which the heartbeats report until a later
    /// answer brings a new join. Booting never waits on the cloud.
    func joinCloud(_ join: CloudJoin?, pending: String?) async {
        guard let join else {
            if let pending {
                cloudReport = CloudMemberReport(state: "pending", reason: pending)
                log.warning("cloud: not joining now: \(pending)")
            }
            return
        }
        guard let cloud else {
            cloudReport = CloudMemberReport(state: "pending", reason: "this node has no incusd (the image lacks incus-base)")
            log.warning("cloud: the site has an Incus cluster but this node has no incusd")
            return
        }
        let started = uptime()
        do {
            try await cloud.join(join)
            cloudReport = CloudMemberReport(state: "joined")
            let took = zip2(started, uptime()).map { " in " + Self.seconds($1 - $0) } ?? ""
            log.info("cloud: joined the Incus cluster as \(join.serverName) through \(join.clusterAddress)\(took)")
        } catch {
            cloudReport = CloudMemberReport(state: "pending", reason: "\(error)")
            log.warning("cloud: joining the Incus cluster failed: \(error)")
        }
    }

    /// The registry names the node: where DHCP gave another name or none (a
    /// site's own DHCP server in proxyDHCP mode), the node takes the registered one.
    private func adoptRegisteredName(_ registered: String) {
        guard let rename, registered != enrollment.hostname, !registered.isEmpty else { return }
        if rename(registered) {
            log.info("host name set to \(registered), the registered name (DHCP gave \(enrollment.hostname))")
        } else {
            log.warning("cannot set the host name to \(registered) (DHCP gave \(enrollment.hostname))")
        }
    }

    /// One line: `kernel 12.1 s, userspace 30.2 s (controller at +8.0 s); slowest: libvirtd.service 5.0 s, …`.
    static func describe(_ t: BootTimings) -> String {
        func s(_ v: Double?) -> String { v.map { Posix.oneDecimal($0) + " s" } ?? "?" }
        var line = "kernel \(s(t.kernelSeconds)), userspace \(s(t.userspaceSeconds)) (controller at +\(s(t.controllerStartSeconds)))"
        if !t.slowestUnits.isEmpty { line += "; slowest: " + t.slowestUnits.prefix(3).map { "\($0.unit) \(s($0.seconds))" }.joined(separator: ", ") }
        return line
    }

    /// What the hypervisor says within `hypervisorWait`; else the host's own numbers
    /// (hypervisor "none" and why) and the last known instances.
    private func readHypervisor(within wait: Double) async -> (capacity: NodeCapacity, instances: [InstanceStatus]) {
        if let answer = await reader.read(within: wait) {
            return (answer.capacity, collectInstances(answer.instances))
        }
        let late = HypervisorReader.NoAnswer(seconds: wait)
        return (hypervisor.hostCapacity(reason: "\(late) (libvirtd may still be starting; it is asked again with the next heartbeat)"),
                collectInstances(.failure(late)))
    }

    private func enrollRequest() async -> EnrollRequest {
        let (capacity, instances) = await readHypervisor(within: enrollWait)
        let token = self.token ?? ""
        var proof: TPMProof?
        if let tpm {
            // Without a proof a node bound to its TPM is refused: the server says why.
            do { proof = try tpm.prove(TPMProof.message(mac: enrollment.mac, token: token)) } catch { log.warning("\(error): enrolling without a TPM proof") }
        }
        return EnrollRequest(mac: enrollment.mac, hostname: enrollment.hostname, ip: enrollment.ip, token: token,
                      image: enrollment.image, capacity: capacity, instances: instances,
                      uptimeSeconds: uptime(), controllerVersion: NodeControllerKit.version,
                      bootTimings: bootTimings?.timings(controllerStart: startedAt), platform: platform, tpm: proof)
    }

    private func heartbeatStep() async -> Double {
        let (capacity, instances) = await readHypervisor(within: hypervisorWait)
        sequence += 1
        // Once the boot has finished, its whole timings go with one heartbeat.
        let timings = finishedTimingsSent ? nil : bootTimings?.timings(controllerStart: startedAt).flatMap { $0.finished ? $0 : nil }
        let heartbeat = Heartbeat(capacity: capacity, instances: instances, sequence: sequence, bootTimings: timings, cloud: cloudReport)
        switch await client.heartbeat(heartbeat, credential: credential ?? "") {
        case .ok(let answer):
            if let timings {
                finishedTimingsSent = true
                log.info("boot timings sent: \(Self.describe(timings))")
            }
            failures = 0
            unauthorizedStreak = 0
            for status in instances where ended[status.id] == status { ended[status.id] = nil }
            accept(interval: answer.heartbeatSeconds)
            apply(answer)
            if answer.cloud != nil || answer.cloudPending != nil { startJoin(answer.cloud, pending: answer.cloudPending) }
            return backoff.jittered(interval)
        case .unauthorized(let message):
            // The boot credential was used up by the enrollment: a new one is asked for.
            credential = nil
            token = nil
            unauthorizedStreak += 1
            log.warning("heartbeat \(sequence) refused (401: \(message)); enrolling again")
            // The first 401 re-enrolls at once; a 401 again after that backs off.
            return unauthorizedStreak == 1 ? 0 : backoff.delay(afterFailures: unauthorizedStreak - 1)
        case .rejected(409, let message):
            // Taken as replayed or out of order: someone else is sending with
            // this credential, and serve has revoked it for both. The node asks
            // for a new boot credential (given once the alive window has passed:
            // nobody's heartbeats keep it up any more) and enrolls again.
            credential = nil
            token = nil
            unauthorizedStreak += 1
            log.warning("heartbeat \(sequence) refused (409: \(message)); enrolling again for a new credential")
            return unauthorizedStreak == 1 ? 0 : backoff.delay(afterFailures: unauthorizedStreak - 1)
        case .garbage(let message):
            log.warning("heartbeat \(sequence): \(message); next heartbeat in \(Self.seconds(interval))")
            return backoff.jittered(interval)
        case let other:
            return failed("heartbeat \(sequence)", other)
        }
    }

    private func failed<T>(_ what: String, _ outcome: ServerOutcome<T>) -> Double {
        failures += 1
        let delay = backoff.delay(afterFailures: failures)
        log.warning("\(what): \(Self.describe(outcome)); attempt \(failures), retrying in \(Self.seconds(delay))")
        return delay
    }

    private func accept(interval proposed: Double) {
        guard proposed.isFinite, proposed > 0 else {
            log.warning("server sent heartbeatSeconds \(proposed); keeping \(Self.seconds(interval))")
            return
        }
        interval = min(max(proposed, 1), 3600)
    }

    // MARK: Instances

    /// Terminates, then starts what the server asks.
    private func zip2(_ a: Double?, _ b: Double?) -> (Double, Double)? {
        guard let a, let b else { return nil }
        return (a, b)
    }

    private func apply(_ answer: HeartbeatResponse) {
        var terminated = Set<String>()
        for id in answer.terminate where !terminated.contains(id) {
            terminated.insert(id)
            do {
                try hypervisor.terminate(id: id)
                let known = lastKnown.first { $0.id == id } ?? failedStarts[id]
                failedStarts[id] = nil
                ended[id] = InstanceStatus(id: id, state: .terminated, vcpus: known?.vcpus ?? 0, memoryMiB: known?.memoryMiB ?? 0)
                lastKnown.removeAll { $0.id == id }
                log.info("terminated instance \(id)")
            } catch {
                log.error(Self.naming("terminating instance \(id)", error))
            }
        }
        guard !answer.run.isEmpty else { return }
        let present = Set(((try? hypervisor.instances()) ?? lastKnown).map(\.id))
        var started = Set<String>()
        for spec in answer.run where !present.contains(spec.id) && failedStarts[spec.id] == nil
            && !terminated.contains(spec.id) && !started.contains(spec.id) {
            started.insert(spec.id)
            do {
                try hypervisor.start(spec)
                ended[spec.id] = nil
                log.info("started instance \(spec.id): \(spec.vcpus) vCPU, \(spec.memoryMiB) MiB, \(spec.kernel.map { "kernel \($0)" } ?? "disk \(spec.disk ?? "")")")
            } catch {
                failedStarts[spec.id] = InstanceStatus(id: spec.id, state: .failed, vcpus: spec.vcpus,
                                                       memoryMiB: spec.memoryMiB, message: "\(error)")
                log.error(Self.naming("starting instance \(spec.id)", error))
            }
        }
    }

    /// Every instance to report: the hypervisor's, plus failed starts and ended ones not yet reported.
    private func collectInstances(_ listing: Result<[InstanceStatus], any Error>) -> [InstanceStatus] {
        var current: [InstanceStatus]
        do {
            current = try listing.get()
            listingFailed = false
        } catch {
            if !listingFailed { log.warning("listing instances: \(error); reporting the last known states") }
            listingFailed = true
            current = lastKnown
        }
        let ids = Set(current.map(\.id))
        for old in lastKnown where !ids.contains(old.id) && ended[old.id] == nil {
            ended[old.id] = InstanceStatus(id: old.id, state: .terminated, vcpus: old.vcpus,
                                           memoryMiB: old.memoryMiB, message: "no longer defined in the hypervisor")
        }
        lastKnown = current
        var all = current
        all += failedStarts.values.filter { !ids.contains($0.id) }
        all += ended.values.filter { !ids.contains($0.id) && failedStarts[$0.id] == nil }
        all.sort { $0.id < $1.id }
        var states: [String: InstanceState] = [:]
        for s in all {
            states[s.id] = s.state
            if lastStates[s.id] != s.state {
                log.info("instance \(s.id): \(lastStates[s.id]?.rawValue ?? "new") -> \(s.state.rawValue)\(s.message.map { " (\($0))" } ?? "")")
            }
        }
        lastStates = states
        return all
    }

    // MARK: Text

    static func describe<T>(_ outcome: ServerOutcome<T>) -> String {
        switch outcome {
        case .ok: return "ok"
        case .unauthorized(let m): return "refused (401: \(m))"
        case .serverError(let s, let m): return "server error (\(s): \(m))"
        case .rejected(let s, let m): return "rejected (\(s): \(m))"
        case .unreachable(let m): return "server unreachable (\(m))"
        case .garbage(let m): return m
        }
    }

    /// The error's text, prefixed with what was attempted unless it already says so.
    static func naming(_ attempt: String, _ error: any Error) -> String {
        let text = "\(error)"
        return text.hasPrefix(attempt) ? text : "\(attempt): \(text)"
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() && s < 1e9 ? "\(Int(s))s" : Posix.oneDecimal(s) + "s"
    }

    static func summary(_ c: NodeCapacity) -> String {
        var line = "\(c.coresFree)/\(c.coresMax) cores, \(c.memoryMiBFree)/\(c.memoryMiBMax) MiB memory, \(c.diskMiBFree)/\(c.diskMiBMax) MiB disk free, hypervisor \(c.hypervisor)"
        if let v = c.libvirtVersion { line += ", libvirt \(v)" }
        if let r = c.hardwareVirtualizationReason { line += "; no hardware virtualization: \(r)" }
        return line
    }
}

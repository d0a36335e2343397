import Foundation
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore
import ProvisionerBoot
import ProvisionerImages
import ProvisionerPlatform
import ProvisionerSite

/// What `lab up` asks for.
public struct LabOptions: Sendable {
    public var nodes: Int
    public var spares: Int
    public var memoryMiB: Int
    public var cpus: Int
    /// Shared cache of image builds (base roots, apt packages).
    public var cache: String
    /// Seconds to wait for every node to enroll.
    public var timeout: Double
    public var nodeController: String?
    /// On failure, leave the namespace, serve and the nodes running for a look.
    public var keepOnFailure: Bool
    /// The `provisioner` binary that runs serve inside the namespace.
    public var serveBinary: String
    /// Node i (1-based) gets item i; the last item repeats.
    public var firmwares: [LabFirmware] = [.bios]
    /// Boot servers on the lab's LAN: 1, or 2 (primary and secondary, on a PostgreSQL registry).
    public var servers = 1
    /// The registry of a new lab site (nil: SQLite in the lab's home).
    public var registry: String?

    public func firmware(ofNode i: Int) -> LabFirmware { labItem(firmwares, ofNode: i, or: .bios) }
    /// Node i (1-based) gets item i; the last item repeats.
    public var roots: [RootMode] = [.nfs]

    public func root(ofNode i: Int) -> RootMode { labItem(roots, ofNode: i, or: .nfs) }

    /// `nfs,ram` → [.nfs, .ram].
    /// - Throws: `ValidationError` naming the bad item.
    public static func roots(_ list: String) throws -> [RootMode] { try labList(list, field: "root") }

    /// vCPUs per node when none are asked for: the host's cores shared among the
    /// nodes booting at once, 1 to 4. QEMU's TCG runs a thread per vCPU, and more
    /// vCPUs than cores slow every node down (measured here, 2 cores: one node alone
    /// enrolled in 17-19 s with 2 vCPUs against 26-29 s with 1; two at once in
    /// 27-30 s with 1 each against 35-46 s with 2 each).
    public static func defaultCPUs(nodes: Int, hostCores: Int) -> Int {
        max(1, min(4, hostCores / max(1, nodes)))
    }

    public init(nodes: Int = 2, spares: Int = 0, memoryMiB: Int = 1024, cpus: Int = 1, cache: String = "/var/cache/provisioner",
                timeout: Double = 600, nodeController: String? = nil, keepOnFailure: Bool = false, serveBinary: String) {
        self.nodes = nodes
        self.spares = spares
        self.memoryMiB = memoryMiB
        self.cpus = cpus
        self.cache = cache
        self.timeout = timeout
        self.nodeController = nodeController
        self.keepOnFailure = keepOnFailure
        self.serveBinary = serveBinary
    }
}

/// A failed `lab up`: why, the logs that say more, and what was cleaned up;
/// of the kind of the failure underneath.
public struct LabFailure: Error, CustomStringConvertible, Sendable, ClassifiedError {
    public var description: String
    public var kind: FailureKind
}

extension VirtualLab {
    /// The profile of the lab's Secure Boot nodes.
    public static let secureProfile = try! ProfileName(parsing: "secureboot")
    /// The profile of the lab's RAM-root nodes (root: ram).
    public static let ramProfile = try! ProfileName(parsing: "ram")

    /// The lab's site: its home, with the lab's network.
    public var site: Site { Site(home: home) }

    /// Starts the lab: site (init on first use), registered nodes and spares,
    /// network namespace, image (built when none is active), apply, serve,
    /// QEMU nodes; waits until every node has enrolled. `say` gets progress
    /// lines; `phase` each node's boot phases as they happen.
    ///
    /// Nothing is left behind when it fails (namespace, taps, serve, QEMU),
    /// unless `keepOnFailure`; the error says which way it went.
    /// - Returns: the statuses of the lab nodes and the seconds until all enrolled.
    public func up(_ options: LabOptions, say: (String) -> Void) throws -> (statuses: [NodeStatus], seconds: Double) {
        if isUp() { throw ConflictError("the lab in \(home) is already up (namespace \(namespace)); `provisioner lab down --home \(home)` stops it") }
        guard getuid() == 0 else { throw SystemError("lab up needs root (network namespaces, taps)") }
        for tool in ["qemu-system-x86_64", "ip", "curl", "dnsmasq", "swtpm"] where ProcessRunner.which(tool) == nil {
            throw SystemError("lab up needs \(tool): run `make deps`")
        }
        // What a lab that stopped half-way left (its serve is gone) is cleaned up first.
        if state() != nil {
            for line in down() { say("earlier lab: \(line)") }
        }
        let site = self.site
        let config = try prepareSite(site, options, say: say)
        // Before anything starts: dnsmasq must be able to reach the TFTP root.
        if let problem = DnsmasqService(config: config).tftpRootProblem() { throw SystemError("lab up: \(problem)") }
        try FileSystem.makeDirectory(dir)
        do {
            return try start(site, config, options, say: say)
        } catch {
            let logs = failureLogs()
            if options.keepOnFailure {
                throw LabFailure(description: "\(error)\n\(logs)the lab stays up for a look (--keep-on-failure); `provisioner lab down --home \(home)` stops it",
                                 kind: FailureKind(of: error))
            }
            let cleaned = down()
            throw LabFailure(description: "\(error)\n\(logs)cleaned up: \(cleaned.isEmpty ? "nothing was running" : cleaned.joined(separator: "; "))",
                             kind: FailureKind(of: error))
        }
    }

    /// Init on first use, the cache path and discovery mode in the config, the spares and lab nodes in the registry.
    func prepareSite(_ site: Site, _ options: LabOptions, say: (String) -> Void) throws -> SiteConfig {
        if !FileManager.default.fileExists(atPath: site.configPath) {
            say("initializing the lab site in \(home)")
            try site.initialize(SiteSetup(interface: Self.bridge, serverIP: Self.serverIP, subnet: Self.subnet, dhcpRange: Self.dhcpRange,
                                          registry: options.registry))
            try site.setConfigValue("paths.cache", to: options.cache)
        }
        if options.servers > 1 {
            guard try site.registryURL() != nil else {
                throw ConflictError("two boot servers share one PostgreSQL registry: a new lab takes --registry postgres://…; this lab's registry is SQLite")
            }
            try makePrimary(site)
        }
        if options.spares > 0, try site.loadConfig().discovery != .auto {
            try site.setConfigValue("discovery.mode", to: "auto")
            say("discovery: auto (machines plugged in later take spare1..\(options.spares))")
        }
        // A Secure Boot node needs the signed chain: its own profile (a real
        // site would do the same for its Secure Boot racks).
        let secureNodes = Set((1...options.nodes).filter { options.firmware(ofNode: $0) == .secureboot })
        if !secureNodes.isEmpty, try site.loadConfig().profile(Self.secureProfile) == nil {
            try site.setConfigValue("profiles.\(Self.secureProfile.value).image", to: "default")
            try site.setConfigValue("profiles.\(Self.secureProfile.value).loader", to: BootLoader.secureboot.rawValue)
            say("profile \(Self.secureProfile.value): loader secureboot (shim → GRUB → signed kernel) for the Secure Boot nodes")
        }
        // RAM-root nodes: a profile of their own (Secure Boot nodes keep theirs).
        let ramNodes = Set((1...options.nodes).filter { options.root(ofNode: $0) == .ram && !secureNodes.contains($0) })
        if !ramNodes.isEmpty, try site.loadConfig().profile(Self.ramProfile) == nil {
            try site.setConfigValue("profiles.\(Self.ramProfile.value).image", to: "default")
            try site.setConfigValue("profiles.\(Self.ramProfile.value).root", to: RootMode.ram.rawValue)
            try site.setConfigValue("profiles.\(Self.ramProfile.value).kernel_args", toList: try site.loadConfig().profile(.default)?.kernelArgs ?? [])
            say("profile \(Self.ramProfile.value): root ram (the image fetched into RAM at boot) for nodes \(ramNodes.sorted().map { "lab\($0)" }.joined(separator: ", "))")
        }
        let config = try site.loadConfig()
        let registry = try site.openRegistry()
        var specs: [NodeSpec] = []
        for i in 0..<options.spares where try registry.node("spare\(i + 1)") == nil {
            specs.append(NodeSpec(hostname: try Hostname(parsing: "spare\(i + 1)"), mac: nil))
        }
        for i in 1...options.nodes {
            let profile = secureNodes.contains(i) ? Self.secureProfile : ramNodes.contains(i) ? Self.ramProfile : ProfileName.default
            if let node = try registry.node("lab\(i)") {
                // A lab started again with other firmware: the node follows (the apply below renders its files).
                if node.profile != profile { _ = try registry.update(node.hostname.value, NodeChange(profile: profile), config: config, now: Timestamp.iso(Date())) }
            } else {
                specs.append(NodeSpec(hostname: try Hostname(parsing: "lab\(i)"), mac: try MACAddress(parsing: Self.mac(i)), profile: profile))
            }
        }
        if !specs.isEmpty { try registry.add(specs, config: config, now: Timestamp.iso(Date())) }
        return config
    }

    func start(_ site: Site, _ config: SiteConfig, _ options: LabOptions, say: (String) -> Void) throws -> (statuses: [NodeStatus], seconds: Double) {
        say("network: namespace \(namespace), bridge \(Self.bridge) \(Self.serverIP)/24, \(options.nodes) taps, no uplink")
        try createNetwork(taps: options.nodes)
        // A state file from the start, so `lab down` finds whatever runs even if this fails half-way.
        var state = State(namespace: namespace, servePID: 0, nodes: [])
        try save(state)

        if ImageStore(config: config, image: config.profile(.default)?.image ?? "default").generations().active == nil {
            say("building the node image (cached base roots make this quick after the first time)")
            try withoutActuallyEscaping(say) { say in
                let progress = BuildProgress(verbose: false, line: { say("  " + $0) }, warn: { say("warning: " + $0) })
                _ = try site.buildImage(ImageBuildOptions(image: config.profile(.default)?.image ?? "default", nodeController: options.nodeController),
                                        now: Timestamp.iso(Date()), events: progress.handle)
            }
        }
        say("applying the boot configuration")
        _ = try site.apply()

        say("starting provisioner serve in \(namespace)")
        state.servePID = try spawnInNamespace([options.serveBinary, "serve", "--home", home], log: dir + "/serve.log")
        try save(state)
        let url = "http://\(config.serverIP):\(config.httpPort)/healthz"
        guard awaitServe(pid: state.servePID, namespace: namespace, url: url) else {
            state.servePID = 0   // reaped: nothing for `down` to stop
            try? save(state)
            throw SystemError("serve did not start")
        }

        if options.servers > 1 {
            try startSecondServer(primary: config, serveBinary: options.serveBinary, state: &state, say: say)
        }

        let firmwares = (1...options.nodes).map { "lab\($0) \(options.firmware(ofNode: $0).rawValue)" }.joined(separator: ", ")
        // Enrollments from before this start (a lab home used again) do not count.
        let poweredOn = Timestamp.iso(Date())
        say("booting \(options.nodes) diskless node(s) with QEMU (\(Self.accelerator), \(options.cpus) vCPU(s) and \(options.memoryMiB) MiB each; \(firmwares)); serial logs in \(dir)")
        for i in 1...options.nodes {
            let name = "lab\(i)", tap = "labtap\(i - 1)", log = "\(dir)/\(name).serial.log"
            try FileSystem.writeAtomically(Data(), to: log)
            let firmware = options.firmware(ofNode: i)
            let argv = try qemuArgv(mac: Self.mac(i), tap: tap, serialLog: log, memoryMiB: options.memoryMiB, cpus: options.cpus, name: name, firmware: firmware)
            let pid = try spawnInNamespace(argv, log: "\(dir)/\(name).qemu.log")
            state.nodes.append(LabNode(hostname: name, mac: Self.mac(i), tap: tap, pid: pid, serialLog: log, firmware: firmware,
                                       memoryMiB: options.memoryMiB, cpus: options.cpus))
            try save(state)
        }
        // Each node behind an emulated BMC, as a rack's servers are: `node power`, `image rollout` and `lab reboot` go through it.
        if Self.bmcsAvailable {
            let bmcs = try startBMCs(provisioner: options.serveBinary)
            say("BMCs: " + bmcs.sorted { $0.key < $1.key }.map { "\($0.key) ipmi \($0.value)" }.joined(separator: ", ") + " (ipmi_sim; password in \(bmcPasswordFile))")
        } else {
            say("warning: no ipmi_sim/ipmitool (make deps): the lab nodes get no BMC")
        }

        let names = Set(state.nodes.map(\.hostname))
        let registry = try site.openRegistry()
        let started = Date()
        var reported: [String: Set<BootPhase>] = [:]
        var statuses: [NodeStatus] = []
        let ok = waitUntil(options.timeout) {
            statuses = ((try? registry.statuses()) ?? []).filter { names.contains($0.hostname) }
            for s in statuses {
                for p in BootPhase.order where (s.phases[p] ?? "") >= poweredOn && reported[s.hostname, default: []].insert(p).inserted {
                    say(String(format: "%@: %@ (+%.0f s)", s.hostname, p.rawValue, Date().timeIntervalSince(started)))
                }
            }
            return statuses.count == names.count && statuses.allSatisfy { $0.state == .ready && ($0.enrolledAt ?? "") >= poweredOn }
        }
        guard ok else {
            throw SystemError("not every node enrolled within \(Int(options.timeout)) s (\(statuses.filter { $0.state == .ready }.map(\.hostname).sorted().joined(separator: ", ")) did)")
        }
        let enrolled = Date().timeIntervalSince(started)
        // A node enrolls before its libvirtd answers (its first answer takes ~30 s
        // under TCG); the lab is ready for instances once every node reports it.
        let hypervisors = waitUntil(min(options.timeout, 180)) {
            statuses = ((try? registry.statuses()) ?? []).filter { names.contains($0.hostname) }
            return statuses.allSatisfy { ($0.capacity?.hypervisor ?? HypervisorKind.none) != HypervisorKind.none }
        }
        if hypervisors {
            say(String(format: "every node's hypervisor answering (+%.0f s)", Date().timeIntervalSince(started)))
        } else {
            say("warning: no hypervisor reported yet by " + statuses.filter { ($0.capacity?.hypervisor ?? HypervisorKind.none) == HypervisorKind.none }.map(\.hostname).sorted().joined(separator: ", "))
        }
        return (statuses, enrolled)
    }

    /// The tails of the logs that say why a start failed: serve's, and the nodes' serial logs.
    func failureLogs() -> String {
        var out = ""
        let daemonLogs = (try? site.loadConfig()).map { BootDaemons.of($0).flatMap(\.logs) } ?? []
        for path in [dir + "/serve.log"] + (state()?.nodes.map(\.serialLog) ?? []) + daemonLogs {
            let text = Self.tail(path, lines: 12)
            if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { out += "--- \(path) (tail)\n\(text)\n" }
        }
        return out
    }

    /// Stops everything the lab runs (QEMU nodes, serve and its daemons,
    /// anything left in the namespace) and removes the namespace.
    /// - Returns: what it did, one item each.
    @discardableResult
    public func down() -> [String] {
        var done: [String] = []
        if let state = state() {
            for n in state.nodes where Self.stop(n.pid, grace: 3) && n.pid > 0 { done.append("stopped \(n.hostname) (pid \(n.pid))") }
            let bmcs = state.nodes.compactMap(\.bmcPID).filter { Self.stop($0, grace: 2) && $0 > 0 }
            if !bmcs.isEmpty { done.append("stopped \(bmcs.count) BMC(s)") }
            if state.servePID > 0, Self.stop(state.servePID, grace: 20) { done.append("stopped serve (pid \(state.servePID)) and its daemons") }
            done += stopSecondServer(state)
        }
        let leftovers = namespacePIDs()
        for pid in leftovers { Self.stop(pid, grace: 2) }
        if !leftovers.isEmpty { done.append("stopped \(leftovers.count) other process(es) in the namespace") }
        if FileSystem.list("/run/netns").contains(namespace) {
            deleteNetwork()
            done.append("removed namespace \(namespace)")
        }
        try? FileManager.default.removeItem(atPath: stateFile)
        return done
    }

    /// Whether a process is alive (a zombie child counts as gone: it is reaped here).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { return false }
        return kill(pid, 0) == 0
    }

    /// The last lines of a log file.
    public static func tail(_ path: String, lines: Int = 25) -> String {
        let text = String(decoding: FileSystem.read(path) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}

extension VirtualLab {
    /// Plugs a new machine into the lab network: a tap on the bridge and a
    /// QEMU node with `mac` (default: the next free lab MAC) that nobody registered.
    /// - Returns: the lab node.
    /// - Throws: `ConflictError` when the MAC is registered or plugged in already.
    public func plug(mac: MACAddress?, memoryMiB: Int, cpus: Int, firmware: LabFirmware = .bios) throws -> LabNode {
        guard isUp(), var state = state() else { throw SystemError("no lab is up in \(home)") }
        let registry = try site.openRegistry()
        let index = state.nodes.count
        let address = try mac ?? MACAddress(parsing: Self.mac(0x100 + index))
        if let holder = try registry.node(mac: address) {
            throw ConflictError(field: "MAC address", value: address.description, holder: holder.hostname.value,
                                "MAC address \(address) is already registered to \(holder.hostname): plug in a new machine")
        }
        if state.nodes.contains(where: { $0.mac == address.description }) {
            throw ConflictError("MAC address \(address) is already plugged into this lab")
        }
        let name = "plug\(state.nodes.filter { $0.hostname.hasPrefix("plug") }.count + 1)"
        let tap = "labtap\(index)"
        try addTap(tap)
        let log = "\(dir)/\(name).serial.log"
        try FileSystem.writeAtomically(Data(), to: log)
        let pid = try spawnInNamespace(try qemuArgv(mac: address.description, tap: tap, serialLog: log, memoryMiB: memoryMiB, cpus: cpus, name: name, firmware: firmware),
                                       log: "\(dir)/\(name).qemu.log")
        let node = LabNode(hostname: name, mac: address.description, tap: tap, pid: pid, serialLog: log, firmware: firmware)
        state.nodes.append(node)
        try save(state)
        return node
    }

    /// How a plugged machine ended up.
    public enum PlugOutcome: Sendable, Equatable {
        /// It took a node and enrolled: hostname, address.
        case joined(String, String)
        /// It waits in the discovery queue for `node accept`.
        case queued
    }

    /// Waits until a plugged machine enrolls as a node or is queued for good.
    /// `named` is told once when it gets its node.
    /// - Returns: nil when neither happened within `timeout` seconds.
    public func awaitPlugged(_ mac: MACAddress, timeout: Double, named: (String, String) -> Void) throws -> PlugOutcome? {
        let registry = try site.openRegistry()
        let autoDiscovery = try site.loadConfig().discovery == .auto
        var outcome: PlugOutcome?
        var told = false
        _ = waitUntil(timeout) {
            if let node = try? registry.node(mac: mac) {
                if !told { told = true; named(node.hostname.value, node.ip.description) }
                if (try? registry.status(node.hostname.value))?.state == .ready { outcome = .joined(node.hostname.value, node.ip.description) }
            } else if ((try? registry.discovered()) ?? []).contains(where: { $0.mac == mac.description }),
                      !(autoDiscovery && ((try? registry.nodes()) ?? []).contains { $0.mac == nil }) {
                // Queued for good: discovery is manual, or no node waits for a MAC.
                outcome = .queued
            }
            return outcome != nil
        }
        return outcome
    }

    /// Power-cycles one lab node: it boots again over PXE, onto the generation its boot files name.
    /// A node with a BMC is cycled through it (`node power cycle`, PXE next), as a real server.
    /// - Returns: how it was done.
    /// - Parameters: memoryMiB, cpus: the machine's new size (a node without a BMC only); nil keeps it.
    public func reboot(_ name: String, memoryMiB: Int? = nil, cpus: Int? = nil) throws -> String {
        guard isUp(), let state = state() else { throw SystemError("no lab is up in \(home)") }
        guard let node = state.nodes.first(where: { $0.hostname == name }) else {
            throw NotFoundError("lab node", name, message: "no lab node \(quoted(name)) (lab nodes: \(state.nodes.map(\.hostname).joined(separator: ", ")))")
        }
        if try site.openRegistry().bmcs()[name] != nil {
            let results = try site.power(.cycle, [name])
            if let failures = PowerFailures(results) { throw failures }
            return "through its BMC: " + results.compactMap(\.result).joined(separator: "; ")
        }
        try withState { s in
            if let i = s.nodes.firstIndex(where: { $0.hostname == name }) {
                if let memoryMiB { s.nodes[i].memoryMiB = memoryMiB }
                if let cpus { s.nodes[i].cpus = cpus }
            }
        }
        try powerOff(node.hostname)
        try powerOn(node.hostname)
        return "QEMU restarted (no BMC)"
    }
}

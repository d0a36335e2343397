import Foundation
import ProvisionerCore
import ProvisionerStore
import ProvisionerBoot
import ProvisionerPlatform

extension Site {
    /// What `apply` found and did.
    public struct ApplyOutcome: Sendable {
        public var plan: ApplyPlan
        /// Reloads done (empty for a dry run or an empty plan).
        public var actions: [String]
    }

    /// Renders everything, diffs it against the live files and, unless
    /// `dryRun`, validates and writes what changed and reloads what read it.
    ///
    /// When everything the render reads is what the last apply rendered and
    /// every file it wrote is as it was left (`ApplyManifest`), nothing is
    /// rendered or read: the plan is empty.
    public func apply(dryRun: Bool = false) throws -> ApplyOutcome {
        var config = try loadConfig()
        // A home made before the site CA existed gets it here (its fingerprint goes into the boot files).
        if !dryRun, config.siteCA == nil {
            try ensureSiteCA(serverName: config.bootServerName?.value)
            config.siteCA = tls.caFingerprint()
        }
        let applier = try applier(config)
        let registry = try openRegistry()
        let generations = Generations.active(config)
        if let problem = Generations.missingRootImages(config, active: generations).first { throw ConflictError(problem) }
        let inputs = ApplyManifest.inputs(configText: (FileSystem.read(configPath) ?? Data()) + Data((config.siteCA ?? "").utf8),
                                          templates: applier.renderer.templates,
                                          generations: generations, nodesToken: try registry.nodesToken())
        if let manifest = ApplyManifest.load(config), manifest.inputs == inputs,
           Paths.nodeDirectories(config).allSatisfy({ FileManager.default.fileExists(atPath: $0.dir) }),
           manifest.intact(ownedDirs: Paths.nodeDirectories(config)) {
            return ApplyOutcome(plan: ApplyPlan(entries: [], unchanged: manifest.files.count, warnings: manifest.warnings), actions: [])
        }
        let plan = try applier.plan(BootSite(config: config, nodes: try registry.nodes(), generations: generations))
        if dryRun { return ApplyOutcome(plan: plan, actions: []) }
        let actions = plan.isEmpty ? [] : try applier.execute(plan).actions
        ApplyManifest.record(config, inputs: inputs, paths: plan.wanted, warnings: plan.warnings)
        return ApplyOutcome(plan: plan, actions: actions)
    }

    /// Re-renders the boot files so they name the active generations, when
    /// the site is applied. Returns what to tell the operator.
    public func reapplyBootFiles(_ config: SiteConfig) throws -> String {
        guard Applier.isApplied(config) else { return "boot files: not written (site not applied yet; run `provisioner apply`)" }
        let applier = try applier(config)
        let plan = try applier.plan(try bootSite(config, try openRegistry()))
        if plan.isEmpty { return "boot files: already up to date" }
        let report = try applier.execute(plan)
        var s = "boot files: \(plan.count(.add) + plan.count(.change)) written"
        if !report.actions.isEmpty { s += "; " + report.actions.joined(separator: "; ") }
        return s
    }

    /// The image files the site renders (initramfs settings, fstab,
    /// interfaces), written where the image hooks read them.
    public func writeImageOverlay(_ config: SiteConfig) throws -> [(path: String, contents: String)] {
        let applier = try applier(config)
        let prefix = Paths.imageOverlay(config) + "/"
        let files = try applier.renderer.render(BootSite(config: config, nodes: [])).files.filter { $0.path.hasPrefix(prefix) }
        try FileSystem.writeAll(files.map { (path: $0.path, contents: Data($0.contents.utf8), mode: 0o644) })
        return files.map { (path: String($0.path.dropFirst(prefix.count)), contents: $0.contents) }
    }
}

extension Site {
    /// Records a DHCP answer that dnsmasq's lease script reported (through
    /// serve's event socket) as a boot phase of its node (`BootRules.dhcpPhase`).
    public static func recordDHCPEvent(_ event: DHCPLeaseEvent, mac: MACAddress, ip: IPv4Address, registry: Registry,
                                       config: SiteConfig, now: String) throws {
        // Events that are no boot phase (a release, dnsmasq's replay of its lease file) need no registry.
        guard BootRules.dhcpPhase(action: event.action, vendorClass: event.vendorClass, current: nil) != nil else { return }
        let status = try registry.status(mac.description)
        guard let (phase, newBoot) = BootRules.dhcpPhase(action: event.action, vendorClass: event.vendorClass,
                                                         current: status.map { ($0.state, $0.phases) }) else { return }
        // How a new boot began: the firmware's path and the loader the node's profile gave it.
        var bootPath: BootPath?
        if newBoot, let node = try registry.node(mac: mac) {
            bootPath = BootPath.of(vendorClass: event.vendorClass, loader: config.profile(node.profile)?.loader ?? .auto)
        }
        _ = try registry.recordBootEvent(mac: mac, ip: ip.description, phase: phase, now: now, newBoot: newBoot, bootPath: bootPath)
    }
}

extension Site {
    /// Renders the whole tree (every file `apply` would write) under `root`
    /// instead of the live paths, for a look or a diff.
    /// - Returns: how many files, and the render's warnings.
    public func render(into root: String) throws -> (files: Int, warnings: [String]) {
        let config = try loadConfig()
        let result = try applier(config).renderer.render(try bootSite(config, try openRegistry()))
        try FileSystem.writeAll(result.files.map { (path: root + $0.path, contents: Data($0.contents.utf8), mode: $0.mode) })
        return (result.files.count, result.warnings)
    }
}

import Foundation
import ProvisionerCore
import ProvisionerPlatform

/// The apply pipeline: render → plan → validate → write changed files
/// atomically → reload only what read a changed file.
public struct Applier: Sendable {
    public let config: SiteConfig
    public let renderer: Renderer
    public let dnsmasq: DnsmasqService

    public init(config: SiteConfig, templates: Templates, dnsmasq: DnsmasqService? = nil) {
        self.config = config
        self.renderer = Renderer(templates: templates)
        self.dnsmasq = dnsmasq ?? DnsmasqService(config: config)
    }

    /// What was done, for the operator.
    public struct Report: Sendable {
        public var plan: ApplyPlan
        public var actions: [String]
    }

    /// Boot loaders copied from the system into the TFTP root (source, name,
    /// whether UEFI HTTP Boot fetches it too: those also go under `<http root>/loaders/`).
    public static let bootLoaders: [(source: String, name: String, http: Bool)] = [
        ("/usr/lib/PXELINUX/pxelinux.0", "pxelinux.0", false),
        ("/usr/lib/syslinux/modules/bios/ldlinux.c32", "ldlinux.c32", false),
        ("/usr/lib/ipxe/undionly.kpxe", "undionly.kpxe", false),
        // pxelinux hands unknown machines to it when discovery is auto.
        ("/usr/lib/ipxe/ipxe.lkrn", "ipxe.lkrn", false),
        ("/usr/lib/ipxe/snponly.efi", "snponly.efi", true),
        ("/usr/lib/ipxe/ipxe.efi", "ipxe.efi", true),
        // The Secure Boot chain: shim (signed by Microsoft) loads grubx64.efi
        // from its own directory; Debian's signed netboot GRUB reads grub/grub.cfg-01-<MAC>.
        ("/usr/lib/shim/shimx64.efi.signed", "shimx64.efi", true),
        ("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed", "grubx64.efi", true),
    ]

    /// Where UEFI HTTP Boot loaders are served from (`/loaders/` of serve).
    public static func httpLoaderDir(_ config: SiteConfig) -> String { config.httpRoot + "/loaders" }

    /// The plan of a full apply of `site`.
    /// - Throws: `TemplateError` (nothing has been written).
    public func plan(_ site: BootSite) throws -> ApplyPlan {
        let result = try renderer.render(site)
        var wanted = result.files.map { (path: $0.path, contents: Data($0.contents.utf8), mode: $0.mode) }
        var warnings = result.warnings
        for loader in Self.bootLoaders {
            if let data = FileSystem.read(loader.source) {
                wanted.append((path: config.tftpRoot + "/" + loader.name, contents: data, mode: 0o644))
                if loader.http { wanted.append((path: Self.httpLoaderDir(config) + "/" + loader.name, contents: data, mode: 0o644)) }
            } else {
                warnings.append("boot loader \(loader.source) not found (install pxelinux, syslinux-common, ipxe, shim-signed and grub-efi-amd64-signed): \(loader.name) is not in the TFTP root")
            }
        }
        let owned = Paths.nodeDirectories(config)
        return ApplyPlan.compute(wanted: wanted, ownedDirs: owned, warnings: warnings, directories: owned.map(\.dir))
    }

    /// The plan for node changes: write each node's new files, remove the ones it no longer has.
    /// - Throws: `TemplateError`.
    public func nodePlan(_ changes: [(old: Node?, new: Node?)], site: BootSite) throws -> ApplyPlan {
        let wanted = try renderer.renderNodes(changes.compactMap(\.new), site: site)
            .map { (path: $0.path, contents: Data($0.contents.utf8), mode: $0.mode) }
        let oldPaths = changes.compactMap(\.old).flatMap { Paths.node($0, config) }
        return ApplyPlan.compute(wanted: wanted, ownedDirs: [], removals: oldPaths)
    }

    /// True once the site has been applied (its dnsmasq config exists): only
    /// then do node commands write their own files.
    public var siteIsApplied: Bool { Self.isApplied(config) }

    /// The same check without an applier (no templates loaded).
    public static func isApplied(_ config: SiteConfig) -> Bool {
        FileManager.default.fileExists(atPath: Paths.dnsmasqConf(config))
    }

    /// Validates, then writes, then reloads. Nothing is written when a check fails.
    /// - Throws: `SystemError` naming the file and the reason.
    @discardableResult
    public func execute(_ plan: ApplyPlan) throws -> Report {
        try validate(plan)
        try write(plan)
        return Report(plan: plan, actions: reload(plan))
    }

    func validate(_ plan: ApplyPlan) throws {
        for e in plan.entries {
            guard let data = e.contents else { continue }
            if e.path == Paths.dnsmasqConf(config) {
                try dnsmasq.validate(String(decoding: data, as: UTF8.self), for: e.path)
            } else if e.path == config.exportsDir + "/provisioner.exports" {
                if let problem = ExportsSyntax.problem(in: String(decoding: data, as: UTF8.self)) {
                    throw SystemError("\(e.path) is not a valid exports file: \(problem)")
                }
            }
        }
    }

    /// Writes every added or changed file atomically, then removes what goes.
    func write(_ plan: ApplyPlan) throws {
        try FileSystem.writeAll(plan.entries.compactMap { e in e.contents.map { (path: e.path, contents: $0, mode: e.mode) } })
        for e in plan.entries where e.kind == .remove { try FileSystem.remove(e.path) }
        // After the files: a node directory written whole is renamed into place, not made empty first.
        for d in plan.directories { try FileSystem.makeDirectory(d) }
    }

    /// Tells each running boot daemon about the changed files it reads; returns what was done.
    func reload(_ plan: ApplyPlan) -> [String] {
        let changed = plan.entries
        var daemons: [any BootDaemon] = [dnsmasq]
        // Whichever NFS server runs reads its own file; both are rendered.
        daemons += [GaneshaService(config: config), KernelNFSService(config: config)]
        return daemons.flatMap { d in
            let mine = changed.filter { d.reads($0.path) }
            return mine.isEmpty ? [] : d.reload(mine)
        }
    }
}

/// Reads the active generation of each image: `<images>/<image>/current` is a
/// symlink to the generation directory.
public enum Generations {
    /// Profiles with `root: ram` whose generation (the profile's pin, else the
    /// active one) has no root image to fetch (built before images were packed):
    /// their nodes would stop in the initramfs.
    public static func missingRootImages(_ config: SiteConfig, active: [String: String]) -> [String] {
        config.profiles.filter { $0.root == .ram }.compactMap { p in
            guard let gen = p.generation?.description ?? active[p.image] else { return nil }
            let file = Paths.publishedRootImage(config, image: p.image, generation: gen)
            return FileManager.default.fileExists(atPath: file) ? nil
                : "profile \(p.name.value) has root: ram, but generation \(gen) of image \(p.image) has no root image (\(file)): build a new generation (`provisioner image build`)"
        }
    }

    public static func active(_ config: SiteConfig) -> [String: String] {
        var out: [String: String] = [:]
        for p in config.profiles {
            let link = "\(config.imagesDir)/\(p.image)/current"
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) {
                out[p.image] = (target as NSString).lastPathComponent
            }
        }
        return out
    }
}

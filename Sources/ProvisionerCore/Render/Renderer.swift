import Foundation
import Synchronization

/// Everything a render reads: the site config, the nodes, the active image generations.
public struct BootSite: Sendable {
    public var config: SiteConfig
    public var nodes: [Node]
    /// Image name → its active generation id; an image without one boots nothing.
    public var generations: [String: String]

    public init(config: SiteConfig, nodes: [Node], generations: [String: String] = [:]) {
        self.config = config
        self.nodes = nodes
        self.generations = generations
    }
}

/// What a render produced: the files, and what the operator should know.
public struct RenderResult: Sendable {
    public var files: [RenderedFile]
    public var warnings: [String]
}

/// Turns a `BootSite` into the boot configuration, in memory and deterministic:
/// the same site gives the same bytes.
public struct Renderer: Sendable {
    public let templates: Templates

    public init(templates: Templates) { self.templates = templates }

    /// The whole tree: site-wide files, then each node's files, sorted by path.
    /// - Throws: `TemplateError`.
    public func render(_ site: BootSite) throws -> RenderResult {
        let c = site.config
        let ctx = SiteContext(site)
        var files: [RenderedFile] = []
        files.reserveCapacity(3 * site.nodes.count + 12)
        let siteFiles: [(TemplateName, String)] = [
            (.dnsmasqConf, Paths.dnsmasqConf(c)),
            (.pxelinuxDefault, c.tftpRoot + "/pxelinux.cfg/default"),
            (.grubDefault, c.tftpRoot + "/grub/grub.cfg"),
            (.ipxeChain, c.httpRoot + "/boot.ipxe"),
            (.ipxeDefault, c.httpRoot + "/boot/default.ipxe"),
            (.kernelExports, c.exportsDir + "/provisioner.exports"),
            (.ganeshaConf, c.ganeshaConfig),
            (.imageInitramfs, Paths.imageOverlay(c) + "/etc/initramfs-tools/conf.d/provisioner"),
            (.imageFstab, Paths.imageOverlay(c) + "/etc/fstab"),
            (.imageInterfaces, Paths.imageOverlay(c) + "/etc/network/interfaces"),
        ]
        for (name, path) in siteFiles {
            files.append(RenderedFile(path: path, contents: try templates.render(name, ctx.values)))
        }
        files += try renderNodes(site.nodes, ctx)
        // Paths are ASCII (validated tokens): String order is byte order, and its ASCII fast path is quick.
        files.sort { $0.path < $1.path }
        var warnings: [String] = []
        for p in c.profiles where site.generations[p.image] == nil && site.nodes.contains(where: { $0.profile == p.name }) {
            warnings.append("image \(p.image) (profile \(p.name)) has no active generation: its nodes cannot boot until `provisioner image build`")
        }
        return RenderResult(files: files, warnings: warnings)
    }

    /// The given nodes' files: each one's DHCP host entry, pxelinux config and
    /// iPXE script (none for a node without a MAC, waiting for discovery).
    /// The site context is built once for the whole batch.
    /// - Throws: `TemplateError`.
    public func renderNodes(_ nodes: [Node], site: BootSite) throws -> [RenderedFile] {
        try renderNodes(nodes, SiteContext(site))
    }

    /// Large batches render on every core, in contiguous slices, so the
    /// output order is the input order.
    func renderNodes(_ nodes: [Node], _ ctx: SiteContext) throws -> [RenderedFile] {
        let slices = nodes.count < 512 ? 1 : min(ProcessInfo.processInfo.activeProcessorCount, 8)
        if slices == 1 { return try nodes.flatMap { try renderNode($0, ctx) } }
        let results = Mutex<[Result<[RenderedFile], any Error>]>(Array(repeating: .success([]), count: slices))
        let per = (nodes.count + slices - 1) / slices
        DispatchQueue.concurrentPerform(iterations: slices) { i in
            let part = nodes[min(i * per, nodes.count)..<min((i + 1) * per, nodes.count)]
            let result = Result { try part.flatMap { try renderNode($0, ctx) } }
            results.withLock { $0[i] = result }
        }
        return try results.withLock { $0 }.flatMap { try $0.get() }
    }

    /// The templates `renderNodes` reads: all a node change needs loaded.
    public static let nodeTemplates: [TemplateName] = [.dhcpHost, .pxelinuxNode, .ipxeNode, .grubNode]

    func renderNode(_ node: Node, _ ctx: SiteContext) throws -> [RenderedFile] {
        guard node.mac != nil else { return [] }
        let values = ctx.node(node)
        let paths = Paths.node(node, ctx.config)
        var files = [
            RenderedFile(path: paths[0], contents: try templates.render(.dhcpHost, values, over: ctx.values)),
            RenderedFile(path: paths[1], contents: try templates.render(.pxelinuxNode, values, over: ctx.values)),
            RenderedFile(path: paths[2], contents: try templates.render(.ipxeNode, values, over: ctx.values)),
        ]
        if paths.count > 3 {
            files.append(RenderedFile(path: paths[3], contents: try templates.render(.grubNode, values, over: ctx.values)))
        }
        return files
    }
}

/// Where rendered files go, from the site config.
public enum Paths {
    /// A generation's root as one squashfs, beside its kernel and initrd (served over HTTP only), for `root: ram`.
    public static let rootImageName = "root.squashfs"

    /// Where a generation's root image is published: under the HTTP root, beside its kernel and initrd.
    public static func publishedRootImage(_ c: SiteConfig, image: String, generation: String) -> String {
        "\(c.httpRoot)/images/\(image)/\(generation)/\(rootImageName)"
    }

    public static func dnsmasqConf(_ c: SiteConfig) -> String { c.dnsmasqDir + "/provisioner.conf" }

    /// The files that go into every node image, rendered beside the images.
    public static func imageOverlay(_ c: SiteConfig) -> String { c.imagesDir + "/overlay" }

    /// The per-node files of a node with a MAC: host entry, pxelinux config,
    /// iPXE script, and the GRUB config when its profile's loader is GRUB's.
    public static func node(_ node: Node, _ c: SiteConfig) -> [String] {
        guard let mac = node.mac else { return [] }
        var paths = [
            "\(c.hostsDir)/\(node.hostname.value).conf",
            "\(c.tftpRoot)/pxelinux.cfg/01-\(mac.dashed)",
            "\(c.httpRoot)/boot/\(mac.dashed).ipxe",
        ]
        if c.profile(node.profile)?.loader.usesGRUB == true { paths.append("\(c.tftpRoot)/grub/grub.cfg-01-\(mac.dashed)") }
        return paths
    }

    /// The directories whose per-node files the provisioner owns, with the
    /// name pattern it owns in each: what apply may remove when a node goes.
    public static func nodeDirectories(_ c: SiteConfig) -> [(dir: String, prefix: String, suffix: String)] {
        [(c.hostsDir, "", ".conf"), (c.tftpRoot + "/pxelinux.cfg", "01-", ""), (c.httpRoot + "/boot", "", ".ipxe"),
         (c.tftpRoot + "/grub", "grub.cfg-01-", "")]
    }
}

/// The flat context every template reads. Every value is a validated token.
struct SiteContext: @unchecked Sendable { // values: strings, booleans and lists of them, never mutated
    let config: SiteConfig
    let site: BootSite
    let values: [String: Any]
    /// serve's base URL (`http_url` in `values`).
    let httpURL: String
    /// What every node of a profile shares, made once per render.
    let profiles: [ProfileName: ProfileValues]

    struct ProfileValues {
        let profile: Profile
        let generation: String
        let kernelPath: String
        let initrdPath: String
        /// The kernel command line before the node's BOOTIF, after it up to the
        /// token, and the profile's own arguments (last).
        let argsBefore: String
        let argsAfter: String
        let extraArgs: String
    }

    init(_ site: BootSite) {
        let c = site.config
        self.site = site
        self.config = c
        let http = "http://\(c.serverIP):\(c.httpPort)"
        httpURL = http
        let text: [String: String] = [
            "marker": generatedMarker,
            "interface": c.interface,
            "server_ip": c.serverIP.description,
            "subnet": c.subnet.description,
            "network": c.subnet.network.description,
            "netmask": c.subnet.netmask.description,
            "range_first": c.servedRange?.first.description ?? "",
            "range_last": c.servedRange?.last.description ?? "",
            "lease_time": c.leaseTime,
            "lease_file": c.runDir + "/dnsmasq.leases",
            "hosts_dir": c.hostsDir,
            "tftp_root": c.tftpRoot,
            "http_url": http,
            // Where GRUB fetches kernels and initrds: GRUB 2.06's http module has no port, so TFTP.
            "grub_files": "(tftp,\(c.serverIP))",
            "images_dir": c.imagesDir,
            "ganesha_run_dir": c.runDir,
        ]
        let flags: [String: Bool] = [
            "authoritative": c.dhcpMode == .authoritative,
            "proxy": c.dhcpMode == .proxy,
            "router_advertisements": c.routerAdvertisements,
            "discovery_auto": c.discovery == .auto,
        ]
        var all = text.mapValues { RenderText($0) as Any }.merging(flags.mapValues { $0 as Any }) { a, _ in a }
        all["loader_rules"] = LoaderRule.all(httpURL: http).map { rule -> [String: Any] in
            ["path": RenderText(rule.path.rawValue), "loader": RenderText(rule.loader.rawValue),
             "line": RenderText(rule.path.overHTTP ? "\(rule.tags),\(rule.file)" : "\(rule.tags),\(rule.file),,\(c.serverIP)")]
        }
        all["proxy_services"] = Self.proxyServices().map { ["line": RenderText($0)] as [String: Any] }
        values = all
        var profiles: [ProfileName: ProfileValues] = [:]
        for p in c.profiles { profiles[p.name] = Self.profileValues(p, site: site, http: http) }
        self.profiles = profiles
    }

    /// proxyDHCP's `pxe-service` lines, one per client system type and
    /// loader (a BIOS basename without extension gets `.0` from dnsmasq).
    /// HTTP Boot clients take their boot file from the site's DHCP server.
    static func proxyServices() -> [String] {
        var lines: [String] = []
        for loader in BootLoader.allCases {
            let tags = (["tag:!ipxe"] + loader.dnsmasqTags).joined(separator: ",")
            let bios = loader.file(for: .bios)
            let efi = loader.file(for: .uefi)
            lines.append("\(tags),x86PC,\"Network boot\",\(bios.hasSuffix(".0") ? String(bios.dropLast(2)) : bios)")
            lines.append("\(tags),X86-64_EFI,\"Network boot\",\(efi)")
            lines.append("\(tags),BC_EFI,\"Network boot\",\(efi)")
        }
        return lines
    }

    /// - Parameter pinned: a node's own generation pin, before the profile's pin and the active generation.
    static func profileValues(_ profile: Profile, site: BootSite, http: String, pinned: GenerationID? = nil) -> ProfileValues {
        let generation = (pinned ?? profile.generation)?.description ?? site.generations[profile.image] ?? "none"
        let imagePath = "images/\(profile.image)/\(generation)"
        return ProfileValues(
            profile: profile, generation: generation,
            kernelPath: imagePath + "/vmlinuz", initrdPath: imagePath + "/initrd.img",
            argsBefore: rootArgs(profile, generation: generation, imagePath: imagePath, site: site, http: http),
            argsAfter: "net.ifnames=0 " + nodeAPIArgs(site.config) + " provisioner.image=\(profile.image)/\(generation)",
            extraArgs: profile.kernelArgs.map { " " + $0 }.joined())
    }

    /// Where the node controller finds the node API: serve's HTTPS listener,
    /// and the fingerprint of the site CA its certificate must chain to.
    /// Without a site CA the node controller refuses the https URL (it never
    /// falls back to plain HTTP).
    static func nodeAPIArgs(_ c: SiteConfig) -> String {
        "provisioner.server=https://\(c.serverIP):\(c.apiPort)" + (c.siteCA.map { " provisioner.ca=" + $0 } ?? "")
    }

    /// Mount options of the NFS root. A published generation never changes (a
    /// new one is built beside it), so the node keeps what it has read: no
    /// close-to-open revalidation and attributes cached for 10 minutes to an hour
    /// cut the GETATTR round trips of a boot (klibc nfsmount takes these options).
    static let nfsRootOptions = "vers=3,tcp,nocto,acregmin=600,acregmax=3600,acdirmin=600,acdirmax=3600"

    /// The kernel arguments that name the node's root: the generation's root over
    /// NFS, or (`root: ram`) the initramfs' `ram` boot script and the URL of the
    /// generation's squashfs, which it fetches into RAM.
    static func rootArgs(_ profile: Profile, generation: String, imagePath: String, site: BootSite, http: String) -> String {
        let c = site.config
        switch profile.root {
        case .nfs:
            return "root=/dev/nfs nfsroot=\(c.serverIP):\(c.imagesDir)/\(profile.image)/\(generation)/root,\(nfsRootOptions) ip=dhcp ro"
        case .ram:
            return "boot=ram provisioner.root=\(http)/\(imagePath)/\(Paths.rootImageName) ip=dhcp ro"
        }
    }

    /// One node's values, to be looked up before the site's (`values`).
    func node(_ node: Node) -> [String: Any] {
        var p = profiles[node.profile]
            ?? Self.profileValues(Profile(name: node.profile, image: "default", kernelArgs: []), site: site, http: httpURL)
        if let pin = node.generation, pin.description != p.generation {
            p = Self.profileValues(p.profile, site: site, http: httpURL, pinned: pin)
        }
        let mac = node.mac?.description ?? ""
        let dashed = node.mac?.dashed ?? ""
        // No boot file holds a secret: TFTP and plain HTTP answer anyone. The
        // node controller asks serve for its single-use boot credential over
        // the node API's TLS (from its address, while it is not up).
        let cmdline = p.argsBefore + " BOOTIF=01-" + dashed + " " + p.argsAfter
        return [
            "hostname": RenderText(node.hostname.value),
            "mac": RenderText(mac),
            "mac_dashed": RenderText(dashed),
            "ip": RenderText(node.ip.description),
            "profile": RenderText(p.profile.name.value),
            "image": RenderText(p.profile.image),
            "generation": RenderText(p.generation),
            "kernel_path": RenderText(p.kernelPath),
            "initrd_path": RenderText(p.initrdPath),
            // The profile's own arguments last (ours ahead of a `--` among them).
            "cmdline": RenderText(cmdline + p.extraArgs),
            "loader_tag": p.profile.loader.hostTag.map { RenderText($0) as Any } ?? false,
        ]
    }
}

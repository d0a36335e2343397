import Yams

/// How the provisioner's DHCP server takes part on the node network.
/// Which NFS server exports the node roots.
public enum NFSServerKind: String, Codable, Sendable, CaseIterable {
    /// The kernel server where the kernel has nfsd, else nfs-ganesha.
    case auto
    /// The kernel server (`/etc/exports.d`, `exportfs -ra`).
    case kernel
    /// nfs-ganesha (VFS FSAL) with rpcbind, run by `provisioner serve`.
    case ganesha
    /// None: something else exports the images (or nodes do not boot from them).
    case none
}

/// What happens to a machine that PXE-boots with a MAC nobody registered.
public enum DiscoveryMode: String, Codable, Sendable, CaseIterable {
    /// It waits in `provisioner node discovered` until `provisioner node accept`.
    case manual
    /// It takes the first node (by hostname) added without a MAC, and boots
    /// as that node at once (Warewulf's discoverable nodes, MAAS' enlistment).
    case auto
}

/// A boot server's part in serving its subnet when two share it.
public enum BootServerRole: String, Codable, Sendable, CaseIterable {
    /// Hands out the lower half of the dynamic range.
    case primary
    /// Hands out the upper half: the two never offer the same address.
    case secondary
}

public enum DHCPMode: String, Codable, Sendable, CaseIterable {
    /// It hands out addresses: static per node, plus a dynamic range for unknown machines.
    case authoritative
    /// proxyDHCP: the site's own DHCP server hands out addresses; we only add boot information.
    case proxy
}

/// Where a node's root file system comes from.
public enum RootMode: String, Codable, Sendable, CaseIterable {
    /// The generation's root over NFS, read-only, under a tmpfs overlay: the node reads from the server while it runs.
    case nfs
    /// The generation's root as one squashfs fetched over HTTP into RAM by the initramfs, under the same
    /// tmpfs overlay: once booted the node needs no server (it costs the image's size in RAM).
    case ram
}

/// A boot profile: which image the node boots, its extra kernel arguments,
/// the boot loader its firmware gets, and optionally the generation its
/// nodes stay on whatever generation of the image is active (a pin).
public struct Profile: Equatable, Sendable {
    public var name: ProfileName
    public var image: String
    public var kernelArgs: [String]
    public var loader: BootLoader
    /// The generation the profile's nodes boot instead of the active one.
    public var generation: GenerationID?
    /// What the profile's nodes' BMCs share (a rack of one make): `node bmc` takes what it is not given from here.
    public var bmc: BMCDefaults?
    /// Where the profile's nodes' root comes from.
    public var root: RootMode
    /// Whether the profile's nodes keep their cloud state across boots
    /// (`disk`: on a local disk) or lose it at every boot (`none`: they
    /// rejoin each time, and join only where the quorum guard lets them).
    public var persist: Persist

    public enum Persist: String, Sendable, CaseIterable { case none, disk }

    public init(name: ProfileName, image: String, kernelArgs: [String], loader: BootLoader = .auto, generation: GenerationID? = nil, bmc: BMCDefaults? = nil,
                root: RootMode = .nfs, persist: Persist = .none) {
        self.root = root
        self.persist = persist
        self.name = name
        self.image = image
        self.kernelArgs = kernelArgs
        self.loader = loader
        self.generation = generation
        self.bmc = bmc
    }
}

/// The site configuration (`provisioner.yaml`), validated: every value in it is
/// safe to render into a config file.
public struct SiteConfig: Equatable, Sendable {
    public var interface: String
    public var serverIP: IPv4Address
    public var subnet: IPv4Subnet
    public var dhcpMode: DHCPMode
    /// The dynamic range for unknown machines; nil only in proxy mode.
    public var dhcpRange: IPv4Range?
    public var leaseTime: String
    public var httpPort: Int
    /// The HTTPS listener of the node API, on the node network.
    public var apiPort: Int
    /// Where the operator API, the status page and the metrics answer (HTTPS).
    public var operatorListen: OperatorListen = .default
    /// The site CA's fingerprint (`sha256:HEX`) that the boot files give nodes
    /// to check the node API's certificate with. Not in the YAML: the site
    /// reads it from its CA (`<home>/tls/ca.pem`) when it loads the config.
    public var siteCA: String? = nil
    public var tftpRoot: String
    public var httpRoot: String
    public var imagesDir: String
    /// Where the main dnsmasq config goes (`provisioner.conf` in it).
    public var dnsmasqDir: String
    /// dnsmasq's `dhcp-hostsdir`: one host entry file per node, read without a restart.
    public var hostsDir: String
    /// `/etc/exports.d` for the kernel NFS server.
    public var exportsDir: String
    /// The nfs-ganesha config file of the provisioner's own ganesha.
    public var ganeshaConfig: String
    /// Pid files, leases and sockets of the services the provisioner runs.
    public var runDir: String
    /// Caches that make rebuilds cheap: apt packages and built roots.
    public var cacheDir: String
    /// Send router advertisements on the interface, so iPXE does not wait for IPv6.
    public var routerAdvertisements: Bool
    /// Which NFS server `provisioner serve` runs for the images.
    public var nfsServer: NFSServerKind
    /// Whether an unknown machine is registered by itself into a waiting node.
    public var discovery: DiscoveryMode
    public var mirror: String
    public var suite: String
    public var architecture: String
    /// Sorted by name.
    public var profiles: [Profile]
    /// This boot server's name in the registry (`boot_server.name`); nil: the machine's hostname.
    public var bootServerName: Hostname?
    /// Its part of its subnet when two boot servers serve it; nil: it serves it alone.
    public var bootServerRole: BootServerRole?
    /// The cloud the nodes join (`cloud:`); nil: none (libvirt's instance layer).
    public var cloud: CloudSettings?

    /// The part of the dynamic range this boot server hands out: all of it
    /// alone, the lower half as primary, the upper half as secondary.
    public var servedRange: IPv4Range? {
        guard let r = dhcpRange, let role = bootServerRole else { return dhcpRange }
        let half = UInt32(r.count / 2)
        switch role {
        case .primary: return IPv4Range(first: r.first, last: IPv4Address(r.first.value + half - 1))
        case .secondary: return IPv4Range(first: IPv4Address(r.first.value + half), last: r.last)
        }
    }

    /// The profile with that name, if configured.
    public func profile(_ name: ProfileName) -> Profile? { profiles.first { $0.name == name } }

    /// Why `ip` cannot be a node's static address, or nil when it can.
    public func staticAddressProblem(_ ip: IPv4Address) -> String? {
        if !subnet.contains(ip) { return "outside the subnet \(subnet)" }
        if ip == subnet.network { return "the network address of \(subnet)" }
        if ip == subnet.broadcast { return "the broadcast address of \(subnet)" }
        if ip == serverIP { return "the server's own address" }
        if let r = dhcpRange, r.contains(ip) { return "inside the dynamic DHCP range \(r)" }
        return nil
    }

    /// - Throws: `ValidationError` when `ip` cannot be a node's static address.
    public func checkStaticAddress(_ ip: IPv4Address, given text: String? = nil) throws(ValidationError) {
        if let problem = staticAddressProblem(ip) {
            throw ValidationError(field: "IP address", value: text ?? ip.description, reason: problem)
        }
    }
}

// MARK: - Parsing

extension SiteConfig {
    /// Parses and validates `provisioner.yaml` text.
    /// - Throws: `ValidationError` naming the key (`dhcp.range`) and value, or a
    ///   `ConfigSyntaxError` for YAML that does not parse.
    public init(yaml text: String) throws {
        try self.init(raw: try RawSiteConfig(yaml: text))
    }

    init(raw: RawSiteConfig) throws(ValidationError) {
        func required(_ v: String?, _ key: String) throws(ValidationError) -> String {
            guard let v, !v.isEmpty else { throw ValidationError(field: key, value: "", reason: "missing") }
            return v
        }
        let interface = try required(raw.interface, "interface")
        try Self.checkInterfaceName(interface)
        self.interface = interface
        self.serverIP = try IPv4Address(parsing: try required(raw.server_ip, "server_ip"), field: "server_ip")
        self.subnet = try IPv4Subnet(parsing: try required(raw.subnet, "subnet"), field: "subnet")
        guard subnet.contains(serverIP), serverIP != subnet.network, serverIP != subnet.broadcast else {
            throw ValidationError(field: "server_ip", value: serverIP.description, reason: "not a host address of the subnet \(subnet)")
        }
        let dhcp = raw.dhcp ?? RawSiteConfig.DHCP()
        let modeText = dhcp.mode ?? "authoritative"
        guard let mode = DHCPMode(rawValue: modeText) else {
            throw ValidationError(field: "dhcp.mode", value: modeText, reason: "expected authoritative or proxy")
        }
        self.dhcpMode = mode
        if let rangeText = dhcp.range, !rangeText.isEmpty {
            let range = try IPv4Range(parsing: rangeText, field: "dhcp.range")
            guard subnet.contains(range.first), subnet.contains(range.last),
                  range.first != subnet.network, range.last != subnet.broadcast else {
                throw ValidationError(field: "dhcp.range", value: rangeText, reason: "not inside the host addresses of \(subnet)")
            }
            guard !range.contains(serverIP) else {
                throw ValidationError(field: "dhcp.range", value: rangeText, reason: "contains the server address \(serverIP)")
            }
            self.dhcpRange = range
        } else {
            guard mode == .proxy else {
                throw ValidationError(field: "dhcp.range", value: "", reason: "required in authoritative mode")
            }
            self.dhcpRange = nil
        }
        let lease = dhcp.lease_time ?? "12h"
        try Self.checkLeaseTime(lease)
        self.leaseTime = lease
        let port = raw.http?.port ?? 8080
        guard (1...65535).contains(port) else {
            throw ValidationError(field: "http.port", value: String(port), reason: "expected 1 to 65535")
        }
        self.httpPort = port
        let apiPort = raw.http?.api_port ?? 8443
        guard (1...65535).contains(apiPort), apiPort != port else {
            throw ValidationError(field: "http.api_port", value: String(apiPort), reason: "expected 1 to 65535, not http.port")
        }
        self.apiPort = apiPort
        if let text = raw.http?.operator_listen {
            let listen = try OperatorListen(parsing: text)
            if case .address(_, let p) = listen, p == port || p == apiPort {
                throw ValidationError(field: "http.operator_listen", value: text, reason: "its port is http.port's or http.api_port's")
            }
            self.operatorListen = listen
        }
        let paths = raw.paths ?? RawSiteConfig.Paths()
        self.tftpRoot = try Self.checkPath(paths.tftp_root ?? "/srv/tftp", "paths.tftp_root")
        self.httpRoot = try Self.checkPath(paths.http_root ?? "/srv/provisioner/http", "paths.http_root")
        self.imagesDir = try Self.checkPath(paths.images ?? "/var/lib/provisioner/images", "paths.images")
        self.dnsmasqDir = try Self.checkPath(paths.dnsmasq_dir ?? "/etc/dnsmasq.d", "paths.dnsmasq_dir")
        self.hostsDir = try Self.checkPath(paths.hosts_dir ?? "/var/lib/provisioner/dhcp-hosts", "paths.hosts_dir")
        self.exportsDir = try Self.checkPath(paths.exports_dir ?? "/etc/exports.d", "paths.exports_dir")
        self.ganeshaConfig = try Self.checkPath(paths.ganesha_config ?? "/etc/ganesha/provisioner.conf", "paths.ganesha_config")
        self.runDir = try Self.checkPath(paths.run_dir ?? "/run/provisioner", "paths.run_dir")
        self.cacheDir = try Self.checkPath(paths.cache ?? "/var/cache/provisioner", "paths.cache")
        self.routerAdvertisements = dhcp.router_advertisements ?? true
        let nfs = raw.nfs?.server ?? "auto"
        guard let kind = NFSServerKind(rawValue: nfs) else {
            throw ValidationError(field: "nfs.server", value: nfs, reason: "expected auto, kernel, ganesha or none")
        }
        self.nfsServer = kind
        let discoveryText = raw.discovery?.mode ?? "manual"
        guard let discovery = DiscoveryMode(rawValue: discoveryText) else {
            throw ValidationError(field: "discovery.mode", value: discoveryText, reason: "expected manual or auto")
        }
        self.discovery = discovery
        let server = raw.boot_server ?? RawSiteConfig.BootServer()
        if let n = server.name {
            do throws(ValidationError) { self.bootServerName = try Hostname(parsing: n) } catch {
                throw ValidationError(field: "boot_server.name", value: n, reason: error.reason)
            }
        }
        if let roleText = server.role {
            guard let role = BootServerRole(rawValue: roleText) else {
                throw ValidationError(field: "boot_server.role", value: roleText, reason: "expected primary or secondary")
            }
            if let r = dhcpRange, r.count < 2 {
                throw ValidationError(field: "boot_server.role", value: roleText, reason: "the dynamic range \(r) is too small to split between two boot servers")
            }
            self.bootServerRole = role
        }
        if let c = raw.cloud {
            let engineText = c.engine ?? CloudEngine.libvirt.rawValue
            guard let engine = CloudEngine(rawValue: engineText) else {
                throw ValidationError(field: "cloud.engine", value: engineText, reason: "expected libvirt or incus")
            }
            var cloud = CloudSettings(engine: engine)
            if let e = c.endpoint { _ = try CloudSettings.endpoint(e); cloud.endpoint = e }
            if let f = c.fingerprint { cloud.fingerprint = try CloudSettings.fingerprint(f) }
            if let p = c.member_port {
                guard (1...65535).contains(p) else { throw ValidationError(field: "cloud.member_port", value: String(p), reason: "expected 1 to 65535") }
                cloud.memberPort = p
            }
            if engine == .incus, cloud.endpoint == nil || cloud.fingerprint == nil {
                throw ValidationError(field: "cloud.endpoint", value: cloud.endpoint ?? "", reason: "an incus cloud needs its endpoint and fingerprint: `provisioner cloud attach` or `cloud init` writes them")
            }
            self.cloud = cloud
        }
        let debian = raw.debian ?? RawSiteConfig.Debian()
        let mirror = try required(debian.mirror, "debian.mirror")
        try Self.checkURL(mirror, "debian.mirror")
        self.mirror = mirror
        self.suite = try Self.checkWord(debian.suite ?? "bookworm", "debian.suite")
        self.architecture = try Self.checkWord(debian.architecture ?? "amd64", "debian.architecture")
        var profiles: [Profile] = []
        for (key, p) in (raw.profiles ?? [:]).sorted(by: { $0.key < $1.key }) {
            let name = try ProfileName(parsing: key)
            let image = try Self.checkWord(p.image ?? "default", "profiles.\(key).image")
            let args = p.kernel_args ?? []
            for arg in args { try Self.checkKernelArg(arg, "profiles.\(key).kernel_args") }
            let loaderText = p.loader ?? BootLoader.auto.rawValue
            guard let loader = BootLoader(rawValue: loaderText) else {
                throw ValidationError(field: "profiles.\(key).loader", value: loaderText,
                                      reason: "expected " + BootLoader.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let generation: GenerationID?
            do { generation = try p.generation.map { g throws(ValidationError) in try GenerationID(parsing: g) } } catch {
                throw ValidationError(field: "profiles.\(key).generation", value: p.generation ?? "", reason: error.reason)
            }
            let bmc = try p.bmc.map { b throws(ValidationError) in
                try BMCDefaults(parsingDriver: b.driver, user: b.user, passwordFile: b.password_file, field: "profiles.\(key).bmc")
            }
            let rootText = p.root ?? RootMode.nfs.rawValue
            guard let root = RootMode(rawValue: rootText) else {
                throw ValidationError(field: "profiles.\(key).root", value: rootText, reason: "expected nfs or ram")
            }
            let persistText = p.persist ?? Profile.Persist.none.rawValue
            guard let persist = Profile.Persist(rawValue: persistText) else {
                throw ValidationError(field: "profiles.\(key).persist", value: persistText, reason: "expected none or disk")
            }
            profiles.append(Profile(name: name, image: image, kernelArgs: args, loader: loader, generation: generation, bmc: bmc, root: root,
                                    persist: persist))
        }
        guard profiles.contains(where: { $0.name == .default }) else {
            throw ValidationError(field: "profiles", value: profiles.map(\.name.value).joined(separator: ","), reason: "a profile named default is required")
        }
        self.profiles = profiles
    }

    static func checkInterfaceName(_ s: String) throws(ValidationError) {
        let ok = s.utf8.count <= 15 && s != "." && s != ".." && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
        }
        guard ok else { throw ValidationError(field: "interface", value: s, reason: "not a network interface name") }
    }

    static func checkLeaseTime(_ s: String) throws(ValidationError) {
        if s == "infinite" { return }
        var digits = Substring(s)
        if let last = digits.last, "smhdw".contains(last) { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ValidationError(field: "dhcp.lease_time", value: s, reason: "expected a number with s, m, h, d or w, or infinite")
        }
    }

    static func checkPath(_ s: String, _ key: String) throws(ValidationError) -> String {
        guard s.hasPrefix("/") else { throw ValidationError(field: key, value: s, reason: "must be an absolute path") }
        guard isSafeToken(s, extra: "/._-+@") else {
            throw ValidationError(field: key, value: s, reason: "only letters, digits and / . _ - + @ are allowed")
        }
        guard !s.split(separator: "/").contains("..") else {
            throw ValidationError(field: key, value: s, reason: "must not contain ..")
        }
        return s
    }

    static func checkURL(_ s: String, _ key: String) throws(ValidationError) {
        guard s.hasPrefix("http://") || s.hasPrefix("https://") || s.hasPrefix("file:///") else {
            throw ValidationError(field: key, value: s, reason: "expected an http://, https:// or file:/// URL")
        }
        guard isSafeToken(s, extra: ":/._-+@~%?=&") else {
            throw ValidationError(field: key, value: s, reason: "contains a character not allowed in a URL")
        }
    }

    static func checkWord(_ s: String, _ key: String) throws(ValidationError) -> String {
        guard !s.isEmpty, s.utf8.count <= 64, isSafeToken(s, extra: "._-") else {
            throw ValidationError(field: key, value: s, reason: "only letters, digits and . _ - are allowed")
        }
        return s
    }

    static func checkKernelArg(_ s: String, _ key: String) throws(ValidationError) {
        guard !s.isEmpty, s.utf8.count <= 256, isSafeToken(s, extra: "._-=,:/@+") else {
            throw ValidationError(field: key, value: s, reason: "one argument per item; letters, digits and . _ - = , : / @ + only")
        }
    }
}

/// True when every byte of `s` is an ASCII letter, digit or one of `extra`.
func isSafeToken(_ s: String, extra: String) -> Bool {
    let allowed = Set(extra.utf8)
    return s.utf8.allSatisfy { b in
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || allowed.contains(b)
    }
}

/// The config file is not valid YAML, or a key has the wrong type.
public struct ConfigSyntaxError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}

/// Where serve answers the operator API, the status page and the metrics:
/// an HTTPS listener of its own, off the node network by default (loopback:
/// operators work on the server, or through a management address), or
/// `node`: on the node API's HTTPS listener, beside the node API.
public enum OperatorListen: Equatable, Sendable, CustomStringConvertible {
    case address(IPv4Address, port: Int)
    case node

    public static let defaultPort = 8444
    public static let `default` = OperatorListen.address(IPv4Address(0x7f00_0001), port: defaultPort)

    /// `node`, `ADDRESS` (port 8444) or `ADDRESS:PORT`.
    public init(parsing text: String) throws(ValidationError) {
        if text == "node" { self = .node; return }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else {
            throw ValidationError(field: "http.operator_listen", value: text, reason: "expected node, ADDRESS or ADDRESS:PORT")
        }
        let address = try IPv4Address(parsing: String(parts[0]), field: "http.operator_listen")
        guard address.value != 0 else {
            throw ValidationError(field: "http.operator_listen", value: text, reason: "name one address (the server's certificate names it), or node")
        }
        var port = Self.defaultPort
        if parts.count == 2 {
            guard let p = Int(parts[1]), (1...65535).contains(p) else {
                throw ValidationError(field: "http.operator_listen", value: text, reason: "expected a port from 1 to 65535 after the colon")
            }
            port = p
        }
        self = .address(address, port: port)
    }

    public var description: String {
        switch self {
        case .node: "node"
        case .address(let a, let p): "\(a):\(p)"
        }
    }
}

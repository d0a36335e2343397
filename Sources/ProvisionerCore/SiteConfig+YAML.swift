import Yams

/// The file as written, every value still text: keys match `provisioner.yaml`.
///
/// Read from Yams' node tree with the basic resolver (every scalar is text;
/// this type says what each key holds) rather than through Codable: a CLI
/// process reads the config on every command, and Codable's generic decoding
/// plus the default resolver's regular expressions cost about 4 ms of a 20 ms
/// `node add` here. A key the file should not have is an error, not ignored.
struct RawSiteConfig {
    struct DHCP {
        var mode: String?
        var range: String?
        var lease_time: String?
        var router_advertisements: Bool?
    }
    struct HTTP { var port: Int?; var api_port: Int?; var operator_listen: String? }
    struct Paths {
        var tftp_root: String?
        var http_root: String?
        var images: String?
        var dnsmasq_dir: String?
        var hosts_dir: String?
        var exports_dir: String?
        var ganesha_config: String?
        var run_dir: String?
        var cache: String?
    }
    struct Debian {
        var mirror: String?
        var suite: String?
        var architecture: String?
    }
    struct RawProfile {
        var image: String?
        var kernel_args: [String]?
        var loader: String?
        var generation: String?
        var bmc: RawBMC?
        var root: String?
        var persist: String?
    }
    struct RawBMC { var driver, user, password_file: String? }
    struct NFS { var server: String? }
    struct Discovery { var mode: String? }
    struct BootServer { var name, role: String? }
    struct Cloud { var engine, endpoint, fingerprint: String?; var member_port: Int? }

    var interface: String?
    var server_ip: String?
    var subnet: String?
    var dhcp: DHCP?
    var http: HTTP?
    var paths: Paths?
    var nfs: NFS?
    var discovery: Discovery?
    var boot_server: BootServer?
    var cloud: Cloud?
    var debian: Debian?
    var profiles: [String: RawProfile]?

    /// - Throws: `ConfigSyntaxError` for YAML that does not parse, a value of
    ///   the wrong kind or an unknown key, naming the key (`http.port`).
    init(yaml text: String) throws(ConfigSyntaxError) {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text, .basic)
        } catch {
            throw ConfigSyntaxError(message: "\(error)")
        }
        guard let root, !YAMLMap.isNull(root) else { return }
        let top = try YAMLMap(root, path: "")
        try top.allow(["interface", "server_ip", "subnet", "dhcp", "http", "paths", "nfs", "discovery", "boot_server", "cloud", "debian", "profiles"])
        interface = try top.string("interface")
        server_ip = try top.string("server_ip")
        subnet = try top.string("subnet")
        if let m = try top.map("dhcp") {
            try m.allow(["mode", "range", "lease_time", "router_advertisements"])
            dhcp = DHCP(mode: try m.string("mode"), range: try m.string("range"), lease_time: try m.string("lease_time"),
                        router_advertisements: try m.bool("router_advertisements"))
        }
        if let m = try top.map("http") {
            try m.allow(["port", "api_port", "operator_listen"])
            http = HTTP(port: try m.int("port"), api_port: try m.int("api_port"), operator_listen: try m.string("operator_listen"))
        }
        if let m = try top.map("paths") {
            try m.allow(["tftp_root", "http_root", "images", "dnsmasq_dir", "hosts_dir", "exports_dir", "ganesha_config", "run_dir", "cache"])
            paths = Paths(tftp_root: try m.string("tftp_root"), http_root: try m.string("http_root"), images: try m.string("images"),
                          dnsmasq_dir: try m.string("dnsmasq_dir"), hosts_dir: try m.string("hosts_dir"), exports_dir: try m.string("exports_dir"),
                          ganesha_config: try m.string("ganesha_config"), run_dir: try m.string("run_dir"), cache: try m.string("cache"))
        }
        if let m = try top.map("nfs") {
            try m.allow(["server"])
            nfs = NFS(server: try m.string("server"))
        }
        if let m = try top.map("discovery") {
            try m.allow(["mode"])
            discovery = Discovery(mode: try m.string("mode"))
        }
        if let m = try top.map("boot_server") {
            try m.allow(["name", "role"])
            boot_server = BootServer(name: try m.string("name"), role: try m.string("role"))
        }
        if let m = try top.map("cloud") {
            try m.allow(["engine", "endpoint", "fingerprint", "member_port"])
            cloud = Cloud(engine: try m.string("engine"), endpoint: try m.string("endpoint"), fingerprint: try m.string("fingerprint"),
                          member_port: try m.int("member_port"))
        }
        if let m = try top.map("debian") {
            try m.allow(["mirror", "suite", "architecture"])
            debian = Debian(mirror: try m.string("mirror"), suite: try m.string("suite"), architecture: try m.string("architecture"))
        }
        if let m = try top.map("profiles") {
            var out: [String: RawProfile] = [:]
            for name in m.keys {
                guard let p = try m.map(name) else { out[name] = RawProfile(); continue }
                try p.allow(["image", "kernel_args", "loader", "generation", "bmc", "root", "persist"])
                var bmc: RawBMC?
                if let b = try p.map("bmc") {
                    try b.allow(["driver", "user", "password_file"])
                    bmc = RawBMC(driver: try b.string("driver"), user: try b.string("user"), password_file: try b.string("password_file"))
                }
                out[name] = RawProfile(image: try p.string("image"), kernel_args: try p.strings("kernel_args"), loader: try p.string("loader"),
                                       generation: try p.string("generation"), bmc: bmc, root: try p.string("root"), persist: try p.string("persist"))
            }
            profiles = out
        }
    }
}

/// One YAML mapping of the config, with typed reads that name the key on failure.
struct YAMLMap {
    let path: String
    let keys: [String]
    let values: [String: Yams.Node]

    init(_ node: Yams.Node, path: String) throws(ConfigSyntaxError) {
        guard let mapping = node.mapping else {
            throw ConfigSyntaxError(message: "\(path.isEmpty ? "the file" : path): expected a mapping of keys to values")
        }
        self.path = path
        var keys: [String] = [], values: [String: Yams.Node] = [:]
        for (k, v) in mapping {
            guard let key = k.scalar?.string else { throw ConfigSyntaxError(message: "\(path.isEmpty ? "the file" : path): a key must be plain text") }
            guard values.updateValue(v, forKey: key) == nil else {
                throw ConfigSyntaxError(message: "\(path.isEmpty ? key : path + "." + key): given twice")
            }
            keys.append(key)
        }
        self.keys = keys
        self.values = values
    }

    func full(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// - Throws: for the first key not in `known`.
    func allow(_ known: Set<String>) throws(ConfigSyntaxError) {
        if let bad = keys.first(where: { !known.contains($0) }) {
            throw ConfigSyntaxError(message: "\(full(bad)): unknown key (expected one of: \(known.sorted().joined(separator: ", ")))")
        }
    }

    /// A plain `~`, `null` or nothing at all: the key is as good as absent.
    static func isNull(_ node: Yams.Node) -> Bool {
        guard let s = node.scalar, s.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    /// The node under `key`, nil when absent or null.
    func node(_ key: String) -> Yams.Node? {
        guard let n = values[key], !Self.isNull(n) else { return nil }
        return n
    }

    func string(_ key: String) throws(ConfigSyntaxError) -> String? {
        guard let n = node(key) else { return nil }
        guard let s = n.scalar else { throw ConfigSyntaxError(message: "\(full(key)): expected a single value, not a list or mapping") }
        return s.string
    }

    func int(_ key: String) throws(ConfigSyntaxError) -> Int? {
        guard let text = try string(key) else { return nil }
        guard let v = Int(text) else { throw ConfigSyntaxError(message: "\(full(key)): expected a whole number, not \(quoted(text))") }
        return v
    }

    func bool(_ key: String) throws(ConfigSyntaxError) -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw ConfigSyntaxError(message: "\(full(key)): expected true or false, not \(quoted(text))")
        }
    }

    func strings(_ key: String) throws(ConfigSyntaxError) -> [String]? {
        guard let n = node(key) else { return nil }
        guard let seq = n.sequence else { throw ConfigSyntaxError(message: "\(full(key)): expected a list") }
        var out: [String] = []
        for item in seq {
            guard let s = item.scalar else { throw ConfigSyntaxError(message: "\(full(key)): every item must be a single value") }
            out.append(s.string)
        }
        return out
    }

    func map(_ key: String) throws(ConfigSyntaxError) -> YAMLMap? {
        guard let n = node(key) else { return nil }
        return try YAMLMap(n, path: full(key))
    }
}

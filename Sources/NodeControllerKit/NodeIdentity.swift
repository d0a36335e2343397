import FoundationEssentials
import Glibc

/// Who this node is on the provisioning network.
public struct NodeIdentity: Codable, Sendable, Equatable {
    /// The boot MAC, lowercase colon form; nil when no rule found one.
    public var mac: String?
    /// The interface the node booted from, when found.
    public var interface: String?
    /// Its first IPv4 address.
    public var ip: String?
    public var hostname: String
    /// Which rule chose the interface, for the log and `--report`.
    public var rule: String

    public init(mac: String?, interface: String?, ip: String?, hostname: String, rule: String) {
        self.mac = mac
        self.interface = interface
        self.ip = ip
        self.hostname = hostname
        self.rule = rule
    }
}

/// Finds the boot interface, its address and the host name.
///
/// Rules, first match wins: the interface whose MAC is the `BOOTIF=` MAC; an interface named
/// in the config file; the `ip=` device; the interface the initramfs configured for the NFS
/// root (`/run/net-DEV.conf`); the interface of the default route; the first non-loopback
/// interface with a MAC.
public enum IdentityResolver {
    /// - Parameters:
    ///   - addressOf: the IPv4 address of an interface (getifaddrs on a real host).
    public static func resolve(
        settings: ControllerSettings,
        host: HostPaths,
        addressOf: (String) -> String? = InterfaceAddresses.ipv4,
        hostname: String = InterfaceAddresses.hostname()
    ) -> (identity: NodeIdentity, warnings: [String]) {
        var warnings: [String] = []
        let interfaces = directoryEntries(host.classNet).compactMap { name -> (String, String)? in
            guard let raw = readTextFile(host.classNet + "/" + name + "/address"),
                  let mac = try? MACText.canonical(raw.trimmedWhitespace())
            else { return nil }
            return (name, mac)
        }
        let names = Set(interfaces.map(\.0))
        func macOf(_ name: String) -> String? { interfaces.first { $0.0 == name }?.1 }

        var chosen: (name: String, rule: String)?
        if let boot = settings.bootMAC {
            if let match = interfaces.first(where: { $0.1 == boot }) {
                chosen = (match.0, "BOOTIF \(boot)")
            } else {
                warnings.append("no interface under \(host.classNet) has the BOOTIF MAC \(boot)")
            }
        }
        if chosen == nil, let name = settings.interface {
            if names.contains(name) { chosen = (name, "interface from config file") } else {
                warnings.append("configured interface \"\(name)\" does not exist")
            }
        }
        if chosen == nil, let dev = settings.ipDevice, names.contains(dev) {
            chosen = (dev, "ip= device on the kernel command line")
        }
        if chosen == nil {
            let nfs = directoryEntries(host.run).compactMap { entry -> String? in
                guard entry.hasPrefix("net-"), entry.hasSuffix(".conf") else { return nil }
                let dev = String(entry.dropFirst(4).dropLast(5))
                return names.contains(dev) ? dev : nil
            }
            if let dev = nfs.first { chosen = (dev, "interface the initramfs configured for the NFS root (\(host.run)/net-\(dev).conf)") }
        }
        if chosen == nil, let dev = defaultRouteInterface(host.routes), names.contains(dev) {
            chosen = (dev, "interface of the default route")
        }
        if chosen == nil, let first = interfaces.first(where: { $0.0 != "lo" }) {
            chosen = (first.0, "first non-loopback interface")
        }
        let mac = settings.bootMAC ?? chosen.flatMap { macOf($0.name) }
        let rule: String
        if let chosen {
            rule = chosen.rule
        } else {
            rule = "no interface found"
            warnings.append("no network interface with a MAC under \(host.classNet)")
        }
        let ip = chosen.flatMap { addressOf($0.name) }
        if let chosen, ip == nil { warnings.append("interface \(chosen.name) has no IPv4 address") }
        return (NodeIdentity(mac: mac, interface: chosen?.name, ip: ip, hostname: hostname, rule: rule), warnings)
    }

    /// The interface of the lowest-metric default route in `/proc/net/route`.
    static func defaultRouteInterface(_ path: String) -> String? {
        guard let text = readTextFile(path) else { return nil }
        var best: (String, Int)?
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
            guard f.count >= 8, f[1] == "00000000", f[7] == "00000000",
                  let flags = Int(f[3], radix: 16), flags & 1 == 1 else { continue }
            let metric = Int(f[6]) ?? Int.max
            if best == nil || metric < best!.1 { best = (String(f[0]), metric) }
        }
        return best?.0
    }
}

/// The host's interface addresses and name, through libc.
public enum InterfaceAddresses {
    /// The first IPv4 address of `interface` (getifaddrs), or nil.
    public static func ipv4(_ interface: String) -> String? {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0, let first = head else { return nil }
        defer { freeifaddrs(head) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let ifa = cursor {
            defer { cursor = ifa.pointee.ifa_next }
            guard let name = ifa.pointee.ifa_name, String(cString: name) == interface,
                  let addr = ifa.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let ok = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin -> Bool in
                var a = sin.pointee.sin_addr
                return inet_ntop(AF_INET, &a, &text, socklen_t(text.count)) != nil
            }
            if ok { return cString(text) }
        }
        return nil
    }

    /// gethostname(2), or "localhost" when it fails.
    public static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        return cString(buf)
    }

    static func cString(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

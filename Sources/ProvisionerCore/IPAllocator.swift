/// Picks static node addresses: the lowest free host address of the subnet
/// that is not the server's, not in the dynamic range and not used.
public struct IPAllocator: Sendable {
    public let config: SiteConfig
    private var used: Set<UInt32>
    /// Every address below this one is known to be taken: `used` only grows,
    /// so the search resumes here and a batch of N allocations stays O(N).
    private var cursor: UInt32

    /// - Parameter start: where the search begins, when the caller knows that
    ///   every allocatable address below it is taken (default: the first host).
    public init(config: SiteConfig, used: some Sequence<IPv4Address>, from start: IPv4Address? = nil) {
        self.config = config
        self.used = Set(used.lazy.map(\.value))
        self.cursor = max(start?.value ?? 0, config.subnet.firstHost.value)
    }

    /// How many addresses from the first host up to `last` the allocator may hand out.
    public static func allocatableCount(upTo last: IPv4Address, config: SiteConfig) -> Int {
        let first = config.subnet.firstHost.value
        guard last.value >= first else { return 0 }
        var n = Int(last.value - first) + 1
        if config.serverIP.value >= first && config.serverIP.value <= last.value { n -= 1 }
        if let r = config.dhcpRange {
            let lo = max(r.first.value, first), hi = min(r.last.value, last.value)
            if lo <= hi { n -= Int(hi - lo) + 1 }
        }
        return n
    }

    /// The next free static address, reserved; nil when the pool is exhausted.
    public mutating func next() -> IPv4Address? {
        var v = cursor
        let last = config.subnet.lastHost.value
        while v <= last {
            let ip = IPv4Address(v)
            if let range = config.dhcpRange, range.contains(ip) {
                v = range.last.value &+ 1
                continue
            }
            if ip != config.serverIP && !used.contains(v) {
                used.insert(v)
                cursor = v + 1
                return ip
            }
            v += 1
        }
        cursor = v
        return nil
    }
}

/// Picks static node addresses: the lowest free host address of the subnet
/// that is not the server's, not in the dynamic range and not used.
public struct IPAllocator: Sendable {
    public let config: SiteConfig
    private var used: Set<UInt32>
    /// Every address below this one is known to be taken: `used` only grows,
    /// so the search resumes here and a batch of N allocations stays O(N).
    private var cursor: UInt32

    public init(config: SiteConfig, used: some Sequence<IPv4Address>) {
        self.config = config
        self.used = Set(used.lazy.map(\.value))
        self.cursor = config.subnet.firstHost.value
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

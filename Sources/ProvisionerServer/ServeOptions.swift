/// How `provisioner serve` runs, beyond the site.
public struct ServeOptions: Sendable {
    /// Address to serve HTTP on (nil: the site's server address).
    public var listen: String?
    public var heartbeatSeconds: Double
    /// Heartbeats missed before a node is lost.
    public var lostAfterBeats: Double
    /// The `provisioner` binary dnsmasq's lease script calls (`dhcp-event`).
    public var binary: String

    public init(listen: String? = nil, heartbeatSeconds: Double = 5, lostAfterBeats: Double = 3, binary: String) {
        self.listen = listen
        self.heartbeatSeconds = heartbeatSeconds
        self.lostAfterBeats = lostAfterBeats
        self.binary = binary
    }
}

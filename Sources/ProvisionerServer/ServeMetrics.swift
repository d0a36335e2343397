/// Counters for /metrics.
public struct ServeMetrics: Sendable {
    public var httpBytes: Int = 0
    public var httpRequests: Int = 0
    public var enrollments: Int = 0
    public var rejected: Int = 0
    public var heartbeats: Int = 0
    /// Unknown machines that took a waiting node by themselves (discovery: auto).
    public var autoAccepted: Int = 0
}

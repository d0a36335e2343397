import Hummingbird
import NIOCore
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore

/// `GET /metrics` in Prometheus' text format.
/// With the registry unreachable it still answers: `provisioner_registry_up 0`,
/// the boot replica, the counters and the daemons (the node gauges need the registry).
enum Metrics {
    /// The counters, gauges and daemons, read now.
    static func response(_ state: ServeState) throws -> Response {
        let m = state.metrics
        var out = ""
        var registryUp = 1
        do {
            let nodes = try state.registry.statuses()
            let discovered = try state.registry.discovered().count
            out += "# HELP provisioner_nodes Nodes by state.\n# TYPE provisioner_nodes gauge\n"
            for s in NodeState.allCases {
                out += "provisioner_nodes{state=\"\(s.rawValue)\"} \(nodes.filter { $0.state == s }.count)\n"
            }
            out += """
                # HELP provisioner_discovered_machines Machines that PXE-booted unregistered.
                # TYPE provisioner_discovered_machines gauge
                provisioner_discovered_machines \(discovered)
                # HELP provisioner_nodes_booting_or_booted Nodes with a recorded boot (DHCP answer to their PXE firmware).
                # TYPE provisioner_nodes_booting_or_booted gauge
                provisioner_nodes_booting_or_booted \(nodes.filter { $0.bootStarted != nil }.count)

                """
        } catch where FailureKind(of: error) == .unavailable {
            registryUp = 0
        }
        out += """
            # HELP provisioner_registry_up Whether the registry answered this scrape (0: boots go on from the replica).
            # TYPE provisioner_registry_up gauge
            provisioner_registry_up \(registryUp)
            # HELP provisioner_boot_replica_nodes Nodes in serve's boot replica (what it boots while the registry is down).
            # TYPE provisioner_boot_replica_nodes gauge
            provisioner_boot_replica_nodes \(state.replica.count)
            # HELP provisioner_enrollments_total Successful enrollments since serve started.
            # TYPE provisioner_enrollments_total counter
            provisioner_enrollments_total \(m.enrollments)
            # HELP provisioner_auto_accepted_total Unknown machines that took a waiting node by themselves (discovery: auto).
            # TYPE provisioner_auto_accepted_total counter
            provisioner_auto_accepted_total \(m.autoAccepted)
            # HELP provisioner_heartbeats_total Accepted heartbeats since serve started.
            # TYPE provisioner_heartbeats_total counter
            provisioner_heartbeats_total \(m.heartbeats)
            # HELP provisioner_rejected_total Refused boot-script and node API requests.
            # TYPE provisioner_rejected_total counter
            provisioner_rejected_total \(m.rejected)
            # HELP provisioner_boot_telemetry_dropped_total Boot phases not recorded because the telemetry queue was full (a registry too slow for the boots).
            # TYPE provisioner_boot_telemetry_dropped_total counter
            provisioner_boot_telemetry_dropped_total \(state.telemetry.dropped)
            # HELP provisioner_http_requests_total HTTP requests served.
            # TYPE provisioner_http_requests_total counter
            provisioner_http_requests_total \(m.httpRequests)
            # HELP provisioner_http_bytes_total HTTP response bytes served (Content-Length).
            # TYPE provisioner_http_bytes_total counter
            provisioner_http_bytes_total \(m.httpBytes)

            """
        let daemons = state.daemons
        if !daemons.isEmpty {
            out += "# HELP provisioner_daemon_up Whether a boot daemon serve supervises is running.\n# TYPE provisioner_daemon_up gauge\n"
            for d in daemons { out += "provisioner_daemon_up{daemon=\"\(d.name)\"} \(d.pid == nil ? 0 : 1)\n" }
            out += "# HELP provisioner_daemon_restarts_total Restarts of a boot daemon since serve started.\n# TYPE provisioner_daemon_restarts_total counter\n"
            for d in daemons { out += "provisioner_daemon_restarts_total{daemon=\"\(d.name)\"} \(d.restarts)\n" }
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: out)))
    }
}

import Foundation
import Hummingbird
import NIOCore
import ProvisionerAPI
import ProvisionerCore
import ProvisionerSite
import ProvisionerStore

/// The last phase reached and its time.
func lastPhase(_ s: NodeStatus) -> (String, String)? {
    BootPhase.order.reversed().first { s.phases[$0] != nil }.map { ($0.rawValue, s.phases[$0] ?? "") }
}

/// The node's own boot in a few words: `kernel 12.1 s, userspace 30.2 s; slowest libvirtd.service 5.0 s`.
func nodeBoot(_ t: BootTimings) -> String {
    func s(_ v: Double?) -> String { v.map { String(format: "%.1f s", $0) } ?? "…" }
    var out = "kernel \(s(t.kernelSeconds)), userspace \(s(t.userspaceSeconds))"
    if let slowest = t.slowestUnits.first { out += "; slowest \(slowest.unit) \(s(slowest.seconds))" }
    return out
}

func html(_ s: String) -> String {
    var o = ""
    for c in s {
        switch c {
        case "<": o += "&lt;"
        case ">": o += "&gt;"
        case "&": o += "&amp;"
        case "\"": o += "&quot;"
        case "'": o += "&#39;"
        default: o.append(c)
        }
    }
    return o
}

/// `uefi, Secure Boot on; uefi-http → snponly.efi`: the node's report and how the server booted it.
func firmware(_ n: NodeStatus) -> String {
    let parts = [n.platform?.summary, n.bootPath?.summary].compactMap { $0 }
    return parts.isEmpty ? "-" : parts.joined(separator: "; ")
}

/// A node's standing in the cloud, for the page.
func cloudText(_ record: CloudMemberRecord?) -> String {
    guard let record else { return "-" }
    return record.state + " since " + record.since + (record.reason.map { ": " + $0 } ?? "")
}

/// `GET /`: nodes, state, last boot phase, image, capacity; discovered MACs. Refreshes itself.
enum StatusPage {
    /// The page, read from the registry now.
    static func response(_ state: ServeState) throws -> Response {
        let nodes = try state.registry.statuses()
        let discovered = try state.registry.discovered()
        // With a cloud: each node's standing in it, as its heartbeats reported it.
        let cloud = state.config.cloud?.engine == .incus ? try state.registry.cloudMembers() : nil
        var counts: [NodeState: Int] = [:]
        for n in nodes { counts[n.state, default: 0] += 1 }
        var rows = ""
        for n in nodes {
            let cap = n.capacity
            let phase = lastPhase(n).map { "\($0.0) at \($0.1)" } ?? "-"
            let durations = n.phaseDurations().map { "\($0.phase.rawValue) \(String(format: "%.1f", $0.seconds))s" }.joined(separator: " → ")
            rows += """
                <tr class="\(n.state.rawValue)"><td>\(html(n.hostname))</td><td><code>\(html(n.mac ?? "-"))</code></td><td>\(html(n.ip))</td>\
                <td class="state">\(n.state.rawValue)\(n.drained ? " (drained)" : "")</td><td>\(html(n.image ?? "-"))\(html(n.pinned.map { " (pinned \($0))" } ?? ""))</td><td>\(html(phase))</td><td>\(html(durations))</td>\
                <td>\(html(n.bootTimings.map(nodeBoot) ?? "-"))</td>\
                <td>\(html(firmware(n)))</td>\
                <td>\(cap.map { "\($0.coresFree)/\($0.coresMax) cores, \($0.memoryMiBFree)/\($0.memoryMiBMax) MiB, \(html($0.hypervisor.rawValue))" } ?? "-")</td>\
                <td>\(html(n.lastHeartbeat ?? "-"))</td>\(cloud.map { "<td>\(html(cloudText($0[n.hostname])))</td>" } ?? "")</tr>

                """
        }
        var disc = ""
        for d in discovered {
            disc += "<tr><td><code>\(html(d.mac))</code></td><td>\(html(d.ip ?? "-"))</td><td>\(html(d.firstSeen))</td><td>\(html(d.lastSeen))</td><td>\(d.seen)</td></tr>\n"
        }
        var servers = ""
        for b in ClusterReport.bootServerRows(try state.registry.bootServers(), latestChange: try state.registry.latestChange(), now: state.clock()) {
            let ago = b.seconds_since_contact.map { "\(Int($0.rounded())) s ago" } ?? b.last_contact
            let daemons = b.daemons.sorted { $0.key < $1.key }.map { "\(html($0.key)) \($0.value ? "up" : "<b>down</b>")" }.joined(separator: ", ")
            servers += """
                <tr><td>\(html(b.name))\(b.name == state.serverName ? " (this one)" : "")</td><td>\(html(b.address))</td><td>\(html(b.subnet))</td>\
                <td>\(html(b.role ?? "alone"))</td><td>\(html(b.dhcp_range ?? "-"))</td><td>\(html(ago))</td>\
                <td>\(b.replica_lag == 0 ? "current" : "\(b.replica_lag) changes behind")</td><td>\(b.replica_nodes)</td><td>\(daemons.isEmpty ? "-" : daemons)</td></tr>

                """
        }
        let services = state.daemons.map { d in
            "\(html(d.name)) " + (d.pid.map { "up (pid \($0))" } ?? "<b>down</b>") + (d.restarts > 0 ? ", restarted \(d.restarts)×" : "")
        }.joined(separator: "; ")
        let summary = NodeState.allCases.compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }.joined(separator: ", ")
        let page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
            <title>Provisioner: \(nodes.count) node\(nodes.count == 1 ? "" : "s")</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:2em;color:#222}
            table{border-collapse:collapse;width:100%;margin-bottom:2em}
            th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #ddd;font-size:.92em}
            th{background:#f4f4f4}
            td.state{font-weight:600}
            tr.ready td.state{color:#17803d} tr.lost td.state{color:#b42318} tr.booting td.state{color:#b54708}
            tr.enrolled td.state{color:#175cd3}
            .muted{color:#777}
            </style></head><body>
            <h1>Provisioner</h1>
            <p>\(nodes.count) node\(nodes.count == 1 ? "" : "s"): \(html(summary.isEmpty ? "none" : summary)). Server \(state.config.serverIP), \
            DHCP \(state.config.dhcpMode.rawValue) on \(html(state.config.interface)).\(services.isEmpty ? "" : " Services: " + services + ".") <span class="muted">Refreshes every 5 s.</span></p>
            <h2>Nodes</h2>
            <table><thead><tr><th>Hostname</th><th>MAC</th><th>IP</th><th>State</th><th>Image</th><th>Last boot phase</th>\
            <th>Phase durations</th><th>Node's own boot</th><th>Firmware</th><th>Capacity (free/max)</th><th>Last heartbeat</th>\(cloud == nil ? "" : "<th>Cloud</th>")</tr></thead>
            <tbody>
            \(rows.isEmpty ? "<tr><td colspan=10 class=muted>No nodes registered.</td></tr>" : rows)</tbody></table>
            <h2>Boot servers</h2>
            <p class="muted">Each boot server as it last reported itself; the lag is the registry's node changes it had not applied then.</p>
            <table><thead><tr><th>Name</th><th>Address</th><th>Subnet</th><th>Role</th><th>Dynamic range</th><th>Last contact</th>\
            <th>Replica</th><th>Nodes</th><th>Daemons</th></tr></thead>
            <tbody>
            \(servers.isEmpty ? "<tr><td colspan=9 class=muted>None reported yet.</td></tr>" : servers)</tbody></table>
            <h2>Discovered machines</h2>
            <p class="muted">PXE-booted with a MAC that is not registered. Register one with <code>provisioner node accept MAC --hostname NAME</code>.</p>
            <table><thead><tr><th>MAC</th><th>IP</th><th>First seen</th><th>Last seen</th><th>Times</th></tr></thead>
            <tbody>
            \(disc.isEmpty ? "<tr><td colspan=5 class=muted>None.</td></tr>" : disc)</tbody></table>
            </body></html>

            """
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
    }
}

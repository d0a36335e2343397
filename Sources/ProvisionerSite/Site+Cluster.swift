import Foundation
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore

/// What the cluster can run: each node's state, image and capacity, and per
/// VM type how many more fit (`cluster status`, the lab's summary).
public struct ClusterReport: Codable, Sendable {
    public struct NodeRow: Codable, Sendable {
        public var hostname: String
        public var state: String
        public var image: String?
        public var cores_used: Int?, cores_max: Int?
        public var memory_mib_used: Int?, memory_mib_max: Int?
        public var hypervisor: String?
        public var hardware_virtualization: Bool?
        public var hardware_virtualization_reason: String?
        public var last_heartbeat: String?
        /// bios or uefi, as the node reports it.
        public var firmware: String?
        public var secureboot: Bool?
        /// How its boot began (`uefi-http → snponly.efi`), as the server saw it.
        public var booted_via: String?
        /// Out of placement (a rollout's batch, or `node drain`).
        public var drained: Bool
        /// The generation it is pinned to, if any.
        public var pinned: String?
    }

    public struct TypeRow: Codable, Sendable {
        public var name: String
        public var cpus: Int
        public var memory_mib: Int
        public var disk_gib: Int
        public var free: Int
        public var max: Int
    }

    /// A boot server as it last reported itself.
    public struct BootServerRow: Codable, Sendable {
        public var name: String
        public var address: String
        public var subnet: String
        public var role: String?
        public var dhcp_range: String?
        public var started_at: String
        public var last_contact: String
        /// Seconds from its last report to this report (nil: unreadable time).
        public var seconds_since_contact: Double?
        /// Changes of the registry's change log its replica and boot files had not applied at its last report.
        public var replica_lag: Int64
        public var replica_nodes: Int
        public var daemons: [String: Bool]
    }

    public var nodes: [NodeRow]
    public var vm_types: [TypeRow]
    public var ready: Int
    /// Sorted by name; empty until a boot server (`serve`) reported.
    public var boot_servers: [BootServerRow] = []

    /// The report of these boot servers at change `latestChange` and time `now`.
    public init(_ statuses: [NodeStatus], bootServers: [BootServerRecord], latestChange: Int64, now: Date) {
        self.init(statuses)
        boot_servers = Self.bootServerRows(bootServers, latestChange: latestChange, now: now)
    }

    /// Boot servers' reports as seen at change `latestChange` and time `now` (the status page shows the same).
    public static func bootServerRows(_ records: [BootServerRecord], latestChange: Int64, now: Date) -> [BootServerRow] {
        records.map { b in
            BootServerRow(name: b.name, address: b.address, subnet: b.subnet, role: b.role, dhcp_range: b.dhcpRange, started_at: b.startedAt,
                          last_contact: b.lastContact, seconds_since_contact: Timestamp.parse(b.lastContact).map { max(0, now.timeIntervalSince($0)) },
                          replica_lag: max(0, latestChange - b.appliedSequence), replica_nodes: b.replicaNodes, daemons: b.daemons)
        }
    }

    /// The report of these node statuses.
    public init(_ statuses: [NodeStatus]) {
        var rows: [NodeRow] = []
        var capacities: [NodeCapacity] = []
        for s in statuses {
            let c = s.capacity
            // A drained node takes no new instance: its room does not count.
            if let c, s.state == .ready, !s.drained { capacities.append(c) }
            rows.append(NodeRow(hostname: s.hostname, state: s.state.rawValue, image: s.image,
                                cores_used: c.map { $0.coresMax - $0.coresFree }, cores_max: c?.coresMax,
                                memory_mib_used: c.map { $0.memoryMiBMax - $0.memoryMiBFree }, memory_mib_max: c?.memoryMiBMax,
                                hypervisor: c?.hypervisor.rawValue, hardware_virtualization: c?.hardwareVirtualization,
                                hardware_virtualization_reason: c?.hardwareVirtualizationReason, last_heartbeat: s.lastHeartbeat,
                                firmware: s.platform?.firmware.rawValue, secureboot: s.platform?.secureboot, booted_via: s.bootPath?.summary,
                                drained: s.drained, pinned: s.pinned))
        }
        nodes = rows
        vm_types = VMType.availability(VMType.defaults, capacities: capacities).map {
            TypeRow(name: $0.type.name, cpus: $0.type.cpus, memory_mib: $0.type.memoryMiB, disk_gib: $0.type.diskGiB, free: $0.free, max: $0.max)
        }
        ready = statuses.filter { $0.state == .ready }.count
    }

    /// Two tables for people: the nodes, then the VM types.
    public var text: String {
        func dash(_ v: Int?) -> String { v.map(String.init) ?? "-" }
        var out = TextTable.render(
            header: ["NODE", "STATE", "IMAGE", "CORES USED/MAX", "MEMORY MiB USED/MAX", "HYPERVISOR", "FIRMWARE", "LAST HEARTBEAT"],
            rows: nodes.map { n in
                [n.hostname, n.state + (n.drained ? " (drained)" : ""), (n.image ?? "-") + (n.pinned.map { " (pinned \($0))" } ?? ""), "\(dash(n.cores_used))/\(dash(n.cores_max))",
                 "\(dash(n.memory_mib_used))/\(dash(n.memory_mib_max))",
                 n.hypervisor.map { h in n.hardware_virtualization == false && h != "none" ? "\(h) (no hw virt)" : h } ?? "-",
                 (n.firmware ?? "-") + (n.secureboot == true ? " (Secure Boot)" : ""),
                 n.last_heartbeat ?? "-"]
            })
        out += "\n"
        if !boot_servers.isEmpty {
            out += TextTable.render(header: ["BOOT SERVER", "ADDRESS", "SUBNET", "ROLE", "DYNAMIC RANGE", "LAST CONTACT", "REPLICA LAG", "NODES", "DAEMONS"],
                                    rows: boot_servers.map { b in
                [b.name, b.address, b.subnet, b.role ?? "alone", b.dhcp_range ?? "-",
                 b.seconds_since_contact.map { "\(Int($0.rounded())) s ago" } ?? b.last_contact,
                 b.replica_lag == 0 ? "current" : "\(b.replica_lag) changes", String(b.replica_nodes),
                 b.daemons.isEmpty ? "-" : b.daemons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value ? "up" : "down")" }.joined(separator: ", ")]
            })
            out += "\n"
        }
        out += TextTable.render(header: ["VM TYPE", "CPUS", "MEMORY MiB", "DISK GiB", "FREE / MAX"],
                                rows: vm_types.map { [$0.name, String($0.cpus), String($0.memory_mib), String($0.disk_gib), "\($0.free) / \($0.max)"] })
        return out
    }
}

extension Site {
    /// The cluster's report from the registry.
    public func clusterReport() throws -> ClusterReport {
        let registry = try openRegistry()
        return ClusterReport(try registry.statuses(), bootServers: try registry.bootServers(), latestChange: try registry.latestChange(), now: Date())
    }
}

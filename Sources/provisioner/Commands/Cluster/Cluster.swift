import ArgumentParser
import Foundation
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore

extension Provisioner {
    /// `provisioner cluster …`.
    struct Cluster: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cluster",
            abstract: "What the cluster can run.",
            subcommands: [Status.self]
        )
    }
}

extension Provisioner.Cluster {
    /// `provisioner cluster status`: the cluster's `describe-availability-zones verbose`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Nodes with state, image, cores and memory used/max, hypervisor, last heartbeat; free/max per VM type."
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        struct NodeRow: Encodable {
            var hostname: String
            var state: String
            var image: String?
            var cores_used: Int?, cores_max: Int?
            var memory_mib_used: Int?, memory_mib_max: Int?
            var hypervisor: String?
            var hardware_virtualization: Bool?
            var hardware_virtualization_reason: String?
            var last_heartbeat: String?
        }
        struct TypeRow: Encodable { var name: String; var cpus: Int; var memory_mib: Int; var disk_gib: Int; var free: Int; var max: Int }
        struct Report: Encodable { var nodes: [NodeRow]; var vm_types: [TypeRow]; var ready: Int }

        func report() throws -> Report {
            let statuses = try global.openRegistry().statuses()
            var rows: [NodeRow] = []
            var capacities: [NodeCapacity] = []
            for s in statuses {
                let c = s.capacity.flatMap { try? JSONDecoder().decode(NodeCapacity.self, from: Data($0.utf8)) }
                if let c, s.state == .ready { capacities.append(c) }
                rows.append(NodeRow(hostname: s.hostname, state: s.state.rawValue, image: s.image,
                                    cores_used: c.map { $0.coresMax - $0.coresFree }, cores_max: c?.coresMax,
                                    memory_mib_used: c.map { $0.memoryMiBMax - $0.memoryMiBFree }, memory_mib_max: c?.memoryMiBMax,
                                    hypervisor: c?.hypervisor, hardware_virtualization: c?.hardwareVirtualization,
                                    hardware_virtualization_reason: c?.hardwareVirtualizationReason, last_heartbeat: s.lastHeartbeat))
            }
            let types = VMType.availability(VMType.defaults, capacities: capacities).map {
                TypeRow(name: $0.type.name, cpus: $0.type.cpus, memory_mib: $0.type.memoryMiB, disk_gib: $0.type.diskGiB, free: $0.free, max: $0.max)
            }
            return Report(nodes: rows, vm_types: types, ready: statuses.filter { $0.state == .ready }.count)
        }

        func run() throws {
            let r = try report()
            if output.json { emit(try jsonText(r)); return }
            emit(Self.text(r))
        }

        static func text(_ r: Report) -> String {
            func dash(_ v: Int?) -> String { v.map(String.init) ?? "-" }
            var out = TextTable.render(
                header: ["NODE", "STATE", "IMAGE", "CORES USED/MAX", "MEMORY MiB USED/MAX", "HYPERVISOR", "LAST HEARTBEAT"],
                rows: r.nodes.map { n in
                    [n.hostname, n.state, n.image ?? "-", "\(dash(n.cores_used))/\(dash(n.cores_max))",
                     "\(dash(n.memory_mib_used))/\(dash(n.memory_mib_max))",
                     n.hypervisor.map { h in n.hardware_virtualization == false && h != "none" ? "\(h) (no hw virt)" : h } ?? "-",
                     n.last_heartbeat ?? "-"]
                })
            out += "\n"
            out += TextTable.render(header: ["VM TYPE", "CPUS", "MEMORY MiB", "DISK GiB", "FREE / MAX"],
                                    rows: r.vm_types.map { [$0.name, String($0.cpus), String($0.memory_mib), String($0.disk_gib), "\($0.free) / \($0.max)"] })
            return out
        }
    }
}

import ArgumentParser
import Foundation
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore

extension Provisioner.Node {
    /// `provisioner node show NAME|MAC`: one node in full, with its last boot.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one node, by hostname or MAC, with its last boot's phases.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: "Hostname or MAC address.")
        var key: String

        struct JSONNode: Encodable {
            var node: ProvisionerCore.Node
            var status: NodeStatus?
            var phase_durations: [String: Double]
            var seconds_to_enroll: Double?
            var capacity: SnakeCased<NodeCapacity>?
            var bmc: BMCSettings?
            var cloud: CloudMemberRecord?

            func encode(to encoder: any Encoder) throws {
                try node.encode(to: encoder)
                enum K: String, CodingKey { case image, boot_started, phases, phase_durations, seconds_to_enroll, capacity, last_heartbeat, enrolled_at, boot_timings, platform, boot_path, bmc, drained, cloud }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(status?.image, forKey: .image)
                try c.encodeIfPresent(cloud, forKey: .cloud)
                try c.encode(status?.bootStarted, forKey: .boot_started)
                try c.encode(status?.phases ?? [:], forKey: .phases)
                try c.encode(phase_durations, forKey: .phase_durations)
                try c.encode(seconds_to_enroll, forKey: .seconds_to_enroll)
                try c.encode(capacity, forKey: .capacity)
                try c.encode(status?.lastHeartbeat, forKey: .last_heartbeat)
                try c.encode(status?.enrolledAt, forKey: .enrolled_at)
                try c.encode(status?.bootTimings.map(SnakeCased.init), forKey: .boot_timings)
                try c.encode(status?.platform, forKey: .platform)
                try c.encode(status?.bootPath, forKey: .boot_path)
                try c.encode(bmc, forKey: .bmc)
                try c.encode(status?.drained ?? false, forKey: .drained)
            }
        }

        func run() throws {
            let registry = try global.openRegistry()
            guard let node = try registry.node(key) else {
                throw NotFoundError("node", key)
            }
            let status = try registry.status(key)
            let durations = status?.phaseDurations() ?? []
            let capacity = status?.capacity
            let bmc = try registry.bmcs()[node.hostname.value]
            let cloud = try registry.cloudMember(hostname: node.hostname)
            if output.json {
                emit(try jsonText(JSONNode(node: node, status: status, phase_durations: Dictionary(uniqueKeysWithValues: durations.map { ($0.phase.rawValue, $0.seconds) }),
                                           seconds_to_enroll: status?.secondsToEnroll, capacity: capacity.map(SnakeCased.init), bmc: bmc,
                                           cloud: cloud)))
                return
            }
            var rows = [
                ["hostname", node.hostname.value],
                ["mac", node.mac?.description ?? "- (waiting for discovery)"],
                ["ip", node.ip.description],
                ["profile", node.profile.value],
                ["state", node.state.rawValue],
                ["created", node.createdAt],
                ["updated", node.updatedAt],
                ["bmc", bmc.map { "\($0.summary), password file \($0.passwordFile)" } ?? "-"],
                ["generation", node.generation.map { "pinned to \($0)" } ?? "follows the active one"],
            ]
            if status?.drained == true { rows.append(["placement", "drained (no new instances)"]) }
            if let cloud { rows.append(["cloud", "\(cloud.state) since \(cloud.since)" + (cloud.reason.map { ": " + $0 } ?? "")]) }
            if let status {
                rows.append(["image", status.image ?? "-"])
                rows.append(["boot started", status.bootStarted ?? "-"])
                if let path = status.bootPath { rows.append(["booted via", path.summary]) }
                if let platform = status.platform { rows.append(["firmware", platform.summary]) }
                for d in durations { rows.append(["  \(d.phase.rawValue)", String(format: "+%.2f s", d.seconds)]) }
                if let t = status.secondsToEnroll { rows.append(["boot → enrolled", String(format: "%.2f s", t)]) }
                if let b = status.bootTimings {
                    // The node's own view: kernel + initramfs, then systemd until the controller and until the boot finished.
                    func s(_ v: Double?) -> String { v.map { String(format: "%.2f s", $0) } ?? "-" }
                    rows.append(["node: kernel+initramfs", s(b.kernelSeconds)])
                    if b.initrdSeconds != nil { rows.append(["node: initrd", s(b.initrdSeconds)]) }
                    rows.append(["node: userspace → controller", s(b.controllerStartSeconds)])
                    rows.append(["node: userspace → finished", s(b.userspaceSeconds)])
                    for u in b.slowestUnits { rows.append(["  \(u.unit)", s(u.seconds)]) }
                }
                if let c = capacity {
                    rows.append(["capacity", "\(c.coresFree)/\(c.coresMax) cores, \(c.memoryMiBFree)/\(c.memoryMiBMax) MiB free, \(c.hypervisor.rawValue)"])
                }
                rows.append(["last heartbeat", status.lastHeartbeat ?? "-"])
            }
            emit(TextTable.render(header: ["FIELD", "VALUE"], rows: rows))
        }
    }
}

import Foundation
import ProvisionerAPI

/// The rules of a node's boot record, as pure functions: which phase a DHCP
/// answer is, and how an event merges into the phases of the current boot.
public enum BootRules {
    /// The boot phase of a DHCP answer that dnsmasq's lease script reports,
    /// or nil when it is none: the firmware's PXE DHCP starts a boot; iPXE
    /// chain-loaded by it asking again does not (`dhcp-ipxe`); any other
    /// client is the initramfs. "old" without a vendor class is dnsmasq's
    /// start-up replay of its lease file.
    /// - Parameters:
    ///   - current: the node's state and phases now (nil: unknown MAC).
    public static func dhcpPhase(action: String, vendorClass: String?, current: (state: NodeState, phases: [BootPhase: String])?)
        -> (phase: BootPhase, newBoot: Bool)? {
        guard action == "add" || action == "old", let vendor = vendorClass, !vendor.isEmpty else { return nil }
        // PXE firmware (and iPXE) send PXEClient, UEFI HTTP Boot sends HTTPClient.
        guard FirmwarePath.of(vendorClass: vendor) != nil else { return (.dhcpInitramfs, false) }
        let chained = current?.state == .booting && current?.phases[.dhcp] != nil && current?.phases[.initrd] == nil
        return chained ? (.dhcpIPXE, false) : (.dhcp, true)
    }

    /// A boot event merged into the phases of the node's current boot.
    ///
    /// A new boot starts over, but keeps the early fetches (`dhcp-ipxe`,
    /// `ipxe`, `kernel`, `initrd`) recorded since `keepSince` (dnsmasq runs
    /// its lease script after it answered, so the boot's first fetches may be
    /// recorded before its DHCP phase), and is dated from the earliest of them.
    /// Times are ISO 8601 UTC texts, which sort as times.
    /// - Returns: the phases, and the boot's start when it is a new boot.
    public static func merge(_ phases: [BootPhase: String], event: BootPhase, at now: String, newBoot: Bool, keepSince: String)
        -> (phases: [BootPhase: String], started: String?) {
        guard newBoot else {
            var out = phases
            out[event] = now
            return (out, nil)
        }
        let early: Set<BootPhase> = [.dhcpIPXE, .ipxe, .kernel, .initrd]
        var out = phases.filter { early.contains($0.key) && $0.value >= keepSince && $0.value <= now }
        let started = out.values.min() ?? now
        out[event] = started
        return (out, started)
    }
}

/// The instance rule applied at each heartbeat: what a node must start and
/// stop, and which recorded states change, from what is wanted of its
/// instances and what it reports.
public enum InstanceReconcile {
    /// An instance placed on the node, as recorded.
    public struct Wanted: Sendable, Equatable {
        public var spec: InstanceSpec
        public var desired: DesiredInstanceState
        /// Last reported state (nil: never reported).
        public var state: InstanceState?

        public init(spec: InstanceSpec, desired: DesiredInstanceState, state: InstanceState?) {
            self.spec = spec
            self.desired = desired
            self.state = state
        }
    }

    public struct Outcome: Sendable, Equatable {
        /// Instances the node must start.
        public var run: [InstanceSpec] = []
        /// Instance ids the node must stop.
        public var terminate: [String] = []
        /// Recorded states that change: id, new state, the node's message.
        public var updates: [Update] = []
    }

    public struct Update: Sendable, Equatable {
        public var id: String
        public var state: InstanceState
        /// The node's message with a reported state; nil for a state the rule decides (the message stays).
        public var reported: String??

        public init(id: String, state: InstanceState, reported: String??) {
            self.id = id
            self.state = state
            self.reported = reported
        }
    }

    /// - A reported instance: its state is recorded when it changed; stopped when it is wanted terminated.
    /// - One wanted running that the node does not report: started again while pending or running.
    /// - One wanted terminated that the node no longer reports: recorded terminated.
    /// Instances the node reports that are not placed on it are left to the node (it stops what it does not know).
    public static func reconcile(_ wanted: [Wanted], reported: [InstanceStatus]) -> Outcome {
        let byID = Dictionary(reported.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var out = Outcome()
        for w in wanted {
            let id = w.spec.id
            if let r = byID[id] {
                if r.state != w.state { out.updates.append(Update(id: id, state: r.state, reported: .some(r.message))) }
                if w.desired == .terminated { out.terminate.append(id) }
            } else if w.desired == .running {
                if w.state == nil || w.state == .pending || w.state == .running { out.run.append(w.spec) }
            } else if w.state != .terminated {
                out.updates.append(Update(id: id, state: .terminated, reported: nil))
            }
        }
        return out
    }
}

/// A DHCP answer as dnsmasq's lease script hands it to serve: one JSON
/// object per connection on serve's event socket. Parsing checks every
/// field: the script runs as an unprivileged user, and what it sends is input.
public struct DHCPLeaseEvent: Codable, Equatable, Sendable {
    public var action: String
    public var mac: String
    public var ip: String
    public var vendorClass: String?

    enum CodingKeys: String, CodingKey { case action, mac, ip, vendorClass = "vendor_class" }

    public init(action: String, mac: String, ip: String, vendorClass: String?) {
        self.action = action
        self.mac = mac
        self.ip = ip
        self.vendorClass = vendorClass
    }

    /// dnsmasq's actions: a lease added, an old one seen again, one removed,
    /// dnsmasq's start-up and the event of an ARP or TFTP.
    public static let actions: Set<String> = ["add", "old", "del", "init", "arp-add", "arp-del", "tftp", "relay-snoop"]

    /// The event in `data`, checked: the action, the MAC, the address and a
    /// printable vendor class of at most 255 bytes (DHCP option 60's limit).
    /// - Throws: `ValidationError` naming the field.
    public static func parse(_ data: [UInt8]) throws -> (event: DHCPLeaseEvent, mac: MACAddress, ip: IPv4Address) {
        guard let event = try? JSONDecoder().decode(DHCPLeaseEvent.self, from: Data(data)) else {
            throw ValidationError(field: "dhcp event", value: String(decoding: data.prefix(80), as: UTF8.self), reason: "is not a lease event object")
        }
        guard actions.contains(event.action) else {
            throw ValidationError(field: "action", value: event.action, reason: "is not an action of dnsmasq's lease script")
        }
        let mac = try MACAddress(parsing: event.mac)
        let ip = try IPv4Address(parsing: event.ip, field: "ip")
        if let vendor = event.vendorClass, vendor.utf8.count > 255 || vendor.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw ValidationError(field: "vendor_class", value: String(vendor.prefix(80)), reason: "is not a printable class of at most 255 bytes")
        }
        return (event, mac, ip)
    }
}

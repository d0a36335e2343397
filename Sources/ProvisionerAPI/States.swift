/// The states and kinds the API reports, as enums. Their raw values are the
/// strings on the wire, so the node controllers and scripts see the same JSON.

/// What runs VMs on a node.
public enum HypervisorKind: String, Codable, Sendable, CaseIterable {
    /// QEMU with KVM: hardware virtualization.
    case kvm
    /// QEMU in software (TCG): slow, but runs anywhere.
    case qemuTCG = "qemu-tcg"
    /// No hypervisor reachable: the node reports its own numbers and the reason.
    case none
}

/// A VM instance's state as its node reports it.
public enum InstanceState: String, Codable, Sendable, CaseIterable {
    case pending, running, shutoff, crashed, terminated, failed
}

/// What the operator wants of an instance.
public enum DesiredInstanceState: String, Codable, Sendable, CaseIterable {
    case running, terminated
}

/// The phases of one network boot, in boot order.
public enum BootPhase: String, Codable, Sendable, CaseIterable, CodingKeyRepresentable, Comparable {
    /// The firmware's DHCP answer (PXE ROM).
    case dhcp
    /// iPXE chain-loaded by the firmware asking DHCP again.
    case dhcpIPXE = "dhcp-ipxe"
    /// The node's iPXE script fetched over HTTP.
    case ipxe
    case kernel, initrd
    /// The initramfs' own DHCP, before mounting the root.
    case dhcpInitramfs = "dhcp-initramfs"
    /// The node controller enrolled.
    case enrolled

    /// Boot order.
    public static let order: [BootPhase] = allCases

    public static func < (a: BootPhase, b: BootPhase) -> Bool {
        order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// The result of one image check.
public enum CheckResult: String, Codable, Sendable, CaseIterable {
    case ok, failed, skipped
}

/// Where a node's boot went, as the node itself measured it (systemd's
/// timestamps and `systemd-analyze blame`): the server only sees the network
/// phases, the node sees the rest.
public struct BootTimings: Codable, Sendable, Equatable {
    /// Kernel start to userspace start: the kernel and the initramfs (DHCP, NFS mount).
    public var kernelSeconds: Double?
    /// The systemd initrd, when there is one (initramfs-tools has none).
    public var initrdSeconds: Double?
    /// Userspace start to the node controller's start.
    public var controllerStartSeconds: Double?
    /// Userspace start until boot finished (nil while it has not).
    public var userspaceSeconds: Double?
    /// The units that took longest to start, slowest first (once the boot has finished).
    public var slowestUnits: [UnitTime]

    public init(kernelSeconds: Double? = nil, initrdSeconds: Double? = nil, controllerStartSeconds: Double? = nil,
                userspaceSeconds: Double? = nil, slowestUnits: [UnitTime] = []) {
        self.kernelSeconds = kernelSeconds
        self.initrdSeconds = initrdSeconds
        self.controllerStartSeconds = controllerStartSeconds
        self.userspaceSeconds = userspaceSeconds
        self.slowestUnits = slowestUnits
    }

    /// Whether the boot had finished when these were taken.
    public var finished: Bool { userspaceSeconds != nil }

    /// One unit and how long it took to start.
    public struct UnitTime: Codable, Sendable, Equatable {
        public var unit: String
        public var seconds: Double

        public init(unit: String, seconds: Double) {
            self.unit = unit
            self.seconds = seconds
        }
    }
}

/// The node's firmware as the node itself sees it (its controller reports
/// it with the enrollment): UEFI or BIOS, and whether Secure Boot is on.
public struct NodePlatform: Codable, Sendable, Equatable {
    public enum Firmware: String, Codable, Sendable { case bios, uefi }

    public var firmware: Firmware
    /// Secure Boot on (UEFI's `SecureBoot` variable is 1); nil on BIOS or when unreadable.
    public var secureboot: Bool?

    public init(firmware: Firmware, secureboot: Bool?) {
        self.firmware = firmware
        self.secureboot = secureboot
    }

    /// `uefi, Secure Boot on` / `bios`.
    public var summary: String {
        firmware.rawValue + (secureboot.map { $0 ? ", Secure Boot on" : ", Secure Boot off" } ?? "")
    }
}

import ProvisionerAPI

/// A node's capacity as the registry's API and CLI print it (snake_case keys).
public struct CapacityJSON: Codable, Sendable {
    public var value: NodeCapacity

    public init(_ value: NodeCapacity) { self.value = value }

    enum CodingKeys: String, CodingKey {
        case coresMax = "cores_max", coresFree = "cores_free"
        case memoryMiBMax = "memory_mib_max", memoryMiBFree = "memory_mib_free"
        case diskMiBMax = "disk_mib_max", diskMiBFree = "disk_mib_free"
        case hypervisor
        case hardwareVirtualization = "hardware_virtualization"
        case hardwareVirtualizationReason = "hardware_virtualization_reason"
        case libvirtVersion = "libvirt_version"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = NodeCapacity(
            coresMax: try c.decode(Int.self, forKey: .coresMax), coresFree: try c.decode(Int.self, forKey: .coresFree),
            memoryMiBMax: try c.decode(Int.self, forKey: .memoryMiBMax), memoryMiBFree: try c.decode(Int.self, forKey: .memoryMiBFree),
            diskMiBMax: try c.decode(Int.self, forKey: .diskMiBMax), diskMiBFree: try c.decode(Int.self, forKey: .diskMiBFree),
            hypervisor: try c.decode(HypervisorKind.self, forKey: .hypervisor),
            hardwareVirtualization: try c.decode(Bool.self, forKey: .hardwareVirtualization),
            hardwareVirtualizationReason: try c.decodeIfPresent(String.self, forKey: .hardwareVirtualizationReason),
            libvirtVersion: try c.decodeIfPresent(String.self, forKey: .libvirtVersion))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(value.coresMax, forKey: .coresMax)
        try c.encode(value.coresFree, forKey: .coresFree)
        try c.encode(value.memoryMiBMax, forKey: .memoryMiBMax)
        try c.encode(value.memoryMiBFree, forKey: .memoryMiBFree)
        try c.encode(value.diskMiBMax, forKey: .diskMiBMax)
        try c.encode(value.diskMiBFree, forKey: .diskMiBFree)
        try c.encode(value.hypervisor, forKey: .hypervisor)
        try c.encode(value.hardwareVirtualization, forKey: .hardwareVirtualization)
        try c.encodeIfPresent(value.hardwareVirtualizationReason, forKey: .hardwareVirtualizationReason)
        try c.encodeIfPresent(value.libvirtVersion, forKey: .libvirtVersion)
    }
}

/// An instance as its node reports it, as the API and CLI print it (snake_case keys).
struct InstanceStatusJSON: Codable {
    var value: InstanceStatus

    init(_ value: InstanceStatus) { self.value = value }

    enum CodingKeys: String, CodingKey {
        case id, state, vcpus, message
        case memoryMiB = "memory_mib"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = InstanceStatus(id: try c.decode(String.self, forKey: .id), state: try c.decode(InstanceState.self, forKey: .state),
                               vcpus: try c.decode(Int.self, forKey: .vcpus), memoryMiB: try c.decode(Int.self, forKey: .memoryMiB),
                               message: try c.decodeIfPresent(String.self, forKey: .message))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(value.id, forKey: .id)
        try c.encode(value.state, forKey: .state)
        try c.encode(value.vcpus, forKey: .vcpus)
        try c.encode(value.memoryMiB, forKey: .memoryMiB)
        try c.encodeIfPresent(value.message, forKey: .message)
    }
}

/// What an instance runs, as the API and CLI print it (snake_case keys).
struct InstanceSpecJSON: Codable {
    var value: InstanceSpec

    init(_ value: InstanceSpec) { self.value = value }

    enum CodingKeys: String, CodingKey {
        case id, vcpus, kernel, initrd, cmdline, disk
        case memoryMiB = "memory_mib"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = InstanceSpec(id: try c.decode(String.self, forKey: .id), vcpus: try c.decode(Int.self, forKey: .vcpus),
                             memoryMiB: try c.decode(Int.self, forKey: .memoryMiB), kernel: try c.decodeIfPresent(String.self, forKey: .kernel),
                             initrd: try c.decodeIfPresent(String.self, forKey: .initrd), cmdline: try c.decodeIfPresent(String.self, forKey: .cmdline),
                             disk: try c.decodeIfPresent(String.self, forKey: .disk))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(value.id, forKey: .id)
        try c.encode(value.vcpus, forKey: .vcpus)
        try c.encode(value.memoryMiB, forKey: .memoryMiB)
        try c.encodeIfPresent(value.kernel, forKey: .kernel)
        try c.encodeIfPresent(value.initrd, forKey: .initrd)
        try c.encodeIfPresent(value.cmdline, forKey: .cmdline)
        try c.encodeIfPresent(value.disk, forKey: .disk)
    }
}

/// A node's own boot timings, as the API and CLI print them (snake_case keys).
public struct BootTimingsJSON: Codable, Sendable {
    public var value: BootTimings

    public init(_ value: BootTimings) { self.value = value }

    struct Unit: Codable {
        var unit: String
        var seconds: Double
    }

    enum CodingKeys: String, CodingKey {
        case kernelSeconds = "kernel_seconds", initrdSeconds = "initrd_seconds"
        case controllerStartSeconds = "controller_start_seconds", userspaceSeconds = "userspace_seconds"
        case slowestUnits = "slowest_units"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = BootTimings(kernelSeconds: try c.decodeIfPresent(Double.self, forKey: .kernelSeconds),
                            initrdSeconds: try c.decodeIfPresent(Double.self, forKey: .initrdSeconds),
                            controllerStartSeconds: try c.decodeIfPresent(Double.self, forKey: .controllerStartSeconds),
                            userspaceSeconds: try c.decodeIfPresent(Double.self, forKey: .userspaceSeconds),
                            slowestUnits: (try c.decodeIfPresent([Unit].self, forKey: .slowestUnits) ?? []).map { .init(unit: $0.unit, seconds: $0.seconds) })
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(value.kernelSeconds, forKey: .kernelSeconds)
        try c.encodeIfPresent(value.initrdSeconds, forKey: .initrdSeconds)
        try c.encodeIfPresent(value.controllerStartSeconds, forKey: .controllerStartSeconds)
        try c.encodeIfPresent(value.userspaceSeconds, forKey: .userspaceSeconds)
        try c.encode(value.slowestUnits.map { Unit(unit: $0.unit, seconds: $0.seconds) }, forKey: .slowestUnits)
    }
}

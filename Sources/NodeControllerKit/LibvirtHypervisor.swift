import CLibvirt
import FoundationEssentials
import Glibc
import ProvisionerAPI

/// The real `Hypervisor`: libvirt through its C API (`qemu:///system` on a node).
///
/// Touches only domains named with its prefix. Reconnects when the connection dies; when
/// libvirt cannot be reached, capacity comes from /proc with hypervisor "none".
public final class LibvirtHypervisor: Hypervisor, @unchecked Sendable {
    public struct Configuration: Sendable, Equatable {
        public var uri: String
        /// Directory measured for diskMiB*; nil means /var/lib/libvirt/images, else "/".
        public var scratchDir: String?
        /// Where each instance's serial console is written.
        public var consoleLogDir: String
        public var namePrefix: String
        public var host: HostPaths

        /// Where instance disks may be: the scratch directory, else libvirt's image directory.
        public var diskDirectory: String { scratchDir ?? "/var/lib/libvirt/images" }

        public init(uri: String = ControllerSettings.defaultLibvirtURI, scratchDir: String? = nil,
                    consoleLogDir: String = ControllerSettings.defaultConsoleLogDir,
                    namePrefix: String = "prov-", host: HostPaths = HostPaths()) {
            self.uri = uri
            self.scratchDir = scratchDir
            self.consoleLogDir = consoleLogDir
            self.namePrefix = namePrefix
            self.host = host
        }
    }

    /// How instances will run, decided from libvirt's capabilities and the host.
    public struct Virtualization: Sendable, Equatable {
        public var hypervisor: HypervisorKind
        public var hardware: Bool
        public var reason: String?
        /// `<domain type=…>` for new instances; nil when libvirt offers no hvm guest.
        public var domainType: String?
        public var arch: String?
    }

    public let configuration: Configuration
    private let log: Log
    private let probe: HostProbe
    private let lock = Lock()
    private var connection: LibvirtConnection?
    private var lastConnectFailure: String?

    public init(configuration: Configuration = Configuration(), log: Log = .standardError) {
        LibvirtRuntime.ensure()
        self.configuration = configuration
        self.log = log
        self.probe = HostProbe(paths: configuration.host)
    }

    // MARK: Connection

    /// Runs `body` with a live connection, opening one when needed.
    /// - Throws: `LibvirtError` when libvirt cannot be reached, or what `body` throws.
    func withConnection<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let conn = try liveConnectionLocked()
        do {
            return try body(conn.pointer)
        } catch {
            if !conn.isAlive {
                connection = nil
                log.warning("lost the connection to libvirt at \(configuration.uri): \(error)")
            }
            throw error
        }
    }

    private func liveConnectionLocked() throws -> LibvirtConnection {
        if let c = connection {
            if c.isAlive { return c }
            connection = nil
        }
        guard let pointer = virConnectOpen(configuration.uri) else {
            let error = LibvirtError.last("connecting to libvirt at \(configuration.uri)")
            if lastConnectFailure != error.message {
                log.warning(error.description)
                lastConnectFailure = error.message
            }
            throw error
        }
        let c = LibvirtConnection(pointer)
        connection = c
        lastConnectFailure = nil
        var version: UInt = 0
        let v = virConnectGetLibVersion(pointer, &version) == 0 ? "libvirt \(LibvirtRuntime.versionString(version))" : "version unknown"
        log.info("connected to libvirt at \(configuration.uri) (\(v))")
        return c
    }

    // MARK: Capacity

    public func capacity() -> NodeCapacity {
        do {
            return try withConnection { c in try capacity(c) }
        } catch {
            return probe.capacityWithoutLibvirt(scratchDir: configuration.scratchDir,
                                                reason: "libvirt is unreachable at \(configuration.uri): \(Self.message(error))")
        }
    }

    public func hostCapacity(reason: String) -> NodeCapacity {
        probe.capacityWithoutLibvirt(scratchDir: configuration.scratchDir, reason: reason)
    }

    /// kvm, qemu-tcg or none, and why not kvm.
    /// - Throws: `LibvirtError` when libvirt cannot be asked.
    public func virtualization() throws -> Virtualization {
        try withConnection { c in try virtualization(c) }
    }

    private func capacity(_ c: OpaquePointer) throws -> NodeCapacity {
        var info = virNodeInfo()
        guard virNodeGetInfo(c, &info) == 0 else { throw LibvirtError.last("virNodeGetInfo") }
        let freeBytes = virNodeGetFreeMemory(c)
        var packed: UInt = 0
        let version = virConnectGetLibVersion(c, &packed) == 0 ? LibvirtRuntime.versionString(packed) : nil
        let virt = try virtualization(c)
        let used = try listOwn(c).filter { $0.active }
        let usedVCPUs = used.reduce(0) { $0 + $1.status.vcpus }
        let usedMiB = used.reduce(0) { $0 + $1.status.memoryMiB }

        let coresMax = Int(info.cpus)
        let memoryMax = Int(info.memory / 1024)
        var memoryFree = memoryMax - usedMiB
        if freeBytes > 0 { memoryFree = min(memoryFree, Int(freeBytes / 1_048_576)) }
        let disk = HostProbe.diskMiB(HostProbe.scratchDirectory(configuration.scratchDir)) ?? (0, 0)
        return NodeCapacity(
            coresMax: coresMax, coresFree: max(0, coresMax - usedVCPUs),
            memoryMiBMax: memoryMax, memoryMiBFree: max(0, memoryFree),
            diskMiBMax: disk.max, diskMiBFree: disk.free,
            hypervisor: virt.hypervisor, hardwareVirtualization: virt.hardware,
            hardwareVirtualizationReason: virt.reason, libvirtVersion: version)
    }

    /// Called inside `withConnection` (the lock is held).
    func virtualization(_ c: OpaquePointer) throws -> Virtualization {
        guard let raw = virConnectGetCapabilities(c) else { throw LibvirtError.last("virConnectGetCapabilities") }
        defer { free(raw) }
        return Self.decide(LibvirtCapabilities(xml: String(cString: raw)), hostProblems: probe.kvmProblems())
    }

    /// KVM only when libvirt offers a kvm domain type and the host really has hardware
    /// virtualization; else QEMU's TCG when offered; else whatever the driver offers.
    static func decide(_ caps: LibvirtCapabilities, hostProblems: [String]) -> Virtualization {
        let arch = caps.preferredHVMArch
        let types = arch.map { caps.hvmDomainTypes(arch: $0) } ?? []
        var problems = hostProblems
        if !types.contains("kvm") {
            problems.append("libvirt reports no kvm domain type for \(arch ?? "any") hvm guests (asking for one fails with \"no supported architecture for os type 'hvm'\")")
        }
        if problems.isEmpty {
            return Virtualization(hypervisor: .kvm, hardware: true, reason: nil, domainType: "kvm", arch: arch)
        }
        if types.contains("qemu") {
            return Virtualization(hypervisor: .qemuTCG, hardware: false, reason: problems.joined(separator: "; "), domainType: "qemu", arch: arch)
        }
        let offered = types.isEmpty ? "no hvm guests at all" : "only domain type \(types.joined(separator: ", "))"
        problems.append("libvirt offers no qemu domain type (\(offered))")
        return Virtualization(hypervisor: .none, hardware: false, reason: problems.joined(separator: "; "), domainType: types.first, arch: arch)
    }

    static func message(_ error: any Error) -> String {
        if let e = error as? LibvirtError { return e.message }
        return "\(error)"
    }
}

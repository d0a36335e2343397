import FoundationEssentials
import Glibc
import ProvisionerAPI

/// What the host itself says about CPUs, memory, disk and KVM, without libvirt.
public struct HostProbe: Sendable {
    public var paths: HostPaths

    public init(paths: HostPaths = HostPaths()) { self.paths = paths }

    /// Logical CPUs from /proc/cpuinfo (`processor` lines); sysconf when unreadable.
    public func cpuCount() -> Int {
        if let text = readTextFile(paths.cpuinfo) {
            let n = text.split(separator: "\n").filter { $0.hasPrefix("processor") && $0.contains(":") }.count
            if n > 0 { return n }
        }
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// MemTotal and MemAvailable from /proc/meminfo, in MiB.
    public func memoryMiB() -> (total: Int, available: Int)? {
        guard let text = readTextFile(paths.meminfo) else { return nil }
        var fields: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            if parts.count >= 2, let kib = Int(parts[1]) { fields[String(parts[0])] = kib }
        }
        guard let total = fields["MemTotal"] else { return nil }
        let available = fields["MemAvailable"] ?? fields["MemFree"] ?? 0
        return (total / 1024, available / 1024)
    }

    /// Flags of the first CPU in /proc/cpuinfo.
    public func cpuFlags() -> Set<String> {
        guard let text = readTextFile(paths.cpuinfo) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// The firmware the host booted with: UEFI when the kernel has
    /// `/sys/firmware/efi`, and then Secure Boot from the last byte of its
    /// `SecureBoot` variable (nil when efivarfs is not readable).
    public func platform() -> NodePlatform {
        guard fileExists(paths.efi) else { return NodePlatform(firmware: .bios, secureboot: nil) }
        let fd = open(paths.secureBootVariable, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return NodePlatform(firmware: .uefi, secureboot: nil) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 16)
        let n = read(fd, &bytes, bytes.count)
        // 4 bytes of attributes, then the 1-byte value.
        guard n >= 5 else { return NodePlatform(firmware: .uefi, secureboot: nil) }
        return NodePlatform(firmware: .uefi, secureboot: bytes[n - 1] == 1)
    }

    /// Seconds since boot (first field of /proc/uptime).
    public func uptimeSeconds() -> Double? {
        guard let text = readTextFile(paths.uptime), let first = text.split(separator: " ").first else { return nil }
        return Double(first)
    }

    /// Why KVM cannot be used on this host, judged from the host alone; empty when it can.
    ///
    /// A `/dev/kvm` can exist without usable hardware virtualization (e.g. the PVM module
    /// `kvm_pvm` in a nested VM): vmx/svm and `kvm_intel`/`kvm_amd` are required too.
    public func kvmProblems() -> [String] {
        var problems: [String] = []
        let flags = cpuFlags()
        if !flags.contains("vmx") && !flags.contains("svm") {
            problems.append("no vmx/svm flag in \(paths.cpuinfo)")
        }
        if !fileExists(paths.devKVM) {
            problems.append("\(paths.devKVM) is missing")
        }
        let hasVendorModule = isDirectory(paths.modules + "/kvm_intel") || isDirectory(paths.modules + "/kvm_amd")
        if !hasVendorModule {
            var line = "kvm_intel/kvm_amd module not loaded"
            let others = directoryEntries(paths.modules).filter { $0.hasPrefix("kvm_") }
            if !others.isEmpty { line += " (only \(others.joined(separator: ", ")))" }
            else if !isDirectory(paths.modules + "/kvm") { line += " (no kvm module at all)" }
            problems.append(line)
        }
        return problems
    }

    /// Size and free space of the file system holding `directory` (statvfs), in MiB.
    public static func diskMiB(_ directory: String) -> (max: Int, free: Int)? {
        var st = statvfs()
        guard statvfs(directory, &st) == 0 else { return nil }
        let unit = UInt64(st.f_frsize == 0 ? st.f_bsize : st.f_frsize)
        return (Int(UInt64(st.f_blocks) * unit / 1_048_576), Int(UInt64(st.f_bavail) * unit / 1_048_576))
    }

    /// The scratch directory to measure: the configured one, else libvirt's image
    /// directory, else "/" — whichever exists first.
    public static func scratchDirectory(_ configured: String?) -> String {
        for candidate in [configured, "/var/lib/libvirt/images"].compactMap({ $0 }) where isDirectory(candidate) {
            return candidate
        }
        return "/"
    }

    /// Capacity from the host alone, for when libvirt cannot be reached.
    public func capacityWithoutLibvirt(scratchDir: String?, reason: String) -> NodeCapacity {
        let cores = cpuCount()
        let mem = memoryMiB() ?? (0, 0)
        let disk = Self.diskMiB(Self.scratchDirectory(scratchDir)) ?? (0, 0)
        return NodeCapacity(coresMax: cores, coresFree: cores, memoryMiBMax: mem.total, memoryMiBFree: mem.available,
                            diskMiBMax: disk.max, diskMiBFree: disk.free, hypervisor: .none,
                            hardwareVirtualization: false, hardwareVirtualizationReason: reason, libvirtVersion: nil)
    }
}

import ProvisionerAPI

/// The seam to the virtualization layer of a node: what it can run and what it runs.
///
/// Calls block (libvirt is synchronous); the controller calls them one at a time.
public protocol Hypervisor: Sendable {
    /// Capacity for enroll and heartbeats. Never fails: when the hypervisor is unreachable
    /// it reports the host's own numbers with hypervisor "none" and the reason.
    func capacity() -> NodeCapacity
    /// The host's own numbers without asking the hypervisor (hypervisor "none",
    /// `reason` as why): what goes out while the hypervisor does not answer.
    func hostCapacity(reason: String) -> NodeCapacity
    /// This controller's instances (only those it created).
    /// - Throws: when the hypervisor cannot be asked.
    func instances() throws -> [InstanceStatus]
    /// Defines and starts an instance.
    /// - Throws: naming the instance and the hypervisor's message.
    func start(_ spec: InstanceSpec) throws
    /// Stops and forgets an instance; an unknown id is not an error.
    /// - Throws: naming the instance and the hypervisor's message.
    func terminate(id: String) throws
}

extension Hypervisor {
    public func hostCapacity(reason: String) -> NodeCapacity {
        HostProbe().capacityWithoutLibvirt(scratchDir: nil, reason: reason)
    }
}

/// Checks on an `InstanceSpec` before anything is handed to a hypervisor.
public enum InstanceSpecRules {
    public static let maxIDLength = 64

    /// - Throws: `ControllerError` naming the instance and the bad value.
    public static func validate(_ spec: InstanceSpec) throws {
        try validateID(spec.id)
        guard (1...512).contains(spec.vcpus) else {
            throw ControllerError("instance \(spec.id): invalid vcpus \(spec.vcpus) (expected 1-512)")
        }
        guard (16...(16 * 1024 * 1024)).contains(spec.memoryMiB) else {
            throw ControllerError("instance \(spec.id): invalid memoryMiB \(spec.memoryMiB) (expected 16 MiB to 16 TiB)")
        }
        guard spec.kernel != nil || spec.disk != nil else {
            throw ControllerError("instance \(spec.id): neither kernel nor disk given")
        }
        if spec.kernel == nil && (spec.initrd != nil || spec.cmdline != nil) {
            throw ControllerError("instance \(spec.id): initrd/cmdline given without a kernel")
        }
        for (name, value) in [("kernel", spec.kernel), ("initrd", spec.initrd), ("disk", spec.disk)] {
            guard let value else { continue }
            guard value.hasPrefix("/") else {
                throw ControllerError("instance \(spec.id): \(name) \"\(value)\" is not an absolute path on the node (URLs are not fetched)")
            }
            try rejectControlCharacters(spec.id, name, value)
        }
        if let cmdline = spec.cmdline { try rejectControlCharacters(spec.id, "cmdline", cmdline) }
    }

    /// The server names an instance's disk, and the instance writes to it: only
    /// a path below the node's disk directory (no `.` or `..` on the way) is
    /// taken, never a device or another file of the node's (`/dev/sda`).
    /// - Throws: `ControllerError` naming the instance, the path and the directory.
    public static func validateDisk(_ spec: InstanceSpec, directory: String) throws {
        guard let disk = spec.disk else { return }
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let below = disk.hasPrefix(dir + "/") ? disk.dropFirst(dir.count + 1) : nil
        let parts = below.map { $0.split(separator: "/", omittingEmptySubsequences: false) } ?? []
        guard !dir.isEmpty, let below, !below.isEmpty, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw ControllerError("instance \(spec.id): disk \"\(disk)\" is not below the node's disk directory \(dir)")
        }
    }

    /// An id becomes part of a libvirt domain name: printable, no "/", at most 64 characters.
    /// - Throws: `ControllerError` naming the id.
    public static func validateID(_ id: String) throws {
        guard !id.isEmpty, id.count <= maxIDLength else {
            throw ControllerError("invalid instance id \"\(id)\" (expected 1-\(maxIDLength) characters)")
        }
        guard !id.contains("/") else { throw ControllerError("invalid instance id \"\(id)\" (contains \"/\")") }
        if id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ControllerError("invalid instance id \(String(reflecting: id)) (contains a control character)")
        }
    }

    /// XML 1.0 cannot carry most control characters, not even escaped.
    static func rejectControlCharacters(_ id: String, _ field: String, _ value: String) throws {
        if value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F || $0.value == 0xFFFE || $0.value == 0xFFFF }) {
            throw ControllerError("instance \(id): \(field) \(String(reflecting: value)) contains a control character")
        }
    }
}

import CLibvirt
import FoundationEssentials
import Glibc
import ProvisionerAPI

extension LibvirtHypervisor {
    struct OwnDomain {
        var status: InstanceStatus
        var active: Bool
    }

    public func instances() throws -> [InstanceStatus] {
        try withConnection { c in try listOwn(c).map(\.status) }
    }

    public func start(_ spec: InstanceSpec) throws {
        try InstanceSpecRules.validate(spec)
        try InstanceSpecRules.validateDisk(spec, directory: configuration.diskDirectory)
        if let disk = spec.disk {
            // Below the directory as the file system resolves it too (a linked
            // directory on the way is followed), and only a regular file: never a
            // link or a device.
            let parent = String(disk[..<(disk.lastIndex(of: "/") ?? disk.startIndex)])
            guard let dir = Self.resolved(configuration.diskDirectory), let real = Self.resolved(parent),
                  real == dir || real.hasPrefix(dir == "/" ? "/" : dir + "/") else {
                throw ControllerError("starting instance \(spec.id): disk \(disk) does not resolve below the disk directory \(configuration.diskDirectory)")
            }
            var st = stat()
            if lstat(disk, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
                throw ControllerError("starting instance \(spec.id): disk \(disk) is not a regular file")
            }
        }
        let name = DomainXML.domainName(prefix: configuration.namePrefix, id: spec.id)
        try withConnection { c in
            if let existing = virDomainLookupByName(c, name) {
                virDomainFree(existing)
                throw ControllerError("starting instance \(spec.id): a domain named \(name) already exists")
            }
            let virt = try virtualization(c)
            guard let type = virt.domainType, let arch = virt.arch else {
                throw ControllerError("starting instance \(spec.id): libvirt at \(configuration.uri) offers no hvm guest (\(virt.reason ?? ""))")
            }
            let logPath = DomainXML.consoleLogPath(directory: configuration.consoleLogDir, prefix: configuration.namePrefix, id: spec.id)
            do {
                try FileManager.default.createDirectory(atPath: configuration.consoleLogDir, withIntermediateDirectories: true)
            } catch {
                throw ControllerError("starting instance \(spec.id): creating console log directory \(configuration.consoleLogDir): \(error)")
            }
            let xml = DomainXML(domainType: type, arch: arch, name: name, consoleLog: logPath)
                .render(spec, diskFormat: spec.disk.map(DomainXML.diskFormat) ?? "raw")
            guard let domain = virDomainDefineXML(c, xml) else {
                throw LibvirtError.last("defining instance \(spec.id)")
            }
            defer { virDomainFree(domain) }
            if virDomainCreate(domain) != 0 {
                let error = LibvirtError.last("starting instance \(spec.id)")
                _ = virDomainUndefine(domain)
                throw error
            }
        }
    }

    /// `path` with every link resolved (realpath(3)); nil when it does not exist.
    static func resolved(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    public func terminate(id: String) throws {
        guard (try? InstanceSpecRules.validateID(id)) != nil else { return }
        let name = DomainXML.domainName(prefix: configuration.namePrefix, id: id)
        try withConnection { c in
            guard let domain = virDomainLookupByName(c, name) else {
                let error = LibvirtError.last("looking up instance \(id)")
                if error.isNoDomain { return }
                throw error
            }
            defer { virDomainFree(domain) }
            if virDomainIsActive(domain) == 1, virDomainDestroy(domain) != 0 {
                throw LibvirtError.last("destroying instance \(id)")
            }
            if virDomainIsPersistent(domain) == 1, virDomainUndefine(domain) != 0 {
                throw LibvirtError.last("undefining instance \(id)")
            }
        }
    }

    /// The domain XML libvirt holds for an instance (for tests and diagnostics).
    /// - Throws: `LibvirtError` when there is no such instance.
    public func domainXML(id: String) throws -> String {
        let name = DomainXML.domainName(prefix: configuration.namePrefix, id: id)
        return try withConnection { c in
            guard let domain = virDomainLookupByName(c, name) else { throw LibvirtError.last("looking up instance \(id)") }
            defer { virDomainFree(domain) }
            guard let raw = virDomainGetXMLDesc(domain, 0) else { throw LibvirtError.last("reading XML of instance \(id)") }
            defer { free(raw) }
            return String(cString: raw)
        }
    }

    /// Every domain with the prefix, active or not.
    func listOwn(_ c: OpaquePointer) throws -> [OwnDomain] {
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let count = virConnectListAllDomains(c, &list, 0)
        guard count >= 0 else { throw LibvirtError.last("listing domains") }
        defer {
            if let list {
                for i in 0..<Int(count) { if let d = list[i] { virDomainFree(d) } }
                free(list)
            }
        }
        guard let list else { return [] }
        var out: [OwnDomain] = []
        for i in 0..<Int(count) {
            guard let d = list[i], let rawName = virDomainGetName(d) else { continue }
            let name = String(cString: rawName)
            guard name.hasPrefix(configuration.namePrefix) else { continue }
            let id = String(name.dropFirst(configuration.namePrefix.count))
            var state: Int32 = 0
            var reason: Int32 = 0
            var info = virDomainInfo()
            guard virDomainGetState(d, &state, &reason, 0) == 0, virDomainGetInfo(d, &info) == 0 else {
                let error = LibvirtError.last("reading state of instance \(id)")
                if error.isNoDomain { continue }  // vanished while listing
                throw error
            }
            let mapped = Self.apiState(state: state, reason: reason)
            out.append(OwnDomain(
                status: InstanceStatus(id: id, state: mapped, vcpus: Int(info.nrVirtCpu), memoryMiB: Int(info.maxMem / 1024)),
                active: virDomainIsActive(d) == 1))
        }
        return out.sorted { $0.status.id < $1.status.id }
    }

    /// libvirt's state and reason → the API's instance state.
    static func apiState(state: Int32, reason: Int32) -> InstanceState {
        switch UInt32(bitPattern: state) {
        case VIR_DOMAIN_RUNNING.rawValue, VIR_DOMAIN_BLOCKED.rawValue, VIR_DOMAIN_SHUTDOWN.rawValue:
            return .running
        case VIR_DOMAIN_SHUTOFF.rawValue:
            switch UInt32(bitPattern: reason) {
            case VIR_DOMAIN_SHUTOFF_CRASHED.rawValue: return .crashed
            case VIR_DOMAIN_SHUTOFF_FAILED.rawValue: return .failed
            default: return .shutoff
            }
        case VIR_DOMAIN_CRASHED.rawValue:
            return .crashed
        default:  // nostate, paused, pmsuspended
            return .pending
        }
    }
}

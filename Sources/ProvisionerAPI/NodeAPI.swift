/// The wire contract between `provisioner serve` and the node controllers:
/// JSON bodies of the enrollment and heartbeat endpoints. No dependencies, so
/// the static node controller carries it cheaply.
///
/// Flow: a booted node POSTs `EnrollRequest` to `/api/v1/enroll` with its
/// single-use boot credential (`token`): the one in its iPXE script
/// (`provisioner.token=` on its kernel command line), which serve mints when
/// it hands the script to the node's own address, or one it asked for. The
/// server checks credential, MAC and source IP, uses the credential up, and
/// answers `EnrollResponse` with a heartbeat credential. The node then POSTs
/// `Heartbeat` to `/api/v1/heartbeat` every `heartbeatSeconds` (with jitter)
/// with `Authorization: Bearer <credential>`; the answer carries the instance
/// commands for that node. A 401 or 409 on a heartbeat means "get a new boot
/// credential and enroll again" (e.g. after a server restart).
///
/// A node whose boot files carry no credential (pxelinux and GRUB read theirs
/// over TFTP, which answers anyone), or whose credential was used or refused,
/// POSTs `NodeTokenRequest` to `/api/v1/node-token` from its own address
/// (answered while the node is not up, i.e. sends no heartbeats) for a new one.
public enum NodeAPI {
    public static let enrollPath = "/api/v1/enroll"
    public static let heartbeatPath = "/api/v1/heartbeat"
    public static let tokenPath = "/api/v1/node-token"
    /// Largest request body the server accepts on these endpoints.
    public static let maxBodyBytes = 64 * 1024
}

/// What a node can run: Eucalyptus' `ncDescribeResource`, plus why not.
public struct NodeCapacity: Codable, Sendable, Equatable {
    public var coresMax: Int
    public var coresFree: Int
    public var memoryMiBMax: Int
    public var memoryMiBFree: Int
    public var diskMiBMax: Int
    public var diskMiBFree: Int
    public var hypervisor: HypervisorKind
    /// Hardware virtualization usable by libvirt (KVM).
    public var hardwareVirtualization: Bool
    /// Why hardware virtualization is not usable, when it is not.
    public var hardwareVirtualizationReason: String?
    /// libvirt's version, e.g. "9.0.0"; nil when libvirt is not reachable.
    public var libvirtVersion: String?

    public init(coresMax: Int, coresFree: Int, memoryMiBMax: Int, memoryMiBFree: Int, diskMiBMax: Int, diskMiBFree: Int, hypervisor: HypervisorKind, hardwareVirtualization: Bool, hardwareVirtualizationReason: String?, libvirtVersion: String?) {
        self.coresMax = coresMax
        self.coresFree = coresFree
        self.memoryMiBMax = memoryMiBMax
        self.memoryMiBFree = memoryMiBFree
        self.diskMiBMax = diskMiBMax
        self.diskMiBFree = diskMiBFree
        self.hypervisor = hypervisor
        self.hardwareVirtualization = hardwareVirtualization
        self.hardwareVirtualizationReason = hardwareVirtualizationReason
        self.libvirtVersion = libvirtVersion
    }
}

/// A VM instance as the node controller sees it.
public struct InstanceStatus: Codable, Sendable, Equatable {
    public var id: String
    public var state: InstanceState
    public var vcpus: Int
    public var memoryMiB: Int
    public var message: String?

    public init(id: String, state: InstanceState, vcpus: Int, memoryMiB: Int, message: String? = nil) {
        self.id = id
        self.state = state
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.message = message
    }
}

/// What the server asks a node to run.
public struct InstanceSpec: Codable, Sendable, Equatable {
    public var id: String
    public var vcpus: Int
    public var memoryMiB: Int
    /// Direct kernel boot (paths or URLs the node can read), or a disk image.
    public var kernel: String?
    public var initrd: String?
    public var cmdline: String?
    public var disk: String?

    public init(id: String, vcpus: Int, memoryMiB: Int, kernel: String? = nil, initrd: String? = nil, cmdline: String? = nil, disk: String? = nil) {
        self.id = id
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.kernel = kernel
        self.initrd = initrd
        self.cmdline = cmdline
        self.disk = disk
    }
}

public struct EnrollRequest: Codable, Sendable, Equatable {
    /// The boot MAC, lowercase colon form.
    public var mac: String
    public var hostname: String
    public var ip: String
    /// The single-use boot credential (from the kernel command line, or asked for).
    public var token: String
    /// "<image>/<generation>" from `provisioner.image=`.
    public var image: String?
    public var capacity: NodeCapacity
    public var instances: [InstanceStatus]
    /// Boot-relative seconds (from /proc/uptime) at enrollment.
    public var uptimeSeconds: Double?
    public var controllerVersion: String
    /// Where the node's own boot went, as far as it has got (nil from older controllers).
    public var bootTimings: BootTimings?
    /// The node's firmware and Secure Boot state (nil from older controllers).
    public var platform: NodePlatform?
    /// Proof that the node holds the key its TPM keeps (nil on a node without a TPM).
    public var tpm: TPMProof?

    public init(mac: String, hostname: String, ip: String, token: String, image: String?, capacity: NodeCapacity, instances: [InstanceStatus],
                uptimeSeconds: Double?, controllerVersion: String, bootTimings: BootTimings? = nil, platform: NodePlatform? = nil,
                tpm: TPMProof? = nil) {
        self.tpm = tpm
        self.bootTimings = bootTimings
        self.platform = platform
        self.mac = mac
        self.hostname = hostname
        self.ip = ip
        self.token = token
        self.image = image
        self.capacity = capacity
        self.instances = instances
        self.uptimeSeconds = uptimeSeconds
        self.controllerVersion = controllerVersion
    }
}

public struct EnrollResponse: Codable, Sendable, Equatable {
    /// The registered hostname of this node.
    public var hostname: String
    /// Bearer credential for heartbeats; valid until the server restarts or the node re-enrolls.
    public var credential: String
    public var heartbeatSeconds: Double
    /// How to join the site's cloud (an Incus cluster), when it has one and the node may join now.
    public var cloud: CloudJoin?
    /// Why the node does not join the cloud now (the cloud unreachable, the quorum guard), when it has one.
    public var cloudPending: String?

    public init(hostname: String, credential: String, heartbeatSeconds: Double, cloud: CloudJoin? = nil, cloudPending: String? = nil) {
        self.hostname = hostname
        self.credential = credential
        self.heartbeatSeconds = heartbeatSeconds
        self.cloud = cloud
        self.cloudPending = cloudPending
    }
}

/// A node's way into the site's Incus cluster, minted for this boot: the
/// node controller asks its own incusd (on its local socket) to join with it.
/// The token is single-use and expires; it travels only in the enrollment's
/// answer, over the node API's TLS.
public struct CloudJoin: Codable, Sendable, Equatable {
    /// The member's name: the node's hostname.
    public var serverName: String
    /// Where the node's incusd listens for the cluster: `NODE_IP:PORT`.
    public var serverAddress: String
    /// A member of the cluster to join through: `HOST:PORT`.
    public var clusterAddress: String
    /// The cluster's certificate (PEM), which the joining daemon checks the cluster against.
    public var clusterCertificate: String
    /// The join token (`POST /1.0/cluster/members`).
    public var token: String
    /// The member-specific settings the cluster asks of a joiner (a storage pool's source…).
    public var memberConfig: [CloudMemberConfig]

    public init(serverName: String, serverAddress: String, clusterAddress: String, clusterCertificate: String, token: String,
                memberConfig: [CloudMemberConfig]) {
        self.serverName = serverName
        self.serverAddress = serverAddress
        self.clusterAddress = clusterAddress
        self.clusterCertificate = clusterCertificate
        self.token = token
        self.memberConfig = memberConfig
    }
}

/// One member-specific key a joiner answers (Incus's `member_config`).
public struct CloudMemberConfig: Codable, Sendable, Equatable {
    public var entity: String
    public var name: String
    public var key: String
    public var value: String
    public init(entity: String, name: String, key: String, value: String) {
        self.entity = entity
        self.name = name
        self.key = key
        self.value = value
    }
}

/// The node's standing in the cloud, as its heartbeats report it.
public struct CloudMemberReport: Codable, Sendable, Equatable {
    /// joined: a member of the cluster; pending: not (yet), with the reason.
    public var state: String
    public var reason: String?
    public init(state: String, reason: String? = nil) {
        self.state = state
        self.reason = reason
    }
}

public struct Heartbeat: Codable, Sendable, Equatable {
    public var capacity: NodeCapacity
    public var instances: [InstanceStatus]
    /// Strictly increasing per credential; a replayed or stale sequence is rejected.
    public var sequence: Int
    /// The boot's timings once the node's boot has finished (sent once, with the first heartbeat after it).
    public var bootTimings: BootTimings?
    /// Its standing in the site's cloud (nil: the site has none, or an older controller).
    public var cloud: CloudMemberReport?

    public init(capacity: NodeCapacity, instances: [InstanceStatus], sequence: Int, bootTimings: BootTimings? = nil, cloud: CloudMemberReport? = nil) {
        self.cloud = cloud
        self.bootTimings = bootTimings
        self.capacity = capacity
        self.instances = instances
        self.sequence = sequence
    }
}

public struct HeartbeatResponse: Codable, Sendable, Equatable {
    /// Instances this node must run (start those it does not have).
    public var run: [InstanceSpec]
    /// Instance ids to terminate.
    public var terminate: [String]
    public var heartbeatSeconds: Double
    /// A new join for a node that reported itself pending in the cloud (retried at most every 30 s).
    public var cloud: CloudJoin?
    /// Why it still may not join, when the retry was refused.
    public var cloudPending: String?

    public init(run: [InstanceSpec] = [], terminate: [String] = [], heartbeatSeconds: Double, cloud: CloudJoin? = nil, cloudPending: String? = nil) {
        self.run = run
        self.terminate = terminate
        self.heartbeatSeconds = heartbeatSeconds
        self.cloud = cloud
        self.cloudPending = cloudPending
    }
}

/// The body of every 4xx/5xx answer of the API: the message for people, and
/// for scripts its kind and, for a clash, the field, the value and its holder.
public struct APIError: Codable, Sendable, Equatable {
    public var error: String
    public var kind: FailureKind?
    public var field: String?
    public var value: String?
    public var holder: String?

    public init(error: String, kind: FailureKind? = nil, field: String? = nil, value: String? = nil, holder: String? = nil) {
        self.error = error
        self.kind = kind
        self.field = field
        self.value = value
        self.holder = holder
    }
}

/// A node asking for a boot credential (its boot files carry none, or its one was used or refused).
public struct NodeTokenRequest: Codable, Sendable, Equatable {
    /// The boot MAC, lowercase colon form.
    public var mac: String

    public init(mac: String) { self.mac = mac }
}

/// A new single-use boot credential for the node.
public struct NodeTokenResponse: Codable, Sendable, Equatable {
    public var token: String

    public init(token: String) { self.token = token }
}

/// A node's proof, at enrollment, that it holds the signing key its TPM
/// keeps (a primary key of the owner hierarchy: the same on every boot of the
/// same TPM, never outside it): the key's public half and its signature over
/// `message(mac:token:)`, which names the boot's single-use credential, so a
/// proof is good for one enrollment only.
public struct TPMProof: Codable, Sendable, Equatable {
    /// The public key, PEM (SubjectPublicKeyInfo, ECDSA P-256).
    public var publicKey: String
    /// The ECDSA-SHA256 signature, DER, base64.
    public var signature: String

    public init(publicKey: String, signature: String) {
        self.publicKey = publicKey
        self.signature = signature
    }

    /// What the key signs for an enrollment of `mac` with the boot credential `token`.
    public static func message(mac: String, token: String) -> [UInt8] {
        Array("provisioner-enroll-v1\n\(mac)\n\(token)\n".utf8)
    }
}

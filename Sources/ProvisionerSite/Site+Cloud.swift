import Foundation
import ProvisionerAPI
import ProvisionerCloud
import ProvisionerCore
import ProvisionerPlatform

/// The site's cloud: an Incus cluster the provisioning server attaches to
/// (or makes, with itself as its first member), whose members it lists, and
/// into which it lets each booted node join with a token of its own.
extension Site {
    /// `<home>/cloud/`: the provisioning server's client certificate and key
    /// (how the cluster knows it) and the cluster's certificate (pinned).
    public var cloudDir: String { home + "/cloud" }
    var cloudClientCertificate: String { cloudDir + "/client.crt" }
    var cloudClientKey: String { cloudDir + "/client.key" }
    var cloudClusterCertificate: String { cloudDir + "/cluster.crt" }

    /// What `cloud attach` and `cloud init` report.
    public struct CloudAttachment: Sendable, Encodable {
        public var endpoint: String
        public var fingerprint: String
        public var members: [String]
    }

    /// Attaches the site to an existing Incus cluster: the certificate at
    /// `endpoint` must be the one the trust token names (pinned from then
    /// on); a client certificate made here is added to the cluster's trust
    /// with the token. Nothing is written unless all of it worked.
    /// - Throws: `ValidationError` for a bad endpoint or token, `SystemError`
    ///   naming what the cluster said or why it cannot be reached.
    public func cloudAttach(endpoint: String, trustToken: String) throws -> CloudAttachment {
        let (host, port) = try CloudSettings.endpoint(endpoint, field: "endpoint")
        let token = try IncusToken(parsing: trustToken, field: "trust token")
        _ = try loadConfig()
        let clusterPEM = try PeerCertificate.fetch(host: host, port: port)
        let presented = SiteTLS.fingerprint(pem: clusterPEM) ?? "?"
        guard presented == token.fingerprint else {
            throw SystemError("the certificate at \(endpoint) (sha256 \(presented)) is not the one the trust token names (\(token.fingerprint)): "
                              + "a different cluster, or someone in between; nothing was written")
        }
        let client = try SiteTLS.makeClientCertificate(name: "provisioner@\(Site.machineName())")
        let incus = try IncusClient(.https(host: host, port: port, clusterCertificatePEM: clusterPEM,
                                           clientCertificatePEM: client.certificatePEM, clientKeyPEM: client.privateKeyPEM))
        try incus.trust(with: token.text)
        return try recordCloud(incus, endpoint: "https://\(host):\(port)", clusterPEM: clusterPEM, client: client)
    }

    /// Makes the provisioning server's own incusd (at `socket`) the first,
    /// persistent member of a new cluster (or takes it as it is when it is
    /// one): it listens at `address`, has a `dir` storage pool `default`,
    /// and trusts a client certificate made here.
    public func cloudInit(socket: String, address: String, name: String?) throws -> CloudAttachment {
        let (host, port) = try CloudSettings.endpoint("https://" + address, field: "address")
        let config = try loadConfig()
        let memberName = name ?? config.bootServerName?.value ?? Site.machineName()
        _ = try Hostname(parsing: memberName)
        let local = try IncusClient(.socket(socket))
        var info = try local.info()
        if !info.clustered {
            try local.setConfig(["core.https_address": "\(host):\(port)"])
            try local.ensureStoragePool("default", driver: "dir")
            try local.enableClustering(serverName: memberName)
            info = try local.info()
        }
        let client = try SiteTLS.makeClientCertificate(name: "provisioner@\(Site.machineName())")
        try local.trust(certificatePEM: client.certificatePEM, name: "provisioner")
        let incus = try IncusClient(.https(host: host, port: port, clusterCertificatePEM: info.certificatePEM,
                                           clientCertificatePEM: client.certificatePEM, clientKeyPEM: client.privateKeyPEM))
        return try recordCloud(incus, endpoint: "https://\(host):\(port)", clusterPEM: info.certificatePEM, client: client)
    }

    /// Checks the cluster trusts us over HTTPS, then writes the files and the config.
    private func recordCloud(_ incus: IncusClient, endpoint: String, clusterPEM: String,
                             client: (certificatePEM: String, privateKeyPEM: String)) throws -> CloudAttachment {
        let info = try incus.info()
        guard info.auth == "trusted" else { throw SystemError("\(endpoint) does not trust this server's certificate (auth: \(info.auth))") }
        guard info.clustered else { throw SystemError("\(endpoint) is not a member of a cluster: make it one (`incus cluster enable NAME`) or use `cloud init`") }
        let members = try incus.members().map(\.name)
        guard let fingerprint = SiteTLS.fingerprint(pem: clusterPEM) else { throw SystemError("the cluster's certificate cannot be read") }
        try FileSystem.makeDirectory(cloudDir)
        chmod(cloudDir, 0o700)
        try FileSystem.writeAtomically(Data(client.privateKeyPEM.utf8), to: cloudClientKey, mode: 0o600)
        try FileSystem.writeAtomically(Data(client.certificatePEM.utf8), to: cloudClientCertificate, mode: 0o644)
        try FileSystem.writeAtomically(Data(clusterPEM.utf8), to: cloudClusterCertificate, mode: 0o644)
        try setConfigValue("cloud.endpoint", to: endpoint)
        try setConfigValue("cloud.fingerprint", to: fingerprint)
        try setConfigValue("cloud.engine", to: CloudEngine.incus.rawValue)
        return CloudAttachment(endpoint: endpoint, fingerprint: fingerprint, members: members)
    }

    /// A client of the site's cluster, with the files `cloud attach` or `cloud init` wrote.
    /// - Throws: `SystemError` when the site has no Incus cloud or its files are gone.
    public func cloudClient(_ config: SiteConfig, timeoutSeconds: Int64 = 30) throws -> IncusClient {
        guard let cloud = config.cloud, cloud.engine == .incus, let endpoint = cloud.endpoint, let pinned = cloud.fingerprint else {
            throw SystemError("the site has no Incus cloud: `provisioner cloud attach incus https://HOST:8443 --trust-token T` or `provisioner cloud init`")
        }
        let (host, port) = try CloudSettings.endpoint(endpoint)
        func text(_ path: String) throws -> String {
            guard let data = FileSystem.read(path) else { throw SystemError("\(path) is missing: attach the cloud again") }
            return String(decoding: data, as: UTF8.self)
        }
        let clusterPEM = try text(cloudClusterCertificate)
        guard SiteTLS.fingerprint(pem: clusterPEM) == pinned else {
            throw SystemError("\(cloudClusterCertificate) is not the certificate the config pins (cloud.fingerprint \(pinned))")
        }
        return try IncusClient(.https(host: host, port: port, clusterCertificatePEM: clusterPEM,
                                      clientCertificatePEM: try text(cloudClientCertificate), clientKeyPEM: try text(cloudClientKey)),
                               timeoutSeconds: timeoutSeconds)
    }

    /// A member as `cloud status` shows it.
    public struct CloudMemberStatus: Sendable, Encodable {
        public var name: String
        public var url: String
        public var roles: [String]
        public var status: String
        public var message: String
        public var cpus: Int?
        public var memoryBytes: Int64?
    }

    /// The cluster's members with their roles, status and capacity.
    public func cloudStatus() throws -> [CloudMemberStatus] {
        let incus = try cloudClient(try loadConfig())
        return try incus.members().map { m in
            let resources = m.status == "ONLINE" ? try? incus.resources(of: m.name) : nil
            return CloudMemberStatus(name: m.name, url: m.url, roles: m.roles, status: m.status, message: m.message,
                                     cpus: resources?.cpus, memoryBytes: resources?.memoryBytes)
        }
    }

    /// What a node is given to join the cluster at this boot: a member of its
    /// name that is OFFLINE (its last boot) is removed first; a live one
    /// never is, and the quorum guard may refuse a node that keeps no state.
    /// - Parameters:
    ///   - persistent: whether the node keeps its cluster state across boots (`persist: disk`).
    ///   - persistentMembers: the members that keep theirs (the provisioning server's, disk nodes', others').
    /// - Returns: the join, or why the node does not join now.
    /// The members that keep their cluster state across restarts: those that
    /// are not the site's nodes (the provisioning server's, a site's own
    /// machines), and the site's nodes whose profile says `persist: disk`.
    public static func persistentMembers(_ members: [IncusClient.Member], node: (String) -> Node?, config: SiteConfig) -> Set<String> {
        Set(members.map(\.name).filter { name in
            guard let n = node(name) else { return true }
            return config.profile(n.profile)?.persist == .disk
        })
    }

    /// - Returns: the join and the operation of its token (cancel it to revoke the token), or why not.
    public static func cloudJoin(_ incus: IncusClient, node: String, address: String, persistent: Bool,
                                 persistentMembers: (([IncusClient.Member]) -> Set<String>)) throws -> Result<(join: CloudJoin, operation: String), CloudRefusal> {
        let members = try incus.members()
        switch CloudRules.before(joining: node, members: members.map(\.rule)) {
        case .refuse(let why): return .failure(CloudRefusal(why))
        case .removeThenMint: try incus.removeMember(node, force: true)
        case .mint: break
        }
        if !persistent, let why = CloudRules.quorumRefusal(joining: node, members: members.map(\.rule), persistent: persistentMembers(members)) {
            return .failure(CloudRefusal(why))
        }
        let info = try incus.info()
        let (token, operation) = try incus.mintJoinToken(node)
        do {
            let clusterAddress = members.first { $0.status == "ONLINE" && $0.name != node }.flatMap { URL(string: $0.url) }
                .map { "\($0.host ?? ""):\($0.port ?? CloudSettings.defaultMemberPort)" }
            guard let clusterAddress else { throw SystemError("no ONLINE member to join through") }
            return .success((CloudJoin(serverName: node, serverAddress: address, clusterAddress: clusterAddress,
                                       clusterCertificate: info.certificatePEM, token: token, memberConfig: try incus.memberConfig()), operation))
        } catch {
            incus.revoke(operation: operation)  // never leave a usable token behind
            throw error
        }
    }

    /// Evacuates a member before its node goes down for work (a rollout, a
    /// repair), or restores it after: Incus moves or stops its instances and
    /// places none there meanwhile.
    /// - Throws: `SystemError` with Incus's words (no such member, already so).
    public func cloudMember(_ name: String, action: CloudMemberAction) throws {
        _ = try Hostname(parsing: name)
        try cloudClient(try loadConfig()).setMemberState(name, action: action.rawValue)
    }

    public enum CloudMemberAction: String, Sendable { case evacuate, restore }

    /// Removes the cluster members of nodes the site no longer has (`node
    /// rm`): an ONLINE member leaves cleanly (its instances must be gone
    /// first: Incus refuses otherwise, and says so), an OFFLINE one is
    /// force-removed. A site without an Incus cloud has nothing to do.
    /// - Returns: one line per node that was a member: removed, or why not.
    public func removeCloudMembers(_ names: [String], config: SiteConfig) -> [String] {
        guard config.cloud?.engine == .incus, !names.isEmpty else { return [] }
        let incus: IncusClient
        let members: [IncusClient.Member]
        do {
            incus = try cloudClient(config)
            members = try incus.members()
        } catch {
            return ["cloud: members not removed (\(error)); remove them with `incus cluster remove`"]
        }
        return names.compactMap { name in
            guard let member = members.first(where: { $0.name == name }) else { return nil }
            do {
                try incus.removeMember(name, force: member.status == "OFFLINE")
                return "cloud: removed member \(name) (\(member.status == "OFFLINE" ? "forced: it was OFFLINE" : "it left"))"
            } catch {
                return "cloud: member \(name) not removed: \(error)"
            }
        }
    }

    public struct CloudRefusal: Error, Sendable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }
}

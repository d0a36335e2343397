import Foundation
import NIOCore
import NIOFoundationCompat
import NIOPosix
import NIOSSL
import NIOHTTP1
import ProvisionerAPI
import ProvisionerCore
import ProvisionerPlatform

/// Incus's REST API (`/1.0`), the seam of the `incus` cloud engine: over a
/// daemon's local socket (as root: trusted), or over HTTPS to a cluster
/// member with the provisioning server's client certificate, the cluster's
/// certificate pinned (the only one accepted; cluster certificates are
/// self-signed and name the first member's address, so the name is not checked).
/// Calls block (SwiftNIO's futures waited on): serve calls it off its pools.
public final class IncusClient: Sendable {
    public enum Endpoint: Sendable {
        case socket(String)
        case https(host: String, port: Int, clusterCertificatePEM: String, clientCertificatePEM: String, clientKeyPEM: String)
    }

    public let endpoint: Endpoint
    private let http: PinnedHTTP
    /// How long one request may take (an operation's wait included).
    public let timeout: TimeAmount

    /// - Throws: `SystemError` when a certificate or key cannot be read.
    public init(_ endpoint: Endpoint, timeout: TimeAmount = .seconds(30)) throws {
        self.endpoint = endpoint
        self.timeout = timeout
        switch endpoint {
        case .socket(let path):
            http = PinnedHTTP(target: .socket(path), timeout: timeout + .seconds(5))
        case .https(let host, let port, let cluster, let certificate, let key):
            guard let pinned = SiteTLS.fingerprint(pem: cluster) else { throw SystemError("the cluster's certificate cannot be read") }
            do {
                let context = try PinnedHTTP.context(clientCertificatePEM: certificate, clientKeyPEM: key)
                http = PinnedHTTP(target: .tls(host: host, port: port, pinnedSHA256: pinned, context: context), timeout: timeout + .seconds(5))
            } catch {
                throw SystemError("this server's client certificate for the cloud cannot be read: \(error)")
            }
        }
    }

    /// The same with the timeout in seconds (for callers without SwiftNIO's types).
    public convenience init(_ endpoint: Endpoint, timeoutSeconds: Int64) throws {
        try self.init(endpoint, timeout: .seconds(timeoutSeconds))
    }

    /// Where it talks to, for messages.
    public var target: String {
        switch endpoint {
        case .socket(let path): "incusd's socket \(path)"
        case .https(let host, let port, _, _, _): "https://\(host):\(port)"
        }
    }

    // MARK: the calls

    /// The server: its name, whether it trusts us, whether it is clustered, its certificate.
    public struct ServerInfo: Sendable {
        public var auth: String
        public var serverName: String
        public var clustered: Bool
        public var certificatePEM: String
        public var version: String
        public var apiExtensions: [String]
    }

    public func info() throws -> ServerInfo {
        let m = try object(try call("GET", "/1.0"))
        let env = m["environment"] as? [String: Any] ?? [:]
        return ServerInfo(auth: m["auth"] as? String ?? "", serverName: env["server_name"] as? String ?? "",
                          clustered: env["server_clustered"] as? Bool ?? false, certificatePEM: env["certificate"] as? String ?? "",
                          version: env["server_version"] as? String ?? "", apiExtensions: m["api_extensions"] as? [String] ?? [])
    }

    /// A cluster member as `GET /1.0/cluster/members` gives it.
    public struct Member: Sendable, Equatable {
        public var name: String
        public var url: String
        public var roles: [String]
        public var status: String
        public var message: String
        public var rule: CloudRules.Member { CloudRules.Member(name: name, status: status, roles: roles) }
    }

    public func members() throws -> [Member] {
        let list = try call("GET", "/1.0/cluster/members?recursion=1") as? [[String: Any]] ?? []
        return list.map {
            Member(name: $0["server_name"] as? String ?? "", url: $0["url"] as? String ?? "", roles: $0["roles"] as? [String] ?? [],
                   status: ($0["status"] as? String ?? "").uppercased(), message: $0["message"] as? String ?? "")
        }.sorted { $0.name < $1.name }
    }

    /// The member-specific keys a joiner must answer (`GET /1.0/cluster`), with
    /// the values a fresh member gives: empty (a `dir` pool's source under its own directory).
    public func memberConfig() throws -> [CloudMemberConfig] {
        let m = try object(try call("GET", "/1.0/cluster"))
        return (m["member_config"] as? [[String: Any]] ?? []).map {
            CloudMemberConfig(entity: $0["entity"] as? String ?? "", name: $0["name"] as? String ?? "", key: $0["key"] as? String ?? "", value: "")
        }
    }

    /// A join token for member `name` (a new one cancels an older one of the same name).
    /// - Returns: the token and its operation (cancel it to revoke the token).
    public func mintJoinToken(_ name: String) throws -> (token: String, operation: String) {
        let body = try JSONSerialization.data(withJSONObject: ["server_name": name])
        let (meta, operation) = try callReturningOperation("POST", "/1.0/cluster/members", body: body)
        let m = (meta as? [String: Any])?["metadata"] as? [String: Any] ?? [:]
        guard let secret = m["secret"] as? String, let fingerprint = m["fingerprint"] as? String, let addresses = m["addresses"] as? [String] else {
            throw SystemError("\(target) answered a join token request without a token")
        }
        // The token as Incus's own client writes it: base64 of this JSON.
        var token: [String: Any] = ["server_name": name, "fingerprint": fingerprint, "addresses": addresses, "secret": secret]
        if let expires = m["expiresAt"] as? String { token["expires_at"] = expires }
        let text = try JSONSerialization.data(withJSONObject: token, options: [.sortedKeys]).base64EncodedString()
        return (text, operation ?? "")
    }

    /// Revokes an unused join token (its operation cancelled); a token already used or gone is no error.
    public func revoke(operation: String) {
        guard !operation.isEmpty else { return }
        _ = try? call("DELETE", operation)
    }

    /// Removes member `name`; `force` for one that is gone (an OFFLINE diskless node).
    public func removeMember(_ name: String, force: Bool) throws {
        _ = try call("DELETE", "/1.0/cluster/members/\(Self.pathComponent(name))" + (force ? "?force=1" : ""))
    }

    /// Our client certificate added to the cluster's trust with a trust token
    /// (`incus config trust add NAME`): the request is made with the certificate itself.
    public func trust(with token: String) throws {
        let body = try JSONSerialization.data(withJSONObject: ["trust_token": token, "type": "client"])
        _ = try call("POST", "/1.0/certificates", body: body)
    }

    /// A client certificate added to the trust store (over the local socket, as root).
    public func trust(certificatePEM: String, name: String) throws {
        guard let fingerprint = SiteTLS.fingerprint(pem: certificatePEM) else { throw SystemError("not a PEM certificate") }
        let known = try call("GET", "/1.0/certificates") as? [String] ?? []
        if known.contains(where: { $0.hasSuffix("/" + fingerprint) }) { return }
        let der = certificatePEM.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let body = try JSONSerialization.data(withJSONObject: ["type": "client", "name": name, "certificate": der])
        _ = try call("POST", "/1.0/certificates", body: body)
    }

    /// Sets server configuration keys (`PATCH /1.0`).
    public func setConfig(_ config: [String: String]) throws {
        _ = try call("PATCH", "/1.0", body: try JSONSerialization.data(withJSONObject: ["config": config]))
    }

    /// Creates storage pool `name` with `driver` unless one of that name exists.
    public func ensureStoragePool(_ name: String, driver: String) throws {
        let pools = try call("GET", "/1.0/storage-pools") as? [String] ?? []
        if pools.contains(where: { $0.hasSuffix("/" + name) }) { return }
        _ = try call("POST", "/1.0/storage-pools", body: try JSONSerialization.data(withJSONObject: ["name": name, "driver": driver]))
    }

    /// Makes this standalone daemon the first member of a new cluster named by its member name.
    public func enableClustering(serverName: String) throws {
        _ = try call("PUT", "/1.0/cluster", body: try JSONSerialization.data(withJSONObject: ["server_name": serverName, "enabled": true]))
    }

    /// Evacuates member `name` (its instances moved or stopped, no new ones
    /// placed there) or restores it; returns once Incus has done it.
    public func setMemberState(_ name: String, action: String) throws {
        _ = try call("POST", "/1.0/cluster/members/\(Self.pathComponent(name))/state",
                     body: try JSONSerialization.data(withJSONObject: ["action": action]))
    }

    /// What a member has (`GET /1.0/resources?target=NAME`): its CPU threads and memory.
    public func resources(of member: String) throws -> (cpus: Int, memoryBytes: Int64) {
        let m = try object(try call("GET", "/1.0/resources?target=\(Self.pathComponent(member))"))
        let cpus = (m["cpu"] as? [String: Any])?["total"] as? Int ?? 0
        let memory = ((m["memory"] as? [String: Any])?["total"] as? NSNumber)?.int64Value ?? 0
        return (cpus, memory)
    }

    // MARK: transport

    /// One request; an asynchronous answer is waited for (its operation's end).
    /// - Returns: the answer's `metadata` (the operation's own for an operation).
    /// - Throws: `SystemError` with Incus's own message.
    @discardableResult
    public func call(_ method: String, _ path: String, body: Data? = nil) throws -> Any? {
        let (metadata, operation) = try callReturningOperation(method, path, body: body)
        guard let operation else { return metadata }
        let waited = try object(try send("GET", operation + "/wait?timeout=\(timeoutSeconds)", body: nil).metadata)
        if let err = waited["err"] as? String, !err.isEmpty { throw SystemError("\(target): \(method) \(Self.plainPath(path)): \(err)") }
        guard (waited["status"] as? String) == "Success" else {
            throw SystemError("\(target): \(method) \(Self.plainPath(path)) did not finish: \(waited["status"] as? String ?? "?")")
        }
        return waited["metadata"]
    }

    /// The same, without waiting: an operation's URL path is returned beside its metadata.
    func callReturningOperation(_ method: String, _ path: String, body: Data?) throws -> (metadata: Any?, operation: String?) {
        let answer = try send(method, path, body: body)
        return (answer.metadata, answer.type == "async" ? answer.operation : nil)
    }

    private var timeoutSeconds: Int64 { max(1, timeout.nanoseconds / 1_000_000_000) }

    private struct Answer {
        var type: String
        var metadata: Any?
        var operation: String?
    }

    private func send(_ method: String, _ path: String, body: Data?) throws -> Answer {
        let response: (status: Int, body: Data)
        do {
            response = try http.send(method, path, body: body)
        } catch {
            // PinnedHTTP says which: unreachable, a certificate that is not the pinned one, no answer in time.
            throw SystemError("\(target): \(error)")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] else {
            throw SystemError("\(target) answered \(method) \(Self.plainPath(path)) with HTTP \(response.status) and no Incus JSON")
        }
        if (json["type"] as? String) == "error" || response.status >= 400 {
            let message = json["error"] as? String ?? "HTTP \(response.status)"
            throw SystemError("\(target): \(method) \(Self.plainPath(path)): \(message)")
        }
        return Answer(type: json["type"] as? String ?? "", metadata: json["metadata"], operation: json["operation"] as? String)
    }

    private func object(_ any: Any?) throws -> [String: Any] {
        guard let m = any as? [String: Any] else { throw SystemError("\(target) answered without the expected object") }
        return m
    }

    static func pathComponent(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._"))) ?? s
    }

    static func plainPath(_ path: String) -> String { String(path.split(separator: "?").first ?? Substring(path)) }

}

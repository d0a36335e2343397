import FoundationEssentials
import ProvisionerAPI

/// Joins the node's own incusd to the site's Incus cluster with what the
/// enrollment answered (`CloudJoin`): over incusd's local socket, as root,
/// its cluster address first, then `PUT /1.0/cluster` with the cluster's
/// address, certificate and the join token, waiting for the join to finish.
/// A daemon that is already a member of that name is left as it is.
public struct IncusJoiner: Sendable {
    public var socket: String
    public var transport: SocketHTTPTransport

    /// incusd's socket on a Debian node.
    public static let defaultSocket = "/var/lib/incus/unix.socket"

    public init(socket: String = defaultSocket, timeout: Double = 60) {
        self.socket = socket
        transport = SocketHTTPTransport(timeout: timeout, unixSocket: socket)
    }

    /// Whether incusd answers on its socket (the image has it and it started).
    public func isAvailable() async -> Bool {
        (try? await send("GET", "/1.0", nil)) != nil
    }

    /// The daemon's standing: clustered under `name` or not.
    public func memberName() async throws -> String? {
        let env = try await call("GET", "/1.0")?["environment"]
        guard env?["server_clustered"]?.bool == true else { return nil }
        return env?["server_name"]?.string
    }

    /// - Throws: `ControllerError` with incusd's own words.
    public func join(_ join: CloudJoin) async throws {
        if try await memberName() == join.serverName { return }
        _ = try await call("PATCH", "/1.0", body: JSONValue.object(["config": .object(["core.https_address": .string(join.serverAddress)])]))
        let body = JSONValue.object([
            "server_name": .string(join.serverName), "server_address": .string(join.serverAddress), "enabled": .bool(true),
            "cluster_address": .string(join.clusterAddress), "cluster_certificate": .string(join.clusterCertificate),
            "cluster_token": .string(join.token),
            "member_config": .array(join.memberConfig.map {
                .object(["entity": .string($0.entity), "name": .string($0.name), "key": .string($0.key), "value": .string($0.value)])
            }),
        ])
        _ = try await call("PUT", "/1.0/cluster", body: body)
    }

    /// One call; an asynchronous answer is waited for.
    /// - Returns: the answer's metadata (the operation's own, for an operation).
    func call(_ method: String, _ path: String, body: JSONValue? = nil) async throws -> JSONValue? {
        let data = try body.map { try JSONEncoder().encode($0) }
        let answer = try await send(method, path, data)
        guard answer["type"]?.string == "async", let operation = answer["operation"]?.string else { return answer["metadata"] }
        // Incus answers the wait a little before this client gives up on it.
        let meta = try await send("GET", operation + "/wait?timeout=\(max(1, Int(transport.timeout) - 5))", nil)["metadata"]
        if let err = meta?["err"]?.string, !err.isEmpty { throw ControllerError("incusd: \(method) \(path): \(err)") }
        guard meta?["status"]?.string == "Success" else {
            throw ControllerError("incusd: \(method) \(path) did not finish: \(meta?["status"]?.string ?? "?")")
        }
        return meta?["metadata"]
    }

    private func send(_ method: String, _ path: String, _ body: Data?) async throws -> JSONValue {
        guard let url = URL(string: "http://incus" + path) else { throw ControllerError("bad path \(path)") }
        let response = try await transport.send(HTTPRequest(method: method, url: url, headers: ["Content-Type": "application/json"], body: body))
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: response.body), json["type"] != nil else {
            throw ControllerError("incusd answered \(method) \(path) with HTTP \(response.status) and no Incus JSON")
        }
        if json["type"]?.string == "error" || response.status >= 400 {
            throw ControllerError("incusd: \(method) \(path): \(json["error"]?.string ?? "HTTP \(response.status)")")
        }
        return json
    }
}

/// Any JSON value (FoundationEssentials has no JSONSerialization).
public enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
}

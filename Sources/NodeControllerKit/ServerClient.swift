import FoundationEssentials
import ProvisionerAPI

/// How one call to the server ended, as the controller loop needs to tell them apart.
public enum ServerOutcome<Value: Sendable>: Sendable {
    case ok(Value)
    /// 401: enroll again (heartbeat) or the token is refused (enroll).
    case unauthorized(String)
    /// 5xx: try again later.
    case serverError(status: Int, message: String)
    /// Another 4xx: the request was refused.
    case rejected(status: Int, message: String)
    /// No answer: refused, timed out, unreachable.
    case unreachable(String)
    /// An answer that is not what the contract says.
    case garbage(String)
}

/// The node side of the `ProvisionerAPI` contract over an `HTTPTransport`.
public struct ServerClient: Sendable {
    public let server: URL
    public let transport: any HTTPTransport

    public init(server: URL, transport: any HTTPTransport) {
        self.server = server
        self.transport = transport
    }

    public func enroll(_ request: EnrollRequest) async -> ServerOutcome<EnrollResponse> {
        await post(NodeAPI.enrollPath, request, credential: nil)
    }

    /// Asks for the node's enrollment token (its boot files carried none).
    public func nodeToken(_ request: NodeTokenRequest) async -> ServerOutcome<NodeTokenResponse> {
        await post(NodeAPI.tokenPath, request, credential: nil)
    }

    public func heartbeat(_ heartbeat: Heartbeat, credential: String) async -> ServerOutcome<HeartbeatResponse> {
        await post(NodeAPI.heartbeatPath, heartbeat, credential: credential)
    }

    /// `server` with `path` appended (keeps a path prefix of the server URL).
    public func url(_ path: String) -> URL {
        var base = server.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + path) ?? server
    }

    private func post<Body: Encodable, Answer: Decodable & Sendable>(_ path: String, _ body: Body, credential: String?) async -> ServerOutcome<Answer> {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(body) } catch { return .garbage("encoding the request: \(error)") }
        var headers = ["Content-Type": "application/json", "Accept": "application/json"]
        if let credential { headers["Authorization"] = "Bearer \(credential)" }
        let request = HTTPRequest(method: "POST", url: url(path), headers: headers, body: data)
        let response: HTTPResponse
        do { response = try await transport.send(request) } catch {
            return .unreachable("POST \(request.url.absoluteString): \(Self.describe(error))")
        }
        switch response.status {
        case 200..<300:
            do { return .ok(try JSONDecoder().decode(Answer.self, from: response.body)) } catch {
                return .garbage("answer to POST \(path) is not a \(Answer.self): \(Self.describe(error)); body \(Self.excerpt(response.body))")
            }
        case 401:
            return .unauthorized(Self.apiMessage(response.body))
        case 500..<600:
            return .serverError(status: response.status, message: Self.apiMessage(response.body))
        default:
            return .rejected(status: response.status, message: Self.apiMessage(response.body))
        }
    }

    /// The `APIError.error` of a body, else an excerpt of it.
    static func apiMessage(_ body: Data) -> String {
        if let e = try? JSONDecoder().decode(APIError.self, from: body) { return e.error }
        return body.isEmpty ? "(empty body)" : excerpt(body)
    }

    static func excerpt(_ body: Data) -> String {
        let text = String(decoding: body.prefix(120), as: UTF8.self)
        return String(reflecting: body.count > 120 ? text + "…" : text)
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case .dataCorrupted(let c): return "not JSON (\(c.debugDescription))"
            case .keyNotFound(let k, _): return "missing \"\(k.stringValue)\""
            case .typeMismatch(_, let c), .valueNotFound(_, let c):
                return "bad \"\(c.codingPath.map(\.stringValue).joined(separator: "."))\" (\(c.debugDescription))"
            @unknown default: return "\(e)"
            }
        }
        if let e = error as? ControllerError { return e.description }
        return "\(error)"
    }
}

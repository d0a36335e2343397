import Foundation
import Hummingbird
import NIOCore
import ProvisionerAPI
import ProvisionerCore
import ProvisionerSite
import ProvisionerStore

/// One request of the operator API: its bearer token checked first (the
/// site's own in constant time, else a named one by its digest) against the
/// scope the request needs, then the body read (at most 1 MiB), the handler
/// run on the blocking pool with the token as the audit log's actor, and its
/// errors turned into answers; every refusal counted and logged with the
/// client's address.
struct OperatorRequest {
    static let maxBodyBytes = 1 << 20

    let state: ServeState
    let request: Request
    let clientIP: IPv4Address?

    init(_ state: ServeState, _ request: Request, _ context: ServeContext) {
        self.state = state
        self.request = request
        self.clientIP = context.clientIP
    }

    /// A refusal's answer, counted and logged.
    func refuse(_ status: HTTPResponse.Status, _ why: String) throws -> Response {
        state.count { $0.rejected += 1 }
        state.logger.warning("API \(request.method) \(request.uri.path) refused from \(clientIP?.description ?? "?"): \(why)")
        return try apiError(status, why)
    }

    /// Who the request's token is, when it may do what needs `scope`; else
    /// the refusal (401 without a known token, 403 without the scope).
    /// Reads the registry: call it off the cooperative pool.
    func authorize(_ scope: APIScope) throws -> Result<String, OperatorAuthRefusal> {
        let given = bearerToken(of: request)
        guard !given.isEmpty else {
            return .failure(.init(.unauthorized, "missing API token (Authorization: Bearer <token>: api.token's, or one from `provisioner token add`)"))
        }
        if let site = state.siteToken(), Secret.equalInConstantTime(given, site) { return .success("token:site") }
        guard let token = try state.registry.apiToken(digest: Secret.digest(given)) else {
            return .failure(.init(.unauthorized, "unknown API token"))
        }
        guard token.allows(scope) else {
            return .failure(.init(.forbidden, "token \(token.name) may not \(scope.rawValue) (its scopes: \(token.scopes.map(\.rawValue).joined(separator: ", ")))"))
        }
        let now = state.clock()
        try? state.registry.touchAPIToken(name: token.name, now: Timestamp.iso(now), after: Timestamp.iso(now.addingTimeInterval(-60)))
        return .success(token.actor)
    }

    /// A read of the inventory: authorized for `read`, run off the cooperative pool.
    func read(_ body: @escaping @Sendable () throws -> Response) async throws -> Response {
        try await run(scope: .read, readsBody: false) { _, _ in try body() }
    }

    /// Checks the token for `scope` first (nothing else is done for a request
    /// without one), then reads the body, runs `handler` off the cooperative
    /// pool (`blocking`, or `onOwnThread` for a call that waits on BMCs) with
    /// the token as the audit's actor, and turns its errors into answers.
    func run(scope: APIScope, readsBody: Bool = true,
             on runner: @escaping (@escaping @Sendable () throws -> Response) async throws -> Response = { try await blocking($0) },
             _ handler: @escaping @Sendable (NodeOperations, [UInt8]) throws -> Response) async throws -> Response {
        let me = self, state = self.state
        do {
            let actor: String
            switch try await blocking({ try me.authorize(scope) }) {
            case .failure(let refusal): return try refuse(refusal.status, refusal.reason)
            case .success(let who): actor = who
            }
            var body: [UInt8] = []
            if readsBody {
                guard let buffer = try? await request.body.collect(upTo: Self.maxBodyBytes) else {
                    return try refuse(.contentTooLarge, "request body over \(Self.maxBodyBytes) bytes")
                }
                body = Array(buffer.readableBytesView)
            }
            let ops = state.nodeOperations, given = body
            return try await runner { try AuditActor.$current.withValue(actor) { try handler(ops, given) } }
        } catch {
            let kind = FailureKind(of: error)
            if kind == .failed || kind == .unavailable || kind == .busy {
                state.logger.error("API \(request.method) \(request.uri.path) failed: \(error)")
            } else {
                state.count { $0.rejected += 1 }
                state.logger.warning("API \(request.method) \(request.uri.path) refused from \(clientIP?.description ?? "?"): \(error)")
            }
            return try errorResponse(error)
        }
    }
}

/// Why the operator API refuses a request's token, and the status it answers.
struct OperatorAuthRefusal: Error {
    var status: HTTPResponse.Status
    var reason: String
    init(_ status: HTTPResponse.Status, _ reason: String) {
        self.status = status
        self.reason = reason
    }
}

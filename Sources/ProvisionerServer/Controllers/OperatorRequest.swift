import Foundation
import Hummingbird
import NIOCore
import ProvisionerAPI
import ProvisionerCore
import ProvisionerSite
import ProvisionerStore

/// One request of the operator API's writes: the bearer token checked
/// (constant time), the body read (at most 1 MiB), the handler run on the
/// blocking pool, and its errors turned into answers; every refusal counted
/// and logged with the client's address.
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

    /// Checks the token and reads the body, runs `handler` off the cooperative
    /// pool (`blocking`, or `onOwnThread` for a call that waits on BMCs), and
    /// turns its errors into answers.
    func run(on runner: (@escaping @Sendable () throws -> Response) async throws -> Response = { try await blocking($0) },
             _ handler: @escaping @Sendable (NodeOperations, [UInt8]) throws -> Response) async throws -> Response {
        let state = self.state, request = self.request, clientIP = self.clientIP
        func refuse(_ status: HTTPResponse.Status, _ why: String) throws -> Response {
            state.count { $0.rejected += 1 }
            state.logger.warning("API \(request.method) \(request.uri.path) refused from \(clientIP?.description ?? "?"): \(why)")
            return try apiError(status, why)
        }
        guard let token = state.apiToken else { return try refuse(.forbidden, "the write API is off (serve has no API token)") }
        let given = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
        guard Self.constantTimeEqual(given, token) else {
            return try refuse(.unauthorized, "missing or wrong API token (Authorization: Bearer <token from api.token>)")
        }
        guard let buffer = try? await request.body.collect(upTo: Self.maxBodyBytes) else {
            return try refuse(.contentTooLarge, "request body over \(Self.maxBodyBytes) bytes")
        }
        let body = Array(buffer.readableBytesView)
        do {
            let ops = state.nodeOperations
            return try await runner { try handler(ops, body) }
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

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

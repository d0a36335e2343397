import Foundation
import Hummingbird
import NIOCore
import ProvisionerAPI
import ProvisionerCore
import ProvisionerBMC
import ProvisionerSite
import ProvisionerStore

/// The CLI's node changes over HTTP, for scripts and other tools:
///
///     POST   /api/v1/nodes                      add: a node object or a list (all or none)
///     PATCH  /api/v1/nodes/{name-or-mac}        change hostname, mac, ip or profile
///     DELETE /api/v1/nodes/{name-or-mac}        remove
///     POST   /api/v1/discovered/{mac}/accept    register a discovered machine
///     POST   /api/v1/power                      {"action": "on|off|cycle|status", "nodes": ["n[01-04]"],
///                                                "parallel": 16, "timeout": 10, "pxe": true} through the BMCs
///     POST   /api/v1/boot-next                  {"device": "pxe", "nodes": [...]}
///
/// Each needs `Authorization: Bearer <token>`, the token in `<home>/api.token`
/// (0600, made on first serve). Bodies are JSON with the keys of `node import`
/// (hostname, mac, ip, profile); the answer is the nodes as `node … --json`
/// prints them plus what was done to their boot files. Bad input is a 400
/// naming the field and value, a clash with the registry a 409, an unknown
/// node a 404; none of them changes anything.
enum NodeWriteAPI {
    static let maxBodyBytes = 1 << 20
    static let nodeKeys = NodeImport.columns

    struct Answer: Encodable {
        var nodes: [Node]
        var bootFiles: NodeOperations.FileReport
        enum CodingKeys: String, CodingKey { case nodes, bootFiles = "boot_files" }
    }

    static func register(_ router: Router<ServeContext>, _ state: ServeState) {
        router.post("/api/v1/nodes") { request, context in
            try await guarded(state, request, context) { ops, body in
                let specs = try NodeImport.parse(json: body, config: state.config)
                let (nodes, files) = try ops.add(specs, now: state.now(), action: "api.node.add")
                state.logger.info("API: added \(nodes.map(\.hostname.value).joined(separator: " ")) (\(files.summary))")
                return try json(Answer(nodes: nodes, bootFiles: files), status: .created)
            }
        }
        router.patch("/api/v1/nodes/:name") { request, context in
            try await guarded(state, request, context) { ops, body in
                let key = try context.parameters.require("name")
                let change = try nodeChange(body)
                let (_, new, files) = try ops.update(key, change, now: state.now())
                state.logger.info("API: changed \(key) → \(new.hostname) \(new.mac?.description ?? "-") \(new.ip) \(new.profile) (\(files.summary))")
                return try json(Answer(nodes: [new], bootFiles: files))
            }
        }
        router.delete("/api/v1/nodes/:name") { request, context in
            try await guarded(state, request, context) { ops, _ in
                let key = try context.parameters.require("name")
                let (nodes, files) = try ops.remove([key], now: state.now())
                state.logger.info("API: removed \(nodes.map(\.hostname.value).joined(separator: " ")) (\(files.summary))")
                return try json(Answer(nodes: nodes, bootFiles: files))
            }
        }
        router.post("/api/v1/discovered/:mac/accept") { request, context in
            try await guarded(state, request, context) { ops, body in
                let mac = try MACAddress(parsing: try context.parameters.require("mac"))
                let fields = body.isEmpty ? [:] : try NodeImport.jsonFields(body, allowed: ["hostname", "profile"], location: "body")
                let host = try fields["hostname"].map { h throws(ValidationError) in try Hostname(parsing: h) }
                let profile = try fields["profile"].map { p throws(ValidationError) in try ProfileName(parsing: p) }
                let (node, files) = try ops.accept(mac: mac, hostname: host, profile: profile, now: state.now())
                state.logger.info("API: accepted \(mac) as \(node.hostname) (\(files.summary))")
                return try json(Answer(nodes: [node], bootFiles: files))
            }
        }
    }

    /// A power or boot-next request's body.
    struct PowerRequest: Decodable {
        var action: String?
        var device: String?
        var nodes: [String]
        var parallel: Int?
        var timeout: Double?
        var pxe: Bool?
    }

    struct PowerAnswer: Encodable { var results: [PowerResult] }

    static func registerPower(_ router: Router<ServeContext>, _ state: ServeState) {
        router.post("/api/v1/power") { request, context in
            try await guarded(state, request, context) { _, body in
                let req = try powerRequest(body)
                guard let text = req.action, let action = PowerAction(rawValue: text) else {
                    throw ValidationError(field: "action", value: req.action ?? "", reason: "expected on, off, cycle or status")
                }
                let options = try powerOptions(req)
                let results = try await blockingOffLoop { try PowerOperations(registry: state.registry).power(action, req.nodes, options) }
                state.logger.info("API: power \(action.rawValue) \(req.nodes.joined(separator: " ")): \(results.filter(\.ok).count)/\(results.count) ok")
                return try json(PowerAnswer(results: results))
            }
        }
        router.post("/api/v1/boot-next") { request, context in
            try await guarded(state, request, context) { _, body in
                let req = try powerRequest(body)
                guard req.device == "pxe" else { throw ValidationError(field: "device", value: req.device ?? "", reason: "expected pxe") }
                let options = try powerOptions(req)
                let results = try await blockingOffLoop { try PowerOperations(registry: state.registry).bootNextPXE(req.nodes, options) }
                state.logger.info("API: boot-next pxe \(req.nodes.joined(separator: " ")): \(results.filter(\.ok).count)/\(results.count) ok")
                return try json(PowerAnswer(results: results))
            }
        }
    }

    static func powerRequest(_ body: [UInt8]) throws -> PowerRequest {
        do {
            return try JSONDecoder().decode(PowerRequest.self, from: Data(body))
        } catch {
            throw ValidationError(field: "body", value: String(decoding: body.prefix(60), as: UTF8.self),
                                  reason: "expected {\"action\" or \"device\", \"nodes\": [...], \"parallel\", \"timeout\", \"pxe\"}")
        }
    }

    static func powerOptions(_ req: PowerRequest) throws -> PowerOptions {
        let parallel = req.parallel ?? 16, timeout = req.timeout ?? 10
        guard (1...256).contains(parallel) else { throw ValidationError(field: "parallel", value: String(parallel), reason: "1 to 256") }
        guard timeout > 0, timeout <= 600 else { throw ValidationError(field: "timeout", value: String(timeout), reason: "more than 0, at most 600 seconds") }
        return PowerOptions(parallel: parallel, timeout: timeout, pxe: req.pxe ?? true)
    }

    /// A fan-out waits on BMCs for seconds: on a thread of its own, never on the event loop.
    static func blockingOffLoop<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// A body's fields as a node change; at least one field.
    static func nodeChange(_ body: [UInt8]) throws -> NodeChange {
        let f = try NodeImport.jsonFields(body, allowed: nodeKeys, location: "body")
        let change = try NodeChange(parsingHostname: f["hostname"], mac: f["mac"], ip: f["ip"], profile: f["profile"])
        guard !change.isEmpty else {
            throw ValidationError(field: "body", value: String(decoding: body.prefix(60), as: UTF8.self), reason: "nothing to change: give hostname, mac, ip or profile")
        }
        return change
    }

    /// Checks the token and reads the body, runs `body`, and turns its errors into answers.
    static func guarded(_ state: ServeState, _ request: Request, _ context: ServeContext,
                        _ handler: (NodeOperations, [UInt8]) async throws -> Response) async throws -> Response {
        func refuse(_ status: HTTPResponse.Status, _ why: String) throws -> Response {
            state.count { $0.rejected += 1 }
            state.logger.warning("API \(request.method) \(request.uri.path) refused from \(context.clientIP?.description ?? "?"): \(why)")
            return try apiError(status, why)
        }
        guard let token = state.apiToken else { return try refuse(.forbidden, "the write API is off (serve has no API token)") }
        let given = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
        guard constantTimeEqual(given, token) else {
            return try refuse(.unauthorized, "missing or wrong API token (Authorization: Bearer <token from api.token>)")
        }
        guard let buffer = try? await request.body.collect(upTo: maxBodyBytes) else {
            return try refuse(.contentTooLarge, "request body over \(maxBodyBytes) bytes")
        }
        do {
            return try await handler(state.nodeOperations, Array(buffer.readableBytesView))
        } catch {
            let kind = FailureKind(of: error)
            if kind == .failed || kind == .unavailable || kind == .busy {
                state.logger.error("API \(request.method) \(request.uri.path) failed: \(error)")
            } else {
                state.count { $0.rejected += 1 }
                state.logger.warning("API \(request.method) \(request.uri.path) refused from \(context.clientIP?.description ?? "?"): \(error)")
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

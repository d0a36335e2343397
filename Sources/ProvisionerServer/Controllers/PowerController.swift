import Foundation
import Hummingbird
import NIOCore
import ProvisionerAPI
import ProvisionerCore
import ProvisionerSite
import ProvisionerBMC
import ProvisionerStore

/// Power through the nodes' BMCs, for the operator (token required):
///
///     POST /api/v1/power      {"action": "on|off|cycle|status", "nodes": ["n[01-04]"],
///                              "parallel": 16, "timeout": 10, "pxe": true}
///     POST /api/v1/boot-next  {"device": "pxe", "nodes": [...]}
///
/// A fan-out waits on BMCs for seconds or minutes: it runs on a thread of
/// its own, never on the pool that boots and enrollments need.
struct PowerController {
    let state: ServeState

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

    var endpoints: RouteCollection<ServeContext> {
        let routes = RouteCollection(context: ServeContext.self)
        let state = self.state
        routes.post("/api/v1/power") { request, context in
            try await OperatorRequest(state, request, context).run(scope: .power, on: { try await onOwnThread($0) }) { _, body in
                let req = try Self.powerRequest(body)
                guard let text = req.action, let action = PowerAction(rawValue: text) else {
                    throw ValidationError(field: "action", value: req.action ?? "", reason: "expected on, off, cycle or status")
                }
                let options = try Self.powerOptions(req)
                let results = try PowerOperations(registry: state.registry).power(action, req.nodes, options)
                state.logger.info("API: power \(action.rawValue) \(req.nodes.joined(separator: " ")): \(results.filter(\.ok).count)/\(results.count) ok")
                return try json(PowerAnswer(results: results))
            }
        }
        routes.post("/api/v1/boot-next") { request, context in
            try await OperatorRequest(state, request, context).run(scope: .power, on: { try await onOwnThread($0) }) { _, body in
                let req = try Self.powerRequest(body)
                guard req.device == "pxe" else { throw ValidationError(field: "device", value: req.device ?? "", reason: "expected pxe") }
                let options = try Self.powerOptions(req)
                let results = try PowerOperations(registry: state.registry).bootNextPXE(req.nodes, options)
                state.logger.info("API: boot-next pxe \(req.nodes.joined(separator: " ")): \(results.filter(\.ok).count)/\(results.count) ok")
                return try json(PowerAnswer(results: results))
            }
        }
        return routes
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
}

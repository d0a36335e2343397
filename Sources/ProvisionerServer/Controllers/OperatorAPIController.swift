import Foundation
import Hummingbird
import ProvisionerCore

/// The operator API's reads: nodes with their run-time status, discovered
/// machines, instances, rollouts (each with a token of any scope), and the
/// API's own document (api/openapi.yaml, as JSON, public). The writes are `NodeWriteController` and
/// `PowerController`.
struct OperatorAPIController {
    let state: ServeState

    var endpoints: RouteCollection<ServeContext> {
        let routes = RouteCollection(context: ServeContext.self)
        let state = self.state
        // The inventory: every read needs a token (any scope reads).
        routes.get("/api/v1/nodes") { request, context in
            try await OperatorRequest(state, request, context).read { try json(try state.registry.statuses()) }
        }
        routes.get("/api/v1/nodes/:name") { request, context in
            let name = try context.parameters.require("name")
            return try await OperatorRequest(state, request, context).read {
                guard let s = try state.registry.status(name) else { return try apiError(.notFound, "no node \(quoted(name))") }
                return try json(s)
            }
        }
        routes.get("/api/v1/discovered") { request, context in
            try await OperatorRequest(state, request, context).read { try json(try state.registry.discovered()) }
        }
        routes.get("/api/v1/instances") { request, context in
            try await OperatorRequest(state, request, context).read { try json(try state.registry.instances()) }
        }
        routes.get("/api/v1/rollouts") { request, context in
            try await OperatorRequest(state, request, context).read { try json(try state.registry.rollouts(image: nil)) }
        }
        routes.get("/api/v1/openapi.json") { _, _ in
            switch OpenAPIDocument.json {
            case .success(let document): Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: document))
            case .failure(let error): try apiError(.serviceUnavailable, error.description)
            }
        }
        return routes
    }
}

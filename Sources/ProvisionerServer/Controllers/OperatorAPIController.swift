import Foundation
import Hummingbird
import ProvisionerCore

/// The operator API's reads: nodes with their run-time status, discovered
/// machines, instances, rollouts, and the API's own document
/// (api/openapi.yaml, as JSON). The writes are `NodeWriteController` and
/// `PowerController`.
struct OperatorAPIController {
    let state: ServeState

    var endpoints: RouteCollection<ServeContext> {
        let routes = RouteCollection(context: ServeContext.self)
        let state = self.state
        routes.get("/api/v1/nodes") { _, _ in try await blocking { try json(try state.registry.statuses()) } }
        routes.get("/api/v1/nodes/:name") { _, context in
            let name = try context.parameters.require("name")
            return try await blocking {
                guard let s = try state.registry.status(name) else { return try apiError(.notFound, "no node \(quoted(name))") }
                return try json(s)
            }
        }
        routes.get("/api/v1/discovered") { _, _ in try await blocking { try json(try state.registry.discovered()) } }
        routes.get("/api/v1/instances") { _, _ in try await blocking { try json(try state.registry.instances()) } }
        routes.get("/api/v1/rollouts") { _, _ in try await blocking { try json(try state.registry.rollouts(image: nil)) } }
        routes.get("/api/v1/openapi.json") { _, _ in
            switch OpenAPIDocument.json {
            case .success(let document): Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: document))
            case .failure(let error): try apiError(.serviceUnavailable, error.description)
            }
        }
        return routes
    }
}

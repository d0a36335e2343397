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
        routes.addRoutes(Self.document)
        return routes
    }

    /// The API's own document, public on both listeners.
    static var document: RouteCollection<ServeContext> {
        let routes = RouteCollection(context: ServeContext.self)
        routes.get("/api/v1/openapi.json") { _, _ in
            switch OpenAPIDocument.json {
            case .success(let document): Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: document))
            case .failure(let error): try apiError(.serviceUnavailable, error.description)
            }
        }
        return routes
    }

    /// On the plain HTTP listener: every API path (the node API's and the
    /// operator API's), the status page and the metrics answer 403 with the
    /// HTTPS address (a token sent here has crossed the network in clear
    /// text: rotate it), but the API's document, which is public.
    static func elsewhere(_ state: ServeState) -> RouteCollection<ServeContext> {
        let routes = RouteCollection(context: ServeContext.self)
        for (path, method) in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete].map({ ("/api/v1/**", $0) })
            + [("/", .get), ("/metrics", .get)] {
            routes.on(RouterPath(path), method: method) { request, context in
                let url = "https://\(state.config.serverIP):\(state.config.apiPort)\(request.uri.path)"
                state.count { $0.rejected += 1 }
                state.logger.warning("API \(request.method) \(request.uri.path) refused from \(context.clientIP?.description ?? "?") over plain HTTP")
                return try apiError(.forbidden, "\(request.uri.path) answers over HTTPS only: \(url) (as do the whole API, the status page and the metrics; trust the site CA, <home>/tls/ca.pem)"
                                    + (request.headers[.authorization] != nil ? "; the token sent here crossed the network in clear text: rotate it" : ""))
            }
        }
        routes.addRoutes(document)
        return routes
    }
}

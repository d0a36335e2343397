import Foundation
import Hummingbird
import ProvisionerAPI
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

    /// Where a path is answered: the node API's on the node network's HTTPS
    /// listener, the rest (operator API, status page, metrics) on the
    /// operator listener (`http.operator_listen`).
    static func home(of path: String, _ config: SiteConfig) -> String {
        if [NodeAPI.enrollPath, NodeAPI.heartbeatPath, NodeAPI.tokenPath].contains(path) {
            return "https://\(config.serverIP):\(config.apiPort)"
        }
        switch config.operatorListen {
        case .node: return "https://\(config.serverIP):\(config.apiPort)"
        case .address(let address, let port): return "https://\(address):\(port)"
        }
    }

    /// Where this listener does not answer the operator API: every API path
    /// (on the plain listener; on the node HTTPS listener the node API's own
    /// routes come first), the status page and the metrics answer 403 naming
    /// where they are answered (a token sent in clear text has crossed the
    /// network: rotate it), but the API's document, which is public.
    static func elsewhere(_ state: ServeState, overTLS: Bool) -> RouteCollection<ServeContext> {
        let routes = RouteCollection(context: ServeContext.self)
        for (path, method) in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete].map({ ("/api/v1/**", $0) })
            + [("/", .get), ("/metrics", .get)] {
            routes.on(RouterPath(path), method: method) { request, context in
                let url = home(of: request.uri.path, state.config) + request.uri.path
                state.count { $0.rejected += 1 }
                let how = overTLS ? "on the node network" : "over plain HTTP"
                state.logger.warning("API \(request.method) \(request.uri.path) refused from \(context.clientIP?.description ?? "?") \(how)")
                if overTLS {
                    return try apiError(.forbidden, "\(request.uri.path) is not answered on the node network: \(url) (http.operator_listen; "
                                        + "as are the operator API, the status page and the metrics)")
                }
                return try apiError(.forbidden, "\(request.uri.path) answers over HTTPS only: \(url) (trust the site CA, <home>/tls/ca.pem)"
                                    + (request.headers[.authorization] != nil ? "; the token sent here crossed the network in clear text: rotate it" : ""))
            }
        }
        routes.addRoutes(document)
        return routes
    }
}

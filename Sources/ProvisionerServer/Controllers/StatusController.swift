import Hummingbird

/// For people and monitoring: the status page at `/` (nodes, boot phases,
/// capacity, boot servers), `/metrics` in Prometheus' text format, and
/// `/healthz`.
struct StatusController {
    let state: ServeState

    var endpoints: RouteCollection<ServeContext> {
        let routes = RouteCollection(context: ServeContext.self)
        let state = self.state
        routes.get("/") { _, _ in try await blocking { try StatusPage.response(state) } }
        routes.get("/metrics") { _, _ in try await blocking { try Metrics.response(state) } }
        routes.get("/healthz") { _, _ in "ok\n" }
        return routes
    }
}

import Hummingbird
import NIOCore

/// For people and monitoring: the status page at `/` (nodes, boot phases,
/// capacity, boot servers) and `/metrics` in Prometheus' text format, both
/// reads of the inventory (a token of any scope; the page also takes it as
/// the password of a browser's login prompt), and, public on every
/// listener, `/healthz` (serve answers) and `/readyz` (each boot daemon up:
/// 200, else 503, one line per daemon either way).
struct StatusController {
    let state: ServeState

    var endpoints: RouteCollection<ServeContext> {
        let routes = publicEndpoints
        let state = self.state
        routes.get("/") { request, context in
            let answer = try await OperatorRequest(state, request, context).read { try StatusPage.response(state) }
            guard answer.status == .unauthorized else { return answer }
            // A browser asks for the token (any user name; the token as the password).
            var prompted = answer
            prompted.headers[.wwwAuthenticate] = #"Basic realm="provisioner status", charset="UTF-8""#
            return prompted
        }
        routes.get("/metrics") { request, context in try await OperatorRequest(state, request, context).read { try Metrics.response(state) } }
        return routes
    }

    /// What anyone may ask, on the plain listener too: whether serve and its daemons are up.
    var publicEndpoints: RouteCollection<ServeContext> {
        let routes = RouteCollection(context: ServeContext.self)
        let state = self.state
        routes.get("/healthz") { _, _ in "ok\n" }
        routes.get("/readyz") { _, _ in StatusController.readiness(state.daemons) }
        return routes
    }

    /// `/readyz`: 200 when every daemon serve started is up, else 503; a line per daemon.
    static func readiness(_ daemons: [Supervisor.DaemonStatus]) -> Response {
        let (ready, text) = readinessText(daemons)
        return Response(status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func readinessText(_ daemons: [Supervisor.DaemonStatus]) -> (ready: Bool, text: String) {
        let down = daemons.filter { $0.pid == nil }
        var lines = daemons.map { d in "\(d.name) " + (d.pid.map { "up (pid \($0))" } ?? "down") + (d.restarts > 0 ? ", restarted \(d.restarts) times" : "") + "\n" }.joined()
        if daemons.isEmpty { lines = "no boot daemons (serve runs without them)\n" }
        return (down.isEmpty, (down.isEmpty ? "ready\n" : "not ready: \(down.map(\.name).joined(separator: ", ")) down\n") + lines)
    }
}

import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Builds serve's HTTP application: the controllers' routes on one router,
/// the services that run beside the server, and what must happen before it
/// answers. `ServeRunner` and the tests call this same builder.
public func buildApplication(_ state: ServeState, host: String, port: Int, services: [any Service] = [], idleTimeout: TimeAmount = .seconds(30),
                             beforeServerStarts: (@Sendable () async throws -> Void)? = nil,
                             onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) -> some ApplicationProtocol {
    var app = Application(
        router: buildRouter(state),
        // A connection that sends nothing, or not a whole request, for 30 s is
        // closed (a stalled client holds no descriptor for long); one being
        // answered (a root image to a slow node) is not, however long it takes.
        server: .http1(configuration: .init(idleTimeout: idleTimeout)),
        configuration: .init(address: .hostname(host, port: port), serverName: "provisioner"),
        services: services,
        onServerRunning: onServerRunning,
        logger: state.logger
    )
    if let beforeServerStarts { app.beforeServerStarts(perform: beforeServerStarts) }
    return app
}

/// The router: middleware (counting, error mapping, the boot files), then
/// one route collection per controller.
public func buildRouter(_ state: ServeState) -> Router<ServeContext> {
    let router = Router(context: ServeContext.self)
    router.middlewares.add(CountingMiddleware(state: state))
    router.middlewares.add(ErrorMappingMiddleware(state: state))
    let boot = BootController(state: state)
    boot.addFiles(to: router)
    router.addRoutes(boot.endpoints)
    router.addRoutes(NodeAgentController(state: state).endpoints)
    router.addRoutes(OperatorAPIController(state: state).endpoints)
    router.addRoutes(NodeWriteController(state: state).endpoints)
    router.addRoutes(PowerController(state: state).endpoints)
    router.addRoutes(StatusController(state: state).endpoints)
    return router
}

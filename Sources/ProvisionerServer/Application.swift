import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// Builds serve's HTTP application: the controllers' routes on one router,
/// the services that run beside the server, and what must happen before it
/// answers. `ServeRunner` and the tests call this same builder.
public func buildApplication(_ state: ServeState, host: String, port: Int, operator: Bool = true, services: [any Service] = [],
                             idleTimeout: TimeAmount = .seconds(30),
                             beforeServerStarts: (@Sendable () async throws -> Void)? = nil,
                             onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) -> some ApplicationProtocol {
    var app = Application(
        router: buildRouter(state, operator: `operator`),
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

/// serve's HTTPS application: every route (the operator API among them),
/// with this boot server's certificate (`SiteTLS`).
/// - Throws: when the certificate or key cannot be read.
public func buildSecureApplication(_ state: ServeState, host: String, port: Int, certificatePath: String, keyPath: String,
                                   idleTimeout: TimeAmount = .seconds(30),
                                   onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) throws -> some ApplicationProtocol {
    var tls = TLSConfiguration.makeServerConfiguration(
        certificateChain: try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) },
        privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
    tls.minimumTLSVersion = .tlsv12
    return Application(
        router: buildRouter(state),
        server: try .tls(.http1(configuration: .init(idleTimeout: idleTimeout)), tlsConfiguration: tls),
        configuration: .init(address: .hostname(host, port: port), serverName: "provisioner"),
        onServerRunning: onServerRunning,
        logger: state.logger
    )
}

/// The router: middleware (counting, error mapping, the boot files), then
/// one route collection per controller. Without `operator` (serve's plain
/// HTTP listener, on the node network) the operator API's paths answer 403
/// naming its HTTPS address instead: its tokens never travel in clear text.
public func buildRouter(_ state: ServeState, operator: Bool = true) -> Router<ServeContext> {
    let router = Router(context: ServeContext.self)
    router.middlewares.add(CountingMiddleware(state: state))
    router.middlewares.add(ErrorMappingMiddleware(state: state))
    let boot = BootController(state: state)
    boot.addFiles(to: router)
    router.addRoutes(boot.endpoints)
    router.addRoutes(NodeAgentController(state: state).endpoints)
    if `operator` {
        router.addRoutes(OperatorAPIController(state: state).endpoints)
        router.addRoutes(NodeWriteController(state: state).endpoints)
        router.addRoutes(PowerController(state: state).endpoints)
    } else {
        router.addRoutes(OperatorAPIController.elsewhere(state))
    }
    router.addRoutes(StatusController(state: state).endpoints)
    return router
}

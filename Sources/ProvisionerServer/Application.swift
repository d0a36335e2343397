import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ProvisionerPlatform
import ServiceLifecycle

/// Builds serve's HTTP application: the controllers' routes on one router,
/// the services that run beside the server, and what must happen before it
/// answers. `ServeRunner` and the tests call this same builder. With `tls`
/// (this boot server's certificate and key, `SiteTLS`) it answers HTTPS and
/// sends the site CA after its certificate (a node checks the chain against
/// the CA's pinned fingerprint). `role` says what it answers (see `buildRouter`).
/// - Throws: when the certificates or key cannot be read.
public func buildApplication(_ state: ServeState, host: String, port: Int, role: ListenerRole = .all,
                             tls: SiteTLS? = nil, services: [any Service] = [],
                             idleTimeout: TimeAmount = .seconds(30),
                             beforeServerStarts: (@Sendable () async throws -> Void)? = nil,
                             onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) throws -> some ApplicationProtocol {
    // A connection that sends nothing, or not a whole request, for 30 s is
    // closed (a stalled client holds no descriptor for long); one being
    // answered (a root image to a slow node) is not, however long it takes.
    let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: idleTimeout))
    let server = try tls.map { files in
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificatePath) + NIOSSLCertificate.fromPEMFile(files.caPath)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: files.keyPath, format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        return try HTTPServerBuilder.tls(http1, tlsConfiguration: configuration)
    } ?? http1
    var app = Application(
        router: buildRouter(state, role: role),
        server: server,
        configuration: .init(address: .hostname(host, port: port), serverName: "provisioner"),
        services: services,
        onServerRunning: onServerRunning,
        logger: state.logger
    )
    if let beforeServerStarts { app.beforeServerStarts(perform: beforeServerStarts) }
    return app
}

/// What one of serve's listeners answers.
public enum ListenerRole: Sendable {
    /// Plain HTTP on the node network: what is public (boot files, health, the API's document).
    case plain
    /// HTTPS on the node network: the node API and what is public.
    case node
    /// HTTPS for operators (`http.operator_listen`): the operator API, the status page, the metrics.
    case `operator`
    /// Everything: the node API's listener when `http.operator_listen` is `node`, and router tests.
    case all
}

/// The router: middleware (counting, error mapping, the boot files), then
/// one route collection per controller, as the listener's `role` allows.
/// Where a path is not answered it answers 403 naming where it is: no
/// credential, token or inventory travels in clear text, and neither
/// the operator API nor the inventory is answered on the node network
/// unless the site asks for it.
public func buildRouter(_ state: ServeState, role: ListenerRole = .all) -> Router<ServeContext> {
    let router = Router(context: ServeContext.self)
    router.middlewares.add(CountingMiddleware(state: state))
    router.middlewares.add(ErrorMappingMiddleware(state: state))
    let boot = BootController(state: state)
    if role != .operator {
        boot.addFiles(to: router)
        router.addRoutes(boot.endpoints)
    }
    let status = StatusController(state: state)
    switch role {
    case .plain:
        router.addRoutes(OperatorAPIController.elsewhere(state, overTLS: false))
        router.addRoutes(status.publicEndpoints)
    case .node:
        router.addRoutes(NodeAgentController(state: state).endpoints)
        router.addRoutes(OperatorAPIController.elsewhere(state, overTLS: true))
        router.addRoutes(status.publicEndpoints)
    case .operator, .all:
        if role == .all { router.addRoutes(NodeAgentController(state: state).endpoints) }
        router.addRoutes(OperatorAPIController(state: state).endpoints)
        router.addRoutes(NodeWriteController(state: state).endpoints)
        router.addRoutes(PowerController(state: state).endpoints)
        router.addRoutes(status.endpoints)
    }
    return router
}

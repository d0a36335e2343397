import Foundation
import Hummingbird
import Logging
import NIOCore
import ProvisionerAPI
import ProvisionerCore
import ProvisionerPlatform
import ProvisionerStore

/// Builds serve's HTTP application: boot scripts, image files (with Range),
/// the node API, the cluster API, the status page and metrics. Tests call
/// this same builder.
public func buildApplication(_ state: ServeState, host: String, port: Int) -> some ApplicationProtocol {
    Application(
        router: buildRouter(state),
        configuration: .init(address: .hostname(host, port: port), serverName: "provisioner"),
        logger: state.logger
    )
}

public func buildRouter(_ state: ServeState) -> Router<ServeContext> {
    let router = Router(context: ServeContext.self)
    router.middlewares.add(CountingMiddleware(state: state))
    router.middlewares.add(ErrorMappingMiddleware(state: state))
    router.middlewares.add(BootFetchMiddleware(state: state))
    router.middlewares.add(FileMiddleware(state.config.httpRoot + "/images", urlBasePath: "/images", searchForIndexHtml: false, logger: state.logger))
    // UEFI HTTP Boot: the firmware fetches its loader here, with no TFTP.
    router.middlewares.add(FileMiddleware(state.config.httpRoot + "/loaders", urlBasePath: "/loaders", searchForIndexHtml: false, logger: state.logger))

    router.get("/boot.ipxe") { _, _ in try fileResponse(state.config.httpRoot + "/boot.ipxe", type: "text/plain") }
    router.get("/boot/:file") { _, context in try bootScript(state, context) }
    router.post(RouterPath(NodeAPI.enrollPath)) { request, context in try await enroll(state, request, context) }
    router.post(RouterPath(NodeAPI.heartbeatPath)) { request, context in try await heartbeat(state, request, context) }
    router.get("/api/v1/nodes") { _, _ in try json(try state.registry.statuses()) }
    router.get("/api/v1/nodes/:name") { _, context in
        let name = try context.parameters.require("name")
        guard let s = try state.registry.status(name) else { return try apiError(.notFound, "no node \(quoted(name))") }
        return try json(s)
    }
    NodeWriteAPI.register(router, state)
    NodeWriteAPI.registerPower(router, state)
    router.get("/api/v1/discovered") { _, _ in try json(try state.registry.discovered()) }
    router.get("/api/v1/instances") { _, _ in try json(try state.registry.instances()) }
    router.get("/api/v1/rollouts") { _, _ in try json(try state.registry.rollouts(image: nil)) }
    router.get("/metrics") { _, _ in try metricsResponse(state) }
    router.get("/") { _, _ in try statusPage(state) }
    router.get("/healthz") { _, _ in "ok\n" }
    router.get("/api/v1/openapi.json") { _, _ in
        switch OpenAPIDocument.json {
        case .success(let document): Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: document))
        case .failure(let error): try apiError(.serviceUnavailable, error.description)
        }
    }
    return router
}

// MARK: - boot scripts

/// `GET /boot/<mac-dashed>.ipxe`: a registered node gets its own script
/// (only from its own address in authoritative mode: the script carries its
/// enrollment token); an unknown MAC is queued for discovery and gets the default.
func bootScript(_ state: ServeState, _ context: ServeContext) throws -> Response {
    let file = try context.parameters.require("file")
    let defaultScript = state.config.httpRoot + "/boot/default.ipxe"
    if file == "default.ipxe" { return try fileResponse(defaultScript, type: "text/plain") }
    guard file.hasSuffix(".ipxe"), let mac = try? MACAddress(parsing: String(file.dropLast(5))) else {
        return try apiError(.notFound, "no boot script \(quoted(file))")
    }
    guard let node = try state.bootNode(mac: mac) else {
        if autoAccept(state, mac, from: context.clientIP) {
            // Served to the address it asks from: a dynamic lease, until the initramfs' DHCP gets the node's own.
            state.recordBootPhase { try state.registry.recordBootEvent(mac: mac, ip: context.clientIP?.description, phase: .ipxe, now: state.now(), newBoot: true) }
            return try fileResponse(state.config.httpRoot + "/boot/\(mac.dashed).ipxe", type: "text/plain")
        }
        state.recordBootPhase { try state.registry.recordBootEvent(mac: mac, ip: context.clientIP?.description, phase: .ipxe, now: state.now()) }
        state.logger.notice("unknown machine \(mac) from \(context.clientIP?.description ?? "?") asked for its boot script: queued for discovery")
        return try fileResponse(defaultScript, type: "text/plain")
    }
    if state.checksSourceIP, context.clientIP != node.ip {
        state.count { $0.rejected += 1 }
        state.logger.warning("boot script of \(node.hostname) (\(mac)) refused to \(context.clientIP?.description ?? "?"): not the node's address \(node.ip)")
        return try apiError(.forbidden, "boot script of \(mac) is only served to \(node.ip)")
    }
    state.recordBootPhase { try state.registry.recordBootEvent(mac: mac, ip: context.clientIP?.description, phase: .ipxe, now: state.now()) }
    return try fileResponse(state.config.httpRoot + "/boot/\(mac.dashed).ipxe", type: "text/plain")
}

/// With `discovery.mode: auto`, gives an unknown MAC the first node waiting
/// for one and writes its boot files; false when discovery is manual, serve
/// writes no boot files, or no node waits (the machine then stays queued).
func autoAccept(_ state: ServeState, _ mac: MACAddress, from ip: IPv4Address?) -> Bool {
    guard state.config.discovery == .auto, state.applier != nil else { return false }
    do {
        let (node, files) = try state.nodeOperations.accept(mac: mac, hostname: nil, profile: nil, now: state.now())
        state.count { $0.autoAccepted += 1 }
        state.logger.notice("unknown machine \(mac) from \(ip?.description ?? "?") took the waiting node \(node.hostname) (\(node.ip)): discovery is auto (\(files.summary))")
        return true
    } catch {
        state.logger.warning("unknown machine \(mac) from \(ip?.description ?? "?") not accepted automatically: \(error)")
        return false
    }
}

/// Records the kernel and initrd fetches of a node (by its address) as boot phases.
struct BootFetchMiddleware: RouterMiddleware {
    let state: ServeState

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        let path = request.uri.path
        guard path.hasPrefix("/images/"), response.status == .ok || response.status == .partialContent,
              request.headers[.range] == nil || request.headers[.range]?.hasPrefix("bytes=0-") == true,
              let ip = context.clientIP, let node = state.bootNode(ip: ip), let mac = node.mac else { return response }
        let phase: BootPhase? = path.hasSuffix("/vmlinuz") ? .kernel : path.hasSuffix("/initrd.img") ? .initrd : nil
        if let phase { state.recordBootPhase { try state.registry.recordBootEvent(mac: mac, ip: ip.description, phase: phase, now: state.now()) } }
        return response
    }
}

/// Counts requests and bytes served, for /metrics.
struct CountingMiddleware: RouterMiddleware {
    let state: ServeState

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        let bytes = response.headers[.contentLength].flatMap { Int($0) } ?? 0
        state.count { $0.httpRequests += 1; $0.httpBytes += bytes }
        return response
    }
}

// MARK: - node API

/// `POST /api/v1/enroll`: token, MAC and source address checked; answers a heartbeat credential.
func enroll(_ state: ServeState, _ request: Request, _ context: ServeContext) async throws -> Response {
    func reject(_ status: HTTPResponse.Status, _ why: String) throws -> Response {
        state.count { $0.rejected += 1 }
        state.logger.warning("enrollment refused from \(context.clientIP?.description ?? "?"): \(why)")
        return try apiError(status, why)
    }
    guard let body = try? await request.body.collect(upTo: NodeAPI.maxBodyBytes) else {
        return try reject(.contentTooLarge, "request body over \(NodeAPI.maxBodyBytes) bytes")
    }
    guard let req = try? JSONDecoder().decode(EnrollRequest.self, from: Data(buffer: body)) else {
        return try reject(.badRequest, "body is not an enrollment request (JSON)")
    }
    guard let mac = try? MACAddress(parsing: req.mac) else { return try reject(.badRequest, "invalid MAC address \(quoted(req.mac))") }
    guard let node = try state.bootNode(mac: mac) else { return try reject(.forbidden, "MAC \(mac) is not registered (accept it from discovery first)") }
    guard NodeToken.matches(req.token, secret: state.secret, mac: mac) else { return try reject(.forbidden, "bad token for \(node.hostname) (\(mac))") }
    if state.checksSourceIP, context.clientIP != node.ip {
        return try reject(.forbidden, "\(node.hostname) must enroll from its address \(node.ip), not \(context.clientIP?.description ?? "?")")
    }
    // Recorded first: an enrollment the registry cannot take (503, retryable) leaves no credential behind.
    try state.registry.recordEnrollment(hostname: node.hostname, image: req.image, capacity: req.capacity, instances: req.instances,
                                        bootTimings: req.bootTimings, platform: req.platform, now: state.now())
    let credential = randomHex(32)
    state.credentials.withLock { creds in
        creds = creds.filter { $0.value.hostname != node.hostname }
        creds[credential] = .init(hostname: node.hostname, ip: node.ip, sequence: -1)
    }
    state.count { $0.enrollments += 1 }
    state.logger.info("enrolled \(node.hostname) (\(mac), \(node.ip)): \(req.capacity.coresMax) cores, \(req.capacity.memoryMiBMax) MiB, \(req.capacity.hypervisor.rawValue), image \(req.image ?? "?")\(req.platform.map { ", firmware " + $0.summary } ?? "")")
    return try json(EnrollResponse(hostname: node.hostname.value, credential: credential, heartbeatSeconds: state.heartbeatSeconds))
}

/// `POST /api/v1/heartbeat` with `Authorization: Bearer <credential>`.
func heartbeat(_ state: ServeState, _ request: Request, _ context: ServeContext) async throws -> Response {
    func reject(_ status: HTTPResponse.Status, _ why: String) throws -> Response {
        state.count { $0.rejected += 1 }
        state.logger.warning("heartbeat refused from \(context.clientIP?.description ?? "?"): \(why)")
        return try apiError(status, why)
    }
    let auth = request.headers[.authorization] ?? ""
    guard auth.hasPrefix("Bearer "), let cred = state.credentials.withLock({ $0[String(auth.dropFirst(7))] }) else {
        return try reject(.unauthorized, "unknown or missing credential: enroll again")
    }
    guard let body = try? await request.body.collect(upTo: NodeAPI.maxBodyBytes) else {
        return try reject(.contentTooLarge, "request body over \(NodeAPI.maxBodyBytes) bytes")
    }
    guard let beat = try? JSONDecoder().decode(Heartbeat.self, from: Data(buffer: body)) else {
        return try reject(.badRequest, "body is not a heartbeat (JSON)")
    }
    if state.checksSourceIP, context.clientIP != cred.ip {
        return try reject(.forbidden, "credential of \(cred.hostname) used from \(context.clientIP?.description ?? "?")")
    }
    let fresh: Bool = state.credentials.withLock { creds in
        let key = String(auth.dropFirst(7))
        guard let c = creds[key], beat.sequence > c.sequence else { return false }
        creds[key]?.sequence = beat.sequence
        return true
    }
    guard fresh else { return try reject(.conflict, "heartbeat \(beat.sequence) of \(cred.hostname) replayed or out of order") }
    let work = try await state.heartbeats.submit(.init(hostname: cred.hostname, capacity: beat.capacity, reported: beat.instances, bootTimings: beat.bootTimings))
    state.count { $0.heartbeats += 1 }
    for spec in work.run { state.logger.info("asking \(cred.hostname) to start instance \(spec.id)") }
    for id in work.terminate { state.logger.info("asking \(cred.hostname) to terminate instance \(id)") }
    return try json(HeartbeatResponse(run: work.run, terminate: work.terminate, heartbeatSeconds: state.heartbeatSeconds))
}

// MARK: - helpers

func randomHex(_ bytes: Int) -> String {
    var rng = SystemRandomNumberGenerator()
    return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &rng)) }.joined()
}

func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    let data = try enc.encode(value)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

func apiError(_ status: HTTPResponse.Status, _ message: String) throws -> Response {
    try json(APIError(error: message), status: status)
}

/// The one place an error becomes an HTTP answer: its status from its kind
/// (`FailureKind.httpStatus`), the message and kind in the body, a clash's
/// field, value and holder, and `Retry-After` when trying again may work.
func errorResponse(_ error: any Error) throws -> Response {
    let kind = FailureKind(of: error)
    var body = APIError(error: String(describing: error), kind: kind)
    if let c = error as? ConflictError {
        body.field = c.field
        body.value = c.value
        body.holder = c.holder
    }
    var response = try json(body, status: HTTPResponse.Status(code: kind.httpStatus))
    if kind.isRetryable { response.headers[.retryAfter] = "5" }
    return response
}

/// Turns an error thrown by any handler into its answer (`errorResponse`),
/// so a registry that fails gives a 503 or 500 with a JSON body, never a bare
/// connection error; Hummingbird's own HTTP errors (no route) pass through.
struct ErrorMappingMiddleware: RouterMiddleware {
    let state: ServeState

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            state.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            return try errorResponse(error)
        }
    }
}

func fileResponse(_ path: String, type: String) throws -> Response {
    guard let data = FileSystem.read(path) else { return try apiError(.notFound, "not found (site not applied?)") }
    return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

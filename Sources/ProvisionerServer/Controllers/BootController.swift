import Foundation
import Hummingbird
import NIOCore
import ProvisionerAPI
import ProvisionerCore
import ProvisionerPlatform

/// The boot files over HTTP: iPXE's first script, each node's own script
/// (only to the node's own address in authoritative mode, so a boot is
/// recorded only when the node asks; it holds no secret), and, as static
/// files with Range, the kernels, initrds and root images of the generations and UEFI HTTP Boot's loaders.
/// An unknown MAC asking for its script is queued for discovery (or, with
/// `discovery: auto`, takes a waiting node).
struct BootController {
    let state: ServeState

    /// The static files: routes cannot hold them (any path below the folder answers), so they go on the router.
    func addFiles(to router: Router<ServeContext>) {
        // The generations' files, and UEFI HTTP Boot's loaders (the firmware fetches its loader here, with no TFTP).
        let roots = ["/images", "/loaders"].map { (prefix: $0, dir: state.config.httpRoot + $0) }
        router.middlewares.add(BootFetchMiddleware(state: state))
        router.middlewares.add(RangeMiddleware(roots: roots))
        for root in roots {
            router.middlewares.add(FileMiddleware(root.dir, urlBasePath: root.prefix, searchForIndexHtml: false, logger: state.logger))
        }
    }

    var endpoints: RouteCollection<ServeContext> {
        let routes = RouteCollection(context: ServeContext.self)
        let controller = self, state = self.state
        routes.get("/boot.ipxe") { _, _ in try fileResponse(state.config.httpRoot + "/boot.ipxe", type: "text/plain") }
        routes.get("/boot/:file") { _, context in
            let file = try context.parameters.require("file")
            let clientIP = context.clientIP
            // The node, within half a second whatever the registry does (a hung
            // database is the follower's to notice; the replica answers meanwhile).
            guard file.hasSuffix(".ipxe"), let mac = try? MACAddress(parsing: String(file.dropLast(5))) else {
                return try controller.bootScript(file, node: nil, from: clientIP)
            }
            if let node = await state.bootNode(mac: mac, within: .milliseconds(500)) {
                return try controller.bootScript(file, node: node, from: clientIP)
            }
            // An unknown machine: discovery writes to the registry, off the cooperative pool.
            return try await blocking { try controller.bootScript(file, node: nil, from: clientIP) }
        }
        return routes
    }

    /// `GET /boot/<mac-dashed>.ipxe`: a registered node gets its own script;
    /// an unknown MAC is queued for discovery and gets the default.
    /// - Parameter node: the registered node of the script's MAC, nil when none.
    func bootScript(_ file: String, node: Node?, from clientIP: IPv4Address?) throws -> Response {
        let defaultScript = state.config.httpRoot + "/boot/default.ipxe"
        if file == "default.ipxe" { return try fileResponse(defaultScript, type: "text/plain") }
        guard file.hasSuffix(".ipxe"), let mac = try? MACAddress(parsing: String(file.dropLast(5))) else {
            return try apiError(.notFound, "no boot script \(quoted(file))")
        }
        guard let node else {
            if autoAccept(mac, from: clientIP) {
                // Served to the address it asks from: a dynamic lease, until the initramfs' DHCP gets the node's own.
                state.recordBootPhase { try state.registry.recordBootEvent(mac: mac, ip: clientIP?.description, phase: .ipxe, now: state.now(), newBoot: true) }
                return try nodeScript(mac, to: clientIP)
            }
            state.recordBootPhase { try state.registry.recordBootEvent(mac: mac, ip: clientIP?.description, phase: .ipxe, now: state.now()) }
            state.logger.notice("unknown machine \(mac) from \(clientIP?.description ?? "?") asked for its boot script: queued for discovery")
            return try fileResponse(defaultScript, type: "text/plain")
        }
        if state.checksSourceIP, clientIP != node.ip {
            state.count { $0.rejected += 1 }
            state.logger.warning("boot script of \(node.hostname) (\(mac)) refused to \(clientIP?.description ?? "?"): not the node's address \(node.ip)")
            return try apiError(.forbidden, "boot script of \(mac) is only served to \(node.ip)")
        }
        state.recordBootPhase { try state.registry.recordBootEvent(mac: mac, ip: clientIP?.description, phase: .ipxe, now: state.now()) }
        return try nodeScript(mac, to: clientIP)
    }

    /// The node's iPXE script as rendered. It holds no secret: the node
    /// controller asks for its boot credential over the node API's TLS.
    func nodeScript(_ mac: MACAddress, to clientIP: IPv4Address?) throws -> Response {
        guard let data = FileSystem.read(state.config.httpRoot + "/boot/\(mac.dashed).ipxe") else {
            return try apiError(.notFound, "not found (site not applied?)")
        }
        return Response(status: .ok, headers: [.contentType: "text/plain", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    /// With `discovery.mode: auto`, gives an unknown MAC the first node waiting
    /// for one and writes its boot files; false when discovery is manual, serve
    /// writes no boot files, the machine has no fresh lease from serve's DHCP
    /// for the address it asks from (`DiscoveryRules`), or no node waits (the
    /// machine then stays queued).
    func autoAccept(_ mac: MACAddress, from ip: IPv4Address?) -> Bool {
        guard state.config.discovery == .auto, state.applier != nil, state.replica.isReachable else { return false }
        do {
            let lease = try state.registry.lease(mac: mac)
            if let why = DiscoveryRules.refusal(leaseIP: lease?.ip, leaseAge: state.secondsSince(lease?.at), clientIP: ip,
                                                authoritative: state.checksSourceIP) {
                state.logger.notice("unknown machine \(mac) from \(ip?.description ?? "?") not accepted automatically: \(why)")
                return false
            }
            let (node, files) = try state.nodeOperations.accept(mac: mac, hostname: nil, profile: nil, now: state.now())
            state.count { $0.autoAccepted += 1 }
            state.logger.notice("unknown machine \(mac) from \(ip?.description ?? "?") took the waiting node \(node.hostname) (\(node.ip)): discovery is auto (\(files.summary))")
            return true
        } catch {
            state.logger.warning("unknown machine \(mac) from \(ip?.description ?? "?") not accepted automatically: \(error)")
            return false
        }
    }
}

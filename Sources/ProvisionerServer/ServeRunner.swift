import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import ProvisionerCore
import ProvisionerPlatform
import ProvisionerStore
import ProvisionerSite

/// `provisioner serve` as one supervised service: preflight, the boot
/// daemons (started before the server answers), the plain HTTP server (boot
/// files, the node API), the HTTPS server (everything, the operator API
/// among it), and beside them the housekeeping and replication services; on
/// SIGTERM or SIGINT everything it started is stopped.
public struct ServeRunner: Sendable {
    public var state: ServeState
    public var daemons: DaemonStarter
    public var host: String
    public var port: Int
    /// The HTTPS listener: its port and this boot server's certificate; nil runs none.
    public var secure: (port: Int, tls: SiteTLS)?
    /// The socket dnsmasq's lease script hands DHCP events to, and the one user besides root that may; nil opens none.
    public var events: (path: String, uid: uid_t)?

    public init(state: ServeState, daemons: DaemonStarter, host: String, port: Int, secure: (port: Int, tls: SiteTLS)? = nil,
                events: (path: String, uid: uid_t)? = nil) {
        self.state = state
        self.events = events
        self.daemons = daemons
        self.host = host
        self.port = port
        self.secure = secure
    }

    /// Runs until SIGTERM/SIGINT.
    /// - Throws: `SystemError` when a preflight check fails or a daemon does not come up (nothing is left running).
    public func run() async throws {
        let logger = state.logger
        var operatorAddress: (host: String, port: Int)?
        if secure != nil, case .address(let a, let p) = state.config.operatorListen { operatorAddress = (a.description, p) }
        if let problem = daemons.preflight(httpPort: port, httpsPort: secure?.port, operatorListen: operatorAddress) {
            throw SystemError("cannot start: \(problem)")
        }
        if case .failure(let error) = OpenAPIDocument.json { logger.warning("\(error) (GET /api/v1/openapi.json answers 503)") }
        let supervisor = state.supervisor
        defer { supervisor.stopAll() }
        let eventSocket = try events.map { try openEventSocket($0.path, uid: $0.uid) }
        defer { eventSocket?.close() }
        let state = self.state, daemons = self.daemons, host = self.host, port = self.port
        let operatorListen = state.config.operatorListen
        let plain = try buildApplication(
            state, host: host, port: port, role: secure != nil ? .plain : .all,
            services: [HousekeepingService(state: state), ReplicationService(state: state)],
            beforeServerStarts: {
                try await blocking { try daemons.start(supervisor, logger: logger) }
                state.daemonsUp.store(true, ordering: .releasing)
            },
            onServerRunning: { _ in
                let apis = secure == nil ? ", node and operator APIs" : ""
                logger.info("serving http://\(host):\(port) (boot scripts, images\(apis))")
            })
        var services: [any Service] = [plain]
        if let secure {
            let securePort = secure.port
            let both = operatorListen == .node
            services.append(try buildApplication(
                state, host: host, port: securePort, role: both ? .all : .node, tls: secure.tls,
                onServerRunning: { _ in
                    logger.info("serving https://\(host):\(securePort) (node API\(both ? ", operator API, status page, metrics" : ""); the site CA is \(secure.tls.caPath), \(state.config.siteCA ?? "?"))")
                }))
            if case .address(let address, let operatorPort) = operatorListen {
                services.append(try buildApplication(
                    state, host: address.description, port: operatorPort, role: .operator, tls: secure.tls,
                    onServerRunning: { _ in
                        logger.info("serving https://\(address):\(operatorPort) (operator API, status page, metrics; http.operator_listen)")
                    }))
            }
        }
        // Returns on SIGTERM/SIGINT (graceful shutdown: the services stop too), or throws when a daemon did not start.
        try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        logger.info("shutting down: stopping the daemons")
    }

    /// The lease script's socket: each event, checked, then recorded as a boot phase on the telemetry queue.
    private func openEventSocket(_ path: String, uid: uid_t) throws -> LocalEventSocket {
        let socket = try LocalEventSocket(path: path, allowedUID: uid)
        let state = self.state
        socket.serve({ data in
            let event: (DHCPLeaseEvent, MACAddress, IPv4Address)
            do { event = try DHCPLeaseEvent.parse([UInt8](data)) } catch {
                state.logger.warning("dhcp event refused: \(error)")
                return
            }
            let now = Timestamp.iso(Date())
            // Written beside the boot, on the telemetry queue: a hung registry holds up no lease script.
            state.recordBootPhase {
                try Site.recordDHCPEvent(event.0, mac: event.1, ip: event.2, registry: state.registry, config: state.config, now: now)
            }
        }, refused: { uid in state.logger.warning("dhcp event socket: refused a connection from uid \(uid)") })
        return socket
    }
}

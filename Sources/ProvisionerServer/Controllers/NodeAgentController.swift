import Foundation
import Hummingbird
import ProvisionerAPI
import ProvisionerCore
import ProvisionerStore

/// The node controllers' API: boot credentials (single-use, to the node's
/// own address while it is not up), enrollment (with one, used up) and
/// heartbeats (with the credential enrollment gave, numbered, each taken once). Who is admitted is `NodeAgentRules`; this
/// controller reads the request, looks up, records and answers.
struct NodeAgentController {
    let state: ServeState

    var endpoints: RouteCollection<ServeContext> {
        let routes = RouteCollection(context: ServeContext.self)
        let controller = self
        routes.post(RouterPath(NodeAPI.enrollPath)) { request, context in try await controller.enroll(request, from: context.clientIP) }
        routes.post(RouterPath(NodeAPI.heartbeatPath)) { request, context in try await controller.heartbeat(request, from: context.clientIP) }
        routes.post(RouterPath(NodeAPI.tokenPath)) { request, context in try await controller.token(request, from: context.clientIP) }
        return routes
    }

    /// A refusal's answer, counted and logged.
    func refuse(_ what: String, _ refusal: NodeAgentRules.Refusal, from clientIP: IPv4Address?) throws -> Response {
        state.count { $0.rejected += 1 }
        state.logger.warning("\(what) refused from \(clientIP?.description ?? "?"): \(refusal.reason)")
        let status: HTTPResponse.Status = switch refusal.kind {
        case .badRequest: .badRequest
        case .tooLarge: .contentTooLarge
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .conflict: .conflict
        }
        return try apiError(status, refusal.reason)
    }

    /// The request's JSON body as `T`.
    /// - Throws: `Refusal` (too large, or not `what`).
    func body<T: Decodable>(_ type: T.Type, of request: Request, what: String) async throws(NodeAgentRules.Refusal) -> T {
        guard let buffer = try? await request.body.collect(upTo: NodeAPI.maxBodyBytes) else {
            throw .init(.tooLarge, "request body over \(NodeAPI.maxBodyBytes) bytes")
        }
        guard let value = try? JSONDecoder().decode(T.self, from: Data(buffer: buffer)) else {
            throw .init(.badRequest, "body is not \(what) (JSON)")
        }
        return value
    }

    /// `POST /api/v1/enroll`: boot credential (used up), MAC and source address checked; answers a heartbeat credential.
    func enroll(_ request: Request, from clientIP: IPv4Address?) async throws -> Response {
        let state = self.state
        let req: EnrollRequest
        let node: Node
        let credential = Secret.random(bytes: 32)
        var pinned: String?
        do {
            req = try await body(EnrollRequest.self, of: request, what: "an enrollment request")
            let mac = try NodeAgentRules.enrollingMAC(req.mac)
            // Look-up, admission and record in one trip to the blocking pool.
            // Recorded before the heartbeat credential: an enrollment the
            // registry cannot take (503) leaves none behind; its boot
            // credential is used up then, and the node asks for a new one.
            (node, pinned) = try await blocking {
                let found = try state.bootNode(mac: mac)
                let minted = try state.registry.bootCredential(mac: mac)
                let status = try state.registry.status(mac.description)
                let node = try NodeAgentRules.admitEnrollment(
                    node: found, mac: mac, credential: req.token, minted: minted, secondsSinceMint: state.secondsSince(minted?.mintedAt),
                    clientIP: clientIP, checksSourceIP: state.checksSourceIP,
                    secondsSinceHeartbeat: state.secondsSince(status?.lastHeartbeat), aliveWithin: state.aliveWithin)
                let pin = try tpmPin(req, node: node, mac: mac)
                // The credential used up (once, whichever boot server gets there first), the
                // status and the heartbeat credential recorded: one transaction.
                let enrollment = EnrollmentRecord(node: node, bootDigest: minted?.digest ?? "", from: clientIP?.description,
                                                  heartbeatDigest: Secret.digest(credential), image: req.image, capacity: req.capacity,
                                                  instances: req.instances, bootTimings: req.bootTimings, platform: req.platform, tpmPin: pin)
                guard try state.registry.enroll(enrollment, now: state.now()) else {
                    throw NodeAgentRules.Refusal(.conflict, "the boot credential of \(node.hostname) (\(mac)) was just used or replaced: one boot enrolls once")
                }
                return (node, pin)
            }
        } catch let refusal as NodeAgentRules.Refusal {
            return try refuse("enrollment", refusal, from: clientIP)
        }
        if let pinned { state.logger.notice("\(node.hostname) (\(node.mac?.description ?? "?")) is now bound to its TPM key \(pinned)") }
        state.credentials.issue(credential, hostname: node.hostname, ip: node.ip, at: state.clock())
        state.count { $0.enrollments += 1 }
        state.logger.info("enrolled \(node.hostname) (\(node.mac?.description ?? "?"), \(node.ip)): \(req.capacity.coresMax) cores, \(req.capacity.memoryMiBMax) MiB, \(req.capacity.hypervisor.rawValue), image \(req.image ?? "?")\(req.platform.map { ", firmware " + $0.summary } ?? "")")
        let cloud = await state.cloudJoin(for: node)
        if let pending = cloud.pending { state.recordCloud(node.hostname, CloudMemberReport(state: "pending", reason: pending)) }
        if cloud.join != nil { state.recordCloud(node.hostname, CloudMemberReport(state: "joining")) }
        return try json(EnrollResponse(hostname: node.hostname.value, credential: credential, heartbeatSeconds: state.heartbeatSeconds,
                                       cloud: cloud.join, cloudPending: cloud.pending))
    }

    /// The TPM key to pin with this enrollment, if it is the node's first to
    /// prove one (`TPMBinding`). A node bound to a key must prove that key:
    /// a different one is kept for the operator to accept, and the
    /// enrollment refused (its boot credential is not used up).
    /// - Throws: `NodeAgentRules.Refusal` (403).
    func tpmPin(_ req: EnrollRequest, node: Node, mac: MACAddress) throws -> String? {
        var offered: String?
        if let proof = req.tpm {
            do { offered = try TPMBinding.verify(proof, mac: mac, token: req.token) } catch {
                throw NodeAgentRules.Refusal(.forbidden, "\(node.hostname): TPM proof refused: \(error)")
            }
        }
        switch TPMBinding.decide(node: node.hostname, pinned: try state.registry.tpmKey(hostname: node.hostname)?.fingerprint, offered: offered) {
        case .unbound, .proven: return nil
        case .pin(let key): return key
        case .refuse(let why, let offered):
            if let offered { try state.registry.offerTPMKey(hostname: node.hostname, fingerprint: offered, now: state.now()) }
            throw NodeAgentRules.Refusal(.forbidden, why)
        }
    }

    /// `POST /api/v1/node-token`: a new single-use boot credential for a node
    /// whose boot files carry none (or whose one was used or refused), to its
    /// own address while it is not up (`NodeAgentRules.admitTokenRequest`).
    func token(_ request: Request, from clientIP: IPv4Address?) async throws -> Response {
        let state = self.state
        let node: Node, mac: MACAddress, credential: String
        do {
            let req = try await body(NodeTokenRequest.self, of: request, what: "a token request")
            mac = try NodeAgentRules.enrollingMAC(req.mac)
            (node, credential) = try await blocking {
                let found = try state.bootNode(mac: mac)
                let status = try state.registry.status(mac.description)
                let node = try NodeAgentRules.admitTokenRequest(
                    node: found, mac: mac, clientIP: clientIP, checksSourceIP: state.checksSourceIP,
                    secondsSinceHeartbeat: state.secondsSince(status?.lastHeartbeat), aliveWithin: state.aliveWithin)
                return (node, try state.mintBootCredential(for: mac, to: clientIP))
            }
        } catch let refusal as NodeAgentRules.Refusal {
            return try refuse("boot credential request", refusal, from: clientIP)
        }
        state.logger.info("gave \(node.hostname) (\(mac)) a boot credential at \(clientIP?.description ?? "?")")
        return try json(NodeTokenResponse(token: credential))
    }

    /// The heartbeat credential with this value: as known here, else (or when
    /// due for a check) as the registry has it. While the registry cannot say,
    /// one known here stands; one not known here is a retryable error. With
    /// authoritative DHCP, a value not known here from an address no node has
    /// is not looked up at all: a flood of made-up credentials never reaches
    /// the registry.
    func current(_ value: String, from clientIP: IPv4Address?) async throws -> NodeAgentRules.Credential? {
        guard !value.isEmpty else { return nil }
        let state = self.state, now = state.clock()
        let cached = state.credentials.lookup(value, at: now)
        if let cached, !cached.recheck { return cached.credential }
        if cached == nil, state.checksSourceIP, state.replica.count > 0, clientIP.flatMap(state.replica.node(ip:)) == nil { return nil }
        let found: (hostname: Hostname, ip: IPv4Address)?
        do {
            found = try await blocking { try state.registry.nodeCredential(digest: Secret.digest(value)) }
        } catch {
            if let cached { return cached.credential }
            throw error
        }
        guard let found else {
            state.credentials.forget(value)
            return nil
        }
        guard state.credentials.adopt(value, hostname: found.hostname, ip: found.ip, asked: now, at: state.clock()) else { return nil }
        return state.credentials.lookup(value, at: state.clock())?.credential
    }

    /// `POST /api/v1/heartbeat` with `Authorization: Bearer <credential>`.
    func heartbeat(_ request: Request, from clientIP: IPv4Address?) async throws -> Response {
        let value = bearerToken(of: request)
        let known: NodeAgentRules.Credential?
        do {
            known = try await current(value, from: clientIP)
        } catch {
            return try errorResponse(error)
        }
        guard known != nil else {
            return try refuse("heartbeat", .init(.unauthorized, "unknown or missing credential: enroll again"), from: clientIP)
        }
        let beat: Heartbeat
        let credential: NodeAgentRules.Credential
        do {
            beat = try await body(Heartbeat.self, of: request, what: "a heartbeat")
            credential = try NodeAgentRules.admitHeartbeat(credential: known, clientIP: clientIP, checksSourceIP: state.checksSourceIP)
        } catch {
            return try refuse("heartbeat", error, from: clientIP)
        }
        guard state.credentials.advance(value, to: beat.sequence) else {
            // Replayed or out of order: someone else holds this credential too. It is
            // revoked for both (here and in the registry); the node asks for a new boot
            // credential once the alive window has passed and enrolls again.
            state.credentials.forget(value)
            do {
                try await blocking { try state.registry.revokeNodeCredential(digest: Secret.digest(value)) }
            } catch {
                state.logger.error("revoking the replayed credential of \(credential.hostname) in the registry: \(error)")
            }
            return try refuse("heartbeat", NodeAgentRules.stale(beat.sequence, of: credential.hostname), from: clientIP)
        }
        let work = try await state.heartbeats.submit(.init(hostname: credential.hostname, capacity: beat.capacity, reported: beat.instances, bootTimings: beat.bootTimings))
        state.count { $0.heartbeats += 1 }
        for spec in work.run { state.logger.info("asking \(credential.hostname) to start instance \(spec.id)") }
        for id in work.terminate { state.logger.info("asking \(credential.hostname) to terminate instance \(id)") }
        let report = beat.cloud.flatMap(CloudRules.checked)
        if let report { state.recordCloud(credential.hostname, report) }
        let cloud = await state.cloudRetry(for: credential.hostname.value, report: report)
        return try json(HeartbeatResponse(run: work.run, terminate: work.terminate, heartbeatSeconds: state.heartbeatSeconds,
                                          cloud: cloud.join, cloudPending: cloud.pending))
    }
}

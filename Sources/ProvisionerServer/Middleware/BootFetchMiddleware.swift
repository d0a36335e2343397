import Hummingbird
import ProvisionerAPI
import ProvisionerCore

/// Records the kernel and initrd fetches of a node (by its address) as boot
/// phases, on serve's telemetry queue, only for those two files; the answer
/// does not wait for it.
struct BootFetchMiddleware: RouterMiddleware {
    let state: ServeState

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        let path = request.uri.path
        guard path.hasPrefix("/images/"), response.status == .ok || response.status == .partialContent,
              request.headers[.range] == nil || request.headers[.range]?.hasPrefix("bytes=0-") == true,
              let phase: BootPhase = path.hasSuffix("/vmlinuz") ? .kernel : path.hasSuffix("/initrd.img") ? .initrd : nil,
              let ip = context.clientIP else { return response }
        let state = self.state
        // The boot does not wait for its telemetry: the answer goes now, the phase is recorded beside it.
        let now = state.now()
        state.recordBootPhase {
            guard let mac = state.bootNode(ip: ip)?.mac else { return }
            _ = try state.registry.recordBootEvent(mac: mac, ip: ip.description, phase: phase, now: now)
        }
        return response
    }
}

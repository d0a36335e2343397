import Hummingbird

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

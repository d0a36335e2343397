import Hummingbird

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

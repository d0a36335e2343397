import Foundation
import Hummingbird
import NIOCore
import ProvisionerAPI
import ProvisionerCore
import ProvisionerPlatform

/// The token of `request` (`Authorization: Bearer <token>`, or Basic with the
/// token as the password); "" for none.
func bearerToken(of request: Request) -> String {
    guard let header = request.headers[.authorization] else { return "" }
    if header.hasPrefix("Bearer ") { return String(header.dropFirst(7)) }
    // Basic: a browser's login prompt (the status page), the token as the password.
    guard header.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(header.dropFirst(6))),
          let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return "" }
    return String(text[text.index(after: colon)...])
}

func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
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

func fileResponse(_ path: String, type: String) throws -> Response {
    guard let data = FileSystem.read(path) else { return try apiError(.notFound, "not found (site not applied?)") }
    return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

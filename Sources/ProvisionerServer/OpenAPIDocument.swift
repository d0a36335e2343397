import Foundation
import NIOCore
import ProvisionerPlatform
import Yams

/// The OpenAPI 3 document of serve's HTTP API: `api/openapi.yaml`, found like
/// `templates/` (`$PROVISIONER_API`, `<prefix>/share/provisioner/api`, or the
/// source tree), read once and served as JSON at `GET /api/v1/openapi.json`.
/// `make test` lints the file and fuzzes the running server against it.
enum OpenAPIDocument {
    /// The document as JSON, or why it could not be read.
    static let json: Result<ByteBuffer, SystemError> = {
        guard let dir = Resources.api() else {
            return .failure(SystemError("reading the API document: no api/openapi.yaml found (set PROVISIONER_API to its folder)"))
        }
        let path = dir + "/openapi.yaml"
        guard let data = FileSystem.read(path) else { return .failure(SystemError("reading the API document: cannot read \(path)")) }
        do {
            return .success(ByteBuffer(bytes: try toJSON(yaml: String(decoding: data, as: UTF8.self))))
        } catch {
            return .failure(SystemError("reading the API document \(path): \(error)"))
        }
    }()

    /// YAML text to JSON bytes (sorted keys). The document is plain YAML:
    /// string keys, no dates, anchors or tags.
    /// - Throws: `SystemError` naming what is not plain; Yams' error when the YAML does not parse.
    static func toJSON(yaml: String) throws -> Data {
        guard let tree = try Yams.load(yaml: yaml) else { throw SystemError("the document is empty") }
        return try JSONSerialization.data(withJSONObject: try plain(tree, at: "$"), options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// Yams' values as JSONSerialization takes them: `[String: Any]`, `[Any]`, strings, numbers, booleans, null.
    private static func plain(_ value: Any, at path: String) throws -> Any {
        switch value {
        case let map as [AnyHashable: Any]:
            var out: [String: Any] = [:]
            for (key, child) in map {
                guard let name = key.base as? String else { throw SystemError("\(path): key \(key) is not a string") }
                out[name] = try plain(child, at: path + "." + name)
            }
            return out
        case let list as [Any]:
            return try list.enumerated().map { try plain($1, at: "\(path)[\($0)]") }
        case is String, is Int, is Double, is Bool, is NSNull:
            return value
        default:
            throw SystemError("\(path): \(type(of: value)) is not plain JSON")
        }
    }
}

import Foundation
import Hummingbird
import NIOCore
import ProvisionerAPI
import ProvisionerCore
import ProvisionerSite
import ProvisionerStore

/// The CLI's node changes over HTTP, for scripts and other tools (the
/// operator API's writes; power is `PowerController`):
///
///     POST   /api/v1/nodes                      add: a node object or a list (all or none)
///     PATCH  /api/v1/nodes/{name-or-mac}        change hostname, mac, ip or profile
///     DELETE /api/v1/nodes/{name-or-mac}        remove
///     POST   /api/v1/discovered/{mac}/accept    register a discovered machine
///     POST   /api/v1/power                      {"action": "on|off|cycle|status", "nodes": ["n[01-04]"],
///                                                "parallel": 16, "timeout": 10, "pxe": true} through the BMCs
///     POST   /api/v1/boot-next                  {"device": "pxe", "nodes": [...]}
///
/// Each needs `Authorization: Bearer <token>`, the token in `<home>/api.token`
/// (0600, made on first serve). Bodies are JSON with the keys of `node import`
/// (hostname, mac, ip, profile); the answer is the nodes as `node … --json`
/// prints them plus what was done to their boot files. Bad input is a 400
/// naming the field and value, a clash with the registry a 409, an unknown
/// node a 404; none of them changes anything.
struct NodeWriteController {
    let state: ServeState
    static let nodeKeys = NodeImport.columns

    struct Answer: Encodable {
        var nodes: [Node]
        var bootFiles: NodeOperations.FileReport
        enum CodingKeys: String, CodingKey { case nodes, bootFiles = "boot_files" }
    }

    var endpoints: RouteCollection<ServeContext> {
        let routes = RouteCollection(context: ServeContext.self)
        let state = self.state
        routes.post("/api/v1/nodes") { request, context in
            try await OperatorRequest(state, request, context).run(scope: .write) { ops, body in
                let specs = try NodeImport.parse(json: body, config: state.config)
                let (nodes, files) = try ops.add(specs, now: state.now(), action: "api.node.add")
                state.logger.info("API: added \(nodes.map(\.hostname.value).joined(separator: " ")) (\(files.summary))")
                return try json(Answer(nodes: nodes, bootFiles: files), status: .created)
            }
        }
        routes.patch("/api/v1/nodes/:name") { request, context in
            let key = try context.parameters.require("name")
            return try await OperatorRequest(state, request, context).run(scope: .write) { ops, body in
                let change = try Self.nodeChange(body)
                let (_, new, files) = try ops.update(key, change, now: state.now())
                state.logger.info("API: changed \(key) → \(new.hostname) \(new.mac?.description ?? "-") \(new.ip) \(new.profile) (\(files.summary))")
                return try json(Answer(nodes: [new], bootFiles: files))
            }
        }
        routes.delete("/api/v1/nodes/:name") { request, context in
            let key = try context.parameters.require("name")
            return try await OperatorRequest(state, request, context).run(scope: .write) { ops, _ in
                let (nodes, files) = try ops.remove([key], now: state.now())
                state.logger.info("API: removed \(nodes.map(\.hostname.value).joined(separator: " ")) (\(files.summary))")
                return try json(Answer(nodes: nodes, bootFiles: files))
            }
        }
        routes.post("/api/v1/discovered/:mac/accept") { request, context in
            let macText = try context.parameters.require("mac")
            return try await OperatorRequest(state, request, context).run(scope: .write) { ops, body in
                let mac = try MACAddress(parsing: macText)
                let fields = body.isEmpty ? [:] : try NodeImport.jsonFields(body, allowed: ["hostname", "profile"], location: "body")
                let host = try fields["hostname"].map { h throws(ValidationError) in try Hostname(parsing: h) }
                let profile = try fields["profile"].map { p throws(ValidationError) in try ProfileName(parsing: p) }
                let (node, files) = try ops.accept(mac: mac, hostname: host, profile: profile, now: state.now())
                state.logger.info("API: accepted \(mac) as \(node.hostname) (\(files.summary))")
                return try json(Answer(nodes: [node], bootFiles: files))
            }
        }
        return routes
    }

    /// A body's fields as a node change; at least one field.
    static func nodeChange(_ body: [UInt8]) throws -> NodeChange {
        let f = try NodeImport.jsonFields(body, allowed: nodeKeys, location: "body")
        let change = try NodeChange(parsingHostname: f["hostname"], mac: f["mac"], ip: f["ip"], profile: f["profile"])
        guard !change.isEmpty else {
            throw ValidationError(field: "body", value: String(decoding: body.prefix(60), as: UTF8.self), reason: "nothing to change: give hostname, mac, ip or profile")
        }
        return change
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ProvisionerCore

/// A Redfish BMC: `GET /redfish/v1/Systems`, the system's `PowerState`,
/// `ComputerSystem.Reset` with a `ResetType` it allows, and a one-time
/// `Boot` override. The password goes in the Authorization header only.
public struct RedfishClient: BMCClient {
    let settings: BMCSettings
    let timeout: Double
    let authorization: String
    let base: String
    let resolved = PathBox()

    public init(_ settings: BMCSettings, timeout: Double) throws(BMCError) {
        self.settings = settings
        self.timeout = timeout
        let password = try BMCSecret.read(settings.passwordFile)
        authorization = "Basic " + Data("\(settings.user):\(password)".utf8).base64EncodedString()
        base = settings.address.hasSuffix("/") ? String(settings.address.dropLast()) : settings.address
        let (host, port) = settings.endpoint
        guard tcpReachable(host: host, port: port, timeout: min(timeout, 2)) else {
            throw BMCError(.unreachable, "BMC \(settings.address) is unreachable (no answer on TCP port \(port))")
        }
    }

    public func powerState() throws(BMCError) -> String {
        let system = try self.system()
        guard let state = system.body["PowerState"] as? String else { throw BMCError(.failed, "BMC \(settings.address): the system has no PowerState") }
        return state.lowercased() == "on" ? "on" : "off"
    }

    public func power(_ action: PowerAction) throws(BMCError) -> String {
        let system = try self.system()
        let actions = system.body["Actions"] as? [String: Any]
        let reset = actions?["#ComputerSystem.Reset"] as? [String: Any]
        guard let target = reset?["target"] as? String else { throw BMCError(.refused, "BMC \(settings.address): the system offers no ComputerSystem.Reset") }
        let allowed = reset?["ResetType@Redfish.AllowableValues"] as? [String]
        func pick(_ choices: [String]) -> String? { allowed.map { a in choices.first { a.contains($0) } } ?? choices.first }
        let isOn = (system.body["PowerState"] as? String)?.lowercased() == "on"
        let type: String?
        switch action {
        case .status: return isOn ? "on" : "off"
        case .on: type = pick(["On", "ForceOn"])
        case .off: type = pick(["ForceOff", "GracefulShutdown"])
        // Not every BMC has PowerCycle: a restart when on, a power-on when off.
        case .cycle: type = isOn ? pick(["PowerCycle", "ForceRestart", "GracefulRestart"]) : pick(["On", "ForceOn"])
        }
        guard let type else { throw BMCError(.refused, "BMC \(settings.address) allows no reset type for \(action.rawValue) (it allows \(allowed ?? []))") }
        _ = try request("POST", target, body: ["ResetType": type])
        return type
    }

    public func bootNextPXE() throws(BMCError) {
        _ = try request("PATCH", try systemPath(), body: ["Boot": ["BootSourceOverrideEnabled": "Once", "BootSourceOverrideTarget": "Pxe"]])
    }

    /// The system (by its id when set, else the only one) and its resource.
    func system() throws(BMCError) -> (path: String, body: [String: Any]) {
        let path = try systemPath()
        return (path, try request("GET", path, body: nil))
    }

    /// The system's path: `/redfish/v1/Systems/<id>` when the id is set (where
    /// Redfish puts it), else the only member of the collection. Found once per client.
    func systemPath() throws(BMCError) -> String {
        if let known = resolved.get() { return known }
        let path: String
        if let id = settings.system {
            path = "/redfish/v1/Systems/" + id
        } else {
            let list = try request("GET", "/redfish/v1/Systems", body: nil)
            let members = (list["Members"] as? [[String: Any]] ?? []).compactMap { $0["@odata.id"] as? String }
            guard members.count == 1 else {
                throw BMCError(.config, "BMC \(settings.address) manages \(members.count) systems: set the node's --system")
            }
            path = members[0]
        }
        resolved.set(path)
        return path
    }

    /// One request; JSON in and out. Through AsyncHTTPClient's shared client (no
    /// cookies, no cache; HTTPS verified as by default): Foundation's URLSession on
    /// Linux is libcurl, whose ~25 shared libraries every `provisioner` run loaded
    /// and relocated before its first line (about half of `node add`'s 20 ms).
    func request(_ method: String, _ path: String, body: [String: Any]?) throws(BMCError) -> [String: Any] {
        guard URL(string: base + path) != nil else { throw BMCError(.config, "BMC \(settings.address): bad path \(path)") }
        let response: HTTPClient.Response
        do {
            var req = try HTTPClient.Request(url: base + path, method: HTTPMethod(rawValue: method))
            req.headers.add(name: "Authorization", value: authorization)
            req.headers.add(name: "Accept", value: "application/json")
            if let body, let data = try? JSONSerialization.data(withJSONObject: body) {
                req.headers.add(name: "Content-Type", value: "application/json")
                req.body = .bytes(data)
            }
            let nanoseconds = Int64(timeout * 1e9)
            response = try HTTPClient.shared.execute(request: req, deadline: .now() + .nanoseconds(nanoseconds)).wait()
        } catch {
            if let e = error as? HTTPClientError, [.deadlineExceeded, .connectTimeout, .readTimeout, .writeTimeout].contains(e) {
                throw BMCError(.unreachable, "BMC \(settings.address): no answer to \(method) \(path) within \(Int(timeout)) s")
            }
            let unreachable = error is NIOConnectionError || error is IOError || error is ChannelError
                || (error as? HTTPClientError) == .remoteConnectionClosed
            throw BMCError(unreachable ? .unreachable : .failed, "BMC \(settings.address): \(method) \(path): \(error)")
        }
        let status = Int(response.status.code)
        let data = response.body.map { Data($0.readableBytesView) }
        switch status {
        case 200..<300:
            guard let data, !data.isEmpty else { return [:] }
            return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        case 404:
            throw BMCError(.config, "BMC \(settings.address) has no \(path)\(settings.system.map { " (is the system id \($0) right?)" } ?? "")")
        case 401, 403:
            throw BMCError(.authentication, "BMC \(settings.address) refused user \(settings.user): wrong user or password (HTTP \(status))")
        default:
            let message = data.flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] }
                .flatMap { (($0["error"] as? [String: Any])?["message"] as? String) } ?? ""
            throw BMCError(.refused, "BMC \(settings.address): \(method) \(path): HTTP \(status)\(message.isEmpty ? "" : ": " + message)")
        }
    }

    final class PathBox: @unchecked Sendable { // under lock
        private let lock = NSLock()
        private var path: String?
        func get() -> String? { lock.withLock { path } }
        func set(_ p: String) { lock.withLock { path = p } }
    }
}

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
    /// Its own session, with no cookies or cache shared between BMCs.
    let session: URLSession
    let refuser = ChallengeRefuser()

    public init(_ settings: BMCSettings, timeout: Double) throws(BMCError) {
        self.settings = settings
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        session = URLSession(configuration: configuration, delegate: refuser, delegateQueue: nil)
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

    /// One request; JSON in and out.
    func request(_ method: String, _ path: String, body: [String: Any]?) throws(BMCError) -> [String: Any] {
        guard let url = URL(string: base + path) else { throw BMCError(.config, "BMC \(settings.address): bad path \(path)") }
        var req = URLRequest(url: url, timeoutInterval: timeout)
        req.httpMethod = method
        req.setValue(authorization, forHTTPHeaderField: "Authorization")
        req.setValue("application/json", forHTTPHeaderField: "Accept")
        if let body {
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
            req.httpBody = try? JSONSerialization.data(withJSONObject: body)
        }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: req) { data, response, error in
            box.set(data, (response as? HTTPURLResponse)?.statusCode, error)
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeout + 1) == .timedOut {
            task.cancel()
            throw BMCError(.unreachable, "BMC \(settings.address): no answer to \(method) \(path) within \(Int(timeout)) s")
        }
        let (data, status, error) = box.get()
        if let error {
            let code = (error as? URLError)?.code
            // A 401 with WWW-Authenticate arrives as a challenge, refused below: the credentials were wrong.
            if code == .userCancelledAuthentication || refuser.refused {
                throw BMCError(.authentication, "BMC \(settings.address) refused user \(settings.user): wrong user or password (HTTP 401)")
            }
            let kind: BMCFailure = [.timedOut, .cannotConnectToHost, .networkConnectionLost, .cannotFindHost, .notConnectedToInternet].contains(code) ? .unreachable : .failed
            throw BMCError(kind, "BMC \(settings.address): \(method) \(path): \(error.localizedDescription)")
        }
        switch status ?? 0 {
        case 200..<300:
            guard let data, !data.isEmpty else { return [:] }
            return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        case 404:
            throw BMCError(.config, "BMC \(settings.address) has no \(path)\(settings.system.map { " (is the system id \($0) right?)" } ?? "")")
        case 401, 403:
            throw BMCError(.authentication, "BMC \(settings.address) refused user \(settings.user): wrong user or password (HTTP \(status ?? 0))")
        default:
            let message = data.flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] }
                .flatMap { (($0["error"] as? [String: Any])?["message"] as? String) } ?? ""
            throw BMCError(.refused, "BMC \(settings.address): \(method) \(path): HTTP \(status ?? 0)\(message.isEmpty ? "" : ": " + message)")
        }
    }

    /// Answers an HTTP authentication challenge (a 401 with WWW-Authenticate,
    /// after the Authorization header was sent) by giving up: there is no
    /// other password to try, and with no delegate the task waited forever.
    final class ChallengeRefuser: NSObject, URLSessionTaskDelegate, @unchecked Sendable { // flag under lock
        private let lock = NSLock()
        private var didRefuse = false
        /// A challenge was refused (the task then ends as cancelled).
        var refused: Bool { lock.withLock { didRefuse } }

        func urlSession(_ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
                        completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
            lock.withLock { didRefuse = true }
            completionHandler(.cancelAuthenticationChallenge, nil)
        }
    }

    final class PathBox: @unchecked Sendable { // under lock
        private let lock = NSLock()
        private var path: String?
        func get() -> String? { lock.withLock { path } }
        func set(_ p: String) { lock.withLock { path = p } }
    }

    final class Box: @unchecked Sendable { // written once before the semaphore, read after
        private let lock = NSLock()
        private var value: (Data?, Int?, (any Error)?) = (nil, nil, nil)
        func set(_ d: Data?, _ s: Int?, _ e: (any Error)?) { lock.withLock { value = (d, s, e) } }
        func get() -> (Data?, Int?, (any Error)?) { lock.withLock { value } }
    }
}

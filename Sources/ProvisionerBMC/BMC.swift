import Foundation
import ProvisionerAPI
import ProvisionerCore

/// Why a BMC call failed, as the operator must tell them apart.
public enum BMCFailure: String, Sendable, Codable {
    /// Nothing answered at the address within the time allowed.
    case unreachable
    /// The BMC answered and refused the user or password.
    case authentication
    /// The BMC refused the action itself (not allowed, not supported in this state).
    case refused
    /// The node has no BMC, or its settings or password file are unusable.
    case config
    /// Anything else (an answer that makes no sense).
    case failed

    /// The failure kind (and so the exit status) it is for the operator.
    public var kind: FailureKind {
        switch self {
        case .unreachable: .unavailable
        case .config: .invalidInput
        case .refused: .conflict
        case .authentication, .failed: .failed
        }
    }
}

/// A failed BMC call. Its message never holds the password.
public struct BMCError: Error, CustomStringConvertible, Sendable, ClassifiedError {
    public var failure: BMCFailure
    public var message: String

    public init(_ failure: BMCFailure, _ message: String) {
        self.failure = failure
        self.message = message
    }

    public var description: String { message }
    public var kind: FailureKind { failure.kind }
}

/// One BMC's operations. Implementations must keep the password out of argv, logs and errors.
public protocol BMCClient: Sendable {
    /// The power state: "on" or "off".
    func powerState() throws(BMCError) -> String
    /// Powers on, off or cycles; returns what was asked of the BMC (`ForceOff`, `chassis power cycle`, …).
    func power(_ action: PowerAction) throws(BMCError) -> String
    /// Makes the next boot (only the next) a network boot.
    func bootNextPXE() throws(BMCError)
}

/// The password file of a BMC: a regular file nobody else can read.
public enum BMCSecret {
    /// Why this file cannot hold a BMC password, or nil when it can.
    public static func problem(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return "BMC password file \(path) does not exist" }
        guard st.st_mode & S_IFMT == S_IFREG else { return "BMC password file \(path) is not a regular file" }
        if st.st_mode & 0o077 != 0 {
            return String(format: "BMC password file %@ is readable by others (mode %o): chmod 600 it", path, Int(st.st_mode & 0o777))
        }
        return nil
    }

    /// The password (the file's first line).
    /// - Throws: `BMCError(.config)` naming the file, never its contents.
    public static func read(_ path: String) throws(BMCError) -> String {
        if let problem = problem(path) { throw BMCError(.config, problem) }
        guard let data = FileManager.default.contents(atPath: path) else { throw BMCError(.config, "BMC password file \(path) cannot be read") }
        let first = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
        guard !first.isEmpty else { throw BMCError(.config, "BMC password file \(path) is empty") }
        return String(first)
    }
}

/// What happened to one node in a fan-out.
public struct PowerResult: Codable, Sendable {
    public var node: String
    public var action: String
    /// "on"/"off" for status; what was done otherwise; nil on failure.
    public var result: String?
    public var error: String?
    /// Set on failure.
    public var failure: BMCFailure?
    public var seconds: Double

    public var ok: Bool { failure == nil }
}

/// Runs one operation on many nodes' BMCs: at most `parallel` at once, each
/// with its own time budget, so a dead BMC costs its timeout and not the others' time.
public struct BMCFanout: Sendable {
    public var parallel: Int
    /// Seconds allowed per BMC call.
    public var timeout: Double
    /// Makes the client of a BMC (the real drivers by default; tests may pass their own).
    public var client: @Sendable (BMCSettings, Double) throws -> any BMCClient

    public init(parallel: Int = 16, timeout: Double = 10, client: (@Sendable (BMCSettings, Double) throws -> any BMCClient)? = nil) {
        self.parallel = max(1, parallel)
        self.timeout = timeout
        self.client = client ?? { settings, timeout in try BMCClients.make(settings, timeout: timeout) }
    }

    /// Runs `operation` for each target (hostname, its BMC or nil); results in the targets' order.
    public func run(_ targets: [(node: String, bmc: BMCSettings?)], action: String,
                    _ operation: @escaping @Sendable (any BMCClient) throws -> String) -> [PowerResult] {
        let results = ResultBox(count: targets.count)
        let gate = DispatchSemaphore(value: parallel)
        let group = DispatchGroup()
        let makeClient = client, timeout = timeout
        for (i, target) in targets.enumerated() {
            gate.wait()
            group.enter()
            // Threads of its own, not Dispatch's pool: a call blocks until its
            // answer (ipmitool runs as a process, Redfish waits on a future),
            // and blocking that pool starved it (answers came one per second).
            Thread {
                defer { gate.signal(); group.leave() }
                let started = Date()
                var r = PowerResult(node: target.node, action: action, result: nil, error: nil, failure: nil, seconds: 0)
                do {
                    guard let bmc = target.bmc else { throw BMCError(.config, "\(target.node) has no BMC: `provisioner node bmc \(target.node) --driver …`") }
                    r.result = try operation(try makeClient(bmc, timeout))
                } catch let error as BMCError {
                    r.error = error.message
                    r.failure = error.failure
                } catch {
                    r.error = "\(error)"
                    r.failure = .failed
                }
                r.seconds = Date().timeIntervalSince(started)
                results.set(i, r)
            }.start()
        }
        group.wait()
        return results.all
    }

    final class ResultBox: @unchecked Sendable { // guarded by lock
        private let lock = NSLock()
        private var items: [PowerResult?]
        init(count: Int) { items = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: PowerResult) { lock.withLock { items[i] = r } }
        var all: [PowerResult] { lock.withLock { items.compactMap { $0 } } }
    }
}

public enum BMCClients {
    /// The client of a BMC's driver.
    public static func make(_ settings: BMCSettings, timeout: Double) throws(BMCError) -> any BMCClient {
        switch settings.driver {
        case .redfish: try RedfishClient(settings, timeout: timeout)
        case .ipmi: try IPMIClient(settings, timeout: timeout)
        }
    }
}

/// Whether a TCP port answers within `timeout` seconds: the quick check
/// before a Redfish call, so a dead BMC fails in a second, not after HTTP's retries.
func tcpReachable(host: String, port: Int, timeout: Double) -> Bool {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var res: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else { return false }
    defer { freeaddrinfo(res) }
    let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return true }
    guard errno == EINPROGRESS else { return false }
    var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
    guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return false }
    var err: Int32 = 0
    var len = socklen_t(MemoryLayout<Int32>.size)
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
    return err == 0
}

import Foundation
import ProvisionerAPI
import Testing
@testable import NodeControllerKit

/// Fixtures of this test target, found from this file.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures"

func fixtureHost(_ name: String) -> HostPaths { HostPaths(root: fixtures + "/hosts/" + name) }

/// A fresh directory under /tmp with a short path (libvirt sockets live below it: 108-byte limit).
func makeTempDir(_ label: String) throws -> String {
    let dir = "/tmp/nc-\(label)-\(UUID().uuidString.prefix(8).lowercased())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Collects log lines.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []

    var lines: [String] { lock.withLock { _lines } }
    var log: Log { Log { [self] line in lock.withLock { _lines.append(line) } } }

    func contains(_ fragment: String) -> Bool { lines.contains { $0.contains(fragment) } }
}

/// A transport that answers from a script and records every request.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    enum Step {
        case respond(Int, Data)
        case fail(any Error)
    }

    private let lock = NSLock()
    private var script: [Step]
    private var _requests: [HTTPRequest] = []

    init(_ script: [Step] = []) { self.script = script }

    var requests: [HTTPRequest] { lock.withLock { _requests } }
    var remaining: Int { lock.withLock { script.count } }

    func append(_ steps: Step...) { lock.withLock { script += steps } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let step: Step = lock.withLock {
            _requests.append(request)
            return script.isEmpty ? .fail(URLError(.timedOut)) : script.removeFirst()
        }
        switch step {
        case .respond(let status, let body): return HTTPResponse(status: status, body: body)
        case .fail(let error): throw error
        }
    }

    static func json<T: Encodable>(_ value: T, status: Int = 200) -> Step {
        .respond(status, try! JSONEncoder().encode(value))
    }
}

/// An in-memory hypervisor for the controller loop; the real one is tested against libvirt.
final class FakeHypervisor: Hypervisor, @unchecked Sendable {
    private let lock = NSLock()
    private var domains: [String: InstanceStatus] = [:]
    var failStartIDs: Set<String> = []
    var listError: (any Error)?
    private(set) var started: [String] = []
    private(set) var terminated: [String] = []

    static let capacity = NodeCapacity(coresMax: 4, coresFree: 4, memoryMiBMax: 8192, memoryMiBFree: 8000, diskMiBMax: 100_000,
                                       diskMiBFree: 90_000, hypervisor: .qemuTCG, hardwareVirtualization: false,
                                       hardwareVirtualizationReason: "no vmx/svm flag in /proc/cpuinfo", libvirtVersion: "9.0.0")

    /// While closed, capacity() blocks: a libvirtd busy probing QEMU.
    let gate = Gate()

    func capacity() -> NodeCapacity {
        gate.pass()
        return Self.capacity
    }

    func instances() throws -> [InstanceStatus] {
        try lock.withLock {
            if let listError { throw listError }
            return domains.values.sorted { $0.id < $1.id }
        }
    }

    func start(_ spec: InstanceSpec) throws {
        try lock.withLock {
            started.append(spec.id)
            if failStartIDs.contains(spec.id) { throw ControllerError("starting instance \(spec.id): no such kernel") }
            domains[spec.id] = InstanceStatus(id: spec.id, state: .running, vcpus: spec.vcpus, memoryMiB: spec.memoryMiB)
        }
    }

    func terminate(id: String) throws {
        lock.withLock {
            terminated.append(id)
            domains[id] = nil
        }
    }

    func set(_ id: String, state: InstanceState) { lock.withLock { domains[id]?.state = state } }
    func remove(_ id: String) { lock.withLock { domains[id] = nil } }
    func add(_ status: InstanceStatus) { lock.withLock { domains[status.id] = status } }
}

/// Blocks callers of `pass()` while closed (open from the start).
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var open = true
    private(set) var waiting = 0

    func close() { condition.withLock { open = false } }
    func openUp() { condition.withLock { open = true; condition.broadcast() } }
    func pass() {
        condition.withLock {
            waiting += 1
            while !open { condition.wait() }
            waiting -= 1
        }
    }
}

/// A child process started with an empty signal mask and default handlers.
///
/// Foundation's `Process` passes on the mask of the dispatch thread that spawns it, which
/// blocks SIGTERM: such a child cannot be stopped politely.
final class Child: @unchecked Sendable {
    let pid: pid_t
    private var exitStatus: Int32?

    /// - Parameters:
    ///   - stdoutFD: descriptor to give the child as stdout (e.g. a pipe's write end); /dev/null when nil.
    ///   - logPath: file for stderr (and stdout when `stdoutFD` is nil); /dev/null when nil.
    init(_ path: String, _ args: [String], environment: [String: String]? = nil, stdoutFD: Int32? = nil, logPath: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, logPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let stdoutFD { posix_spawn_file_actions_adddup2(&actions, stdoutFD, 1) } else { posix_spawn_file_actions_adddup2(&actions, 2, 1) }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([path] + args).map { strdup($0) } + [nil]
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + env { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, env)
        guard rc == 0 else { throw ControllerError("spawning \(path): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { exitStatus = status }
        return exitStatus == nil
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; reaps the child.
    func stop(grace: Double = 5) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while isRunning, Date() < deadline { usleep(50_000) }
        if isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            exitStatus = status
        }
    }
}

/// A local TCP port nothing listens on: bound once, then released.
func unusedPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return UInt16(bigEndian: addr.sin_port)
}

/// Whether something accepts connections on 127.0.0.1:`port` within `seconds`
/// (a daemon that forks away answers a moment after it returns).
func waitUntilListening(_ port: UInt16, seconds: Double = 5) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        close(fd)
        if rc == 0 { return true }
        usleep(20_000)
    } while Date() < deadline
    return false
}

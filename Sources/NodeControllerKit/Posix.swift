// The few things the node controller needs beyond FoundationEssentials, on POSIX
// directly. The controller imports FoundationEssentials only, not Foundation: the
// full Foundation links ICU's data (~37 MB) into the static binary, and a node
// booting under TCG read ~58 MB of binary over NFS before the controller's first
// line (6-11 s of a boot); without it the binary is about a third of that.
import Glibc

/// A mutex (what NSLock was here).
final class Lock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func lock() { pthread_mutex_lock(&mutex) }
    func unlock() { pthread_mutex_unlock(&mutex) }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

enum Posix {
    /// Runs `body` on a new detached thread (blocking libvirt calls, libvirt's event loop),
    /// named `name` (at most 15 bytes: what `top -H` and `ps -L` show).
    static func detachThread(name: String? = nil, _ body: @escaping @Sendable () -> Void) {
        final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        let box = Unmanaged.passRetained(Box {
            // pthread_setname_np is not in Swift's Glibc: the thread names itself through /proc.
            if let name { writeFile("/proc/thread-self/comm", String(decoding: name.utf8.prefix(15), as: UTF8.self)) }
            body()
        }).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if started == 0 {
            pthread_detach(thread)
        } else {
            // No thread: run it here rather than lose it.
            Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()
        }
    }

    /// Runs `path args` (no shell, stderr to /dev/null) and returns its exit status
    /// and standard output; nil when it could not be started.
    static func run(_ path: String, _ args: [String]) -> (status: Int32, output: [UInt8])? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        close(fds[1])
        guard spawned == 0 else { close(fds[0]); return nil }
        let output = readAll(fds[0]).bytes
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return nil }
        }
        // WIFEXITED / WEXITSTATUS (macros Swift does not import).
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
    }

    /// Up to `count` bytes from the start of the file at `path`; nil when it cannot be read.
    static func head(_ path: String, count: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd, limit: count).bytes
    }

    /// Reads `fd` until its end, a failed read or `limit` bytes (procfs and sysfs
    /// files included, whose size reads as 0).
    /// - Returns: the bytes read, and whether a read failed.
    static func readAll(_ fd: Int32, limit: Int = .max) -> (bytes: [UInt8], failed: Bool) {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while bytes.count < limit {
            let want = min(buffer.count, limit - bytes.count)
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, want) }
            if n > 0 { bytes += buffer[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            return (bytes, n < 0)
        }
        return (bytes, false)
    }

    /// Writes `text` to the file at `path` (which exists), once; false when it could not.
    @discardableResult
    static func writeFile(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    /// Writes `text` to standard error, whole.
    static func writeStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + done, $0.count - done) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            return
        }
    }

    /// `v` with one decimal (what `String(format: "%.1f", v)` printed).
    static func oneDecimal(_ v: Double) -> String {
        guard v.isFinite else { return "\(v)" }
        let tenths = (abs(v) * 10).rounded()
        let sign = v < 0 && tenths > 0 ? "-" : ""
        return "\(sign)\(Int(tenths) / 10).\(Int(tenths) % 10)"
    }
}

extension StringProtocol {
    /// Without leading and trailing white space (what `trimmingCharacters(in:)` did;
    /// line breaks count as white space).
    func trimmedWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}

import Foundation

extension ProcessRunner {
    /// Runs a long program, handing each line of its output (stdout and stderr
    /// merged) to `onLine` as it comes. The child gets SIGTERM if this process
    /// dies (through `setpriv --pdeathsig`, when available), so a killed
    /// `provisioner` does not leave a build running.
    /// - Returns: the exit status (128+signal when killed by a signal).
    /// - Throws: `SystemError` when it cannot be started.
    public static func stream(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                              onLine: (String) -> Void) throws -> Int32 {
        var argv = [executable] + arguments
        if let setpriv = which("setpriv") { argv = [setpriv, "--pdeathsig", "TERM", "--"] + argv }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envp = env.map { "\($0.key)=\($0.value)" }

        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SystemError("running \(executable): pipe: \(errnoText())") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        _ = spawnCloseFrom(&actions, 3)

        var pid: pid_t = 0
        let rc = withCStrings(argv) { a in withCStrings(envp) { e in posix_spawn(&pid, argv[0], &actions, nil, a, e) } }
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw SystemError("running \(executable): \(String(cString: strerror(rc)))")
        }
        var pending = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending += buf[0..<n]
            while let nl = pending.firstIndex(where: { $0 == 10 || $0 == 13 }) {
                let line = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                if !line.isEmpty { onLine(line) }
            }
        }
        if !pending.isEmpty { onLine(String(decoding: pending, as: UTF8.self)) }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let sig = status & 0x7f
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig
    }
}

extension ProcessRunner {
    /// Starts a long-lived program with stdin from /dev/null and stdout and
    /// stderr appended to `log`, default signal handling and an empty signal
    /// mask, and no descriptor of ours beyond 0–2 (a daemon must not hold our
    /// sockets or files open). `newSession` detaches it from our session, so
    /// it outlives this command.
    /// - Returns: its pid (the caller waits for it, or not).
    /// - Throws: `SystemError` when the log cannot be opened or the program not started.
    public static func spawnLogged(_ argv: [String], log: String, newSession: Bool = false) throws -> pid_t {
        let fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw SystemError("opening \(log): \(errnoText())") }
        defer { close(fd) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fd, 1)
        posix_spawn_file_actions_adddup2(&actions, fd, 2)
        _ = spawnCloseFrom(&actions, 3)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        let setsid: Int32 = 0x80 // POSIX_SPAWN_SETSID (glibc), not imported
        posix_spawnattr_setflags(&attr, Int16(Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) | (newSession ? setsid : 0)))
        var pid: pid_t = 0
        let rc = withCStrings(argv) { a in posix_spawn(&pid, argv[0], &actions, &attr, a, environ) }
        guard rc == 0 else { throw SystemError("starting \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var cs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    cs.append(nil)
    defer { for p in cs { free(p) } }
    return body(cs)
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's
/// Glibc module does not export: the spawned program gets no descriptor of
/// ours beyond 0–2, whatever was opened without O_CLOEXEC.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
public func spawnCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

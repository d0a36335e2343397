import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A Unix stream socket on which an unprivileged helper hands one short
/// message per connection to a root process: dnsmasq's lease script (run as
/// `nobody`) giving serve a DHCP event. The socket file belongs to the one
/// user allowed to write it, mode 0600, and each connection's sender is
/// checked again with `SO_PEERCRED` (root or that user), so another local
/// user can neither connect nor pass as the helper.
public final class LocalEventSocket: @unchecked Sendable {
    public let path: String
    public let allowedUID: uid_t
    private let fd: Int32
    private let lock = NSLock()
    private var closed = false

    /// The largest message read; a longer one is cut there (events are a line).
    public static let maxMessage = 4096

    /// Binds `path` (a stale socket there is replaced), owned by `uid`, mode 0600.
    /// - Throws: `SystemError` naming the path.
    public init(path: String, allowedUID: uid_t) throws {
        guard path.utf8.count < 108 else { throw SystemError("socket path \(path) is longer than 107 bytes") }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket for \(path): \(String(cString: strerror(errno)))") }
        unlink(path)
        var addr = Self.address(path)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chown(path, allowedUID, getgid()) == 0, chmod(path, 0o600) == 0, listen(fd, 64) == 0 else {
            let why = String(cString: strerror(errno))
            Glibc.close(fd); unlink(path)
            throw SystemError("listening on \(path): \(why)")
        }
        self.path = path
        self.allowedUID = allowedUID
        self.fd = fd
    }

    /// Accepts connections on a thread of its own until `close()`, calling
    /// `handle` with each message from root or the allowed user; a
    /// connection from anyone else is closed unread and reported to `refused`.
    public func serve(_ handle: @escaping @Sendable (Data) -> Void, refused: @escaping @Sendable (uid_t) -> Void = { _ in }) {
        let fd = self.fd, allowed = allowedUID
        let thread = Thread { [self] in
            while true {
                if isClosed { return }
                let conn = accept(fd, nil, nil)
                if conn < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    if isClosed { return }
                    Thread.sleep(forTimeInterval: 0.05)  // EMFILE and the like: try again shortly
                    continue
                }
                _ = fcntl(conn, F_SETFD, FD_CLOEXEC)  // not handed to the daemons serve starts
                // struct ucred: pid, uid, gid (Glibc hides it behind _GNU_SOURCE).
                var cred: (pid: Int32, uid: UInt32, gid: UInt32) = (0, UInt32.max, UInt32.max)
                var len = socklen_t(MemoryLayout.size(ofValue: cred))
                let uid = getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.uid : UInt32.max
                guard uid == 0 || uid == allowed else {
                    Glibc.close(conn)
                    refused(uid)
                    continue
                }
                var timeout = timeval(tv_sec: 2, tv_usec: 0)  // a helper that connects and says nothing holds no one up
                setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var message = Data()
                var buffer = [UInt8](repeating: 0, count: 1024)
                while message.count < Self.maxMessage {
                    let n = read(conn, &buffer, min(buffer.count, Self.maxMessage - message.count))
                    if n <= 0 { break }
                    message.append(contentsOf: buffer[0..<n])
                }
                Glibc.close(conn)
                if !message.isEmpty { handle(message) }
            }
        }
        thread.name = "event socket \(path)"
        thread.start()
    }

    private var isClosed: Bool { lock.withLock { closed } }

    /// Stops accepting and removes the socket file.
    public func close() {
        let first = lock.withLock { () -> Bool in defer { closed = true }; return !closed }
        guard first else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        unlink(path)
    }

    deinit { close() }

    /// Sends one message to the socket at `path` and closes.
    /// - Throws: `SystemError` naming the path when nobody listens there or the write fails.
    public static func send(_ message: Data, to path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var addr = address(path)
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw SystemError("connecting to \(path): \(String(cString: strerror(errno)))") }
        let bytes = [UInt8](message.prefix(maxMessage))
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw SystemError("writing to \(path): \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// The uid of a user by name, or nil when there is none.
    public static func uid(of user: String) -> uid_t? {
        guard let entry = getpwnam(user) else { return nil }
        return entry.pointee.pw_uid
    }

    private static func address(_ path: String) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }
}

import Dispatch
import FoundationEssentials
import Glibc

/// The real transport: HTTP/1.1 over a POSIX socket, one request per connection.
///
/// `https://` (the node API) with TLS from Debian's OpenSSL, the server checked
/// against the pinned site CA (`TLSStream`); `http://` for what is public. No
/// libcurl, so the static node controller needs no FoundationNetworking. Answers
/// framed by Content-Length, chunked encoding or connection close are understood;
/// the whole exchange must finish within `timeout`. Blocking work runs off the
/// concurrency pool.
public struct SocketHTTPTransport: HTTPTransport {
    public var timeout: Double
    public var maxResponseBytes: Int
    /// The site CA an `https://` server must chain to; without it `https://` is refused.
    public var caPin: CAPin?

    /// A local daemon's Unix socket (incusd's): every request goes there, in plain HTTP.
    public var unixSocket: String?

    public init(timeout: Double = 10, maxResponseBytes: Int = 1 << 20, caPin: CAPin? = nil, unixSocket: String? = nil) {
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.caPin = caPin
        self.unixSocket = unixSocket
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let (timeout, limit, pin, socket) = (self.timeout, self.maxResponseBytes, self.caPin, self.unixSocket)
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.exchange(request, timeout: timeout, maxResponseBytes: limit, caPin: pin, unixSocket: socket) })
            }
        }
    }

    /// - Throws: `ControllerError` saying what failed (connect, TLS, send, receive, parse).
    static func exchange(_ request: HTTPRequest, timeout: Double, maxResponseBytes: Int, caPin: CAPin? = nil, unixSocket: String? = nil) throws -> HTTPResponse {
        let deadline = Date().addingTimeInterval(timeout)
        let scheme = request.url.scheme?.lowercased() ?? "no"
        guard scheme == "http" || scheme == "https" else { throw ControllerError("\(scheme) scheme is not supported (http or https)") }
        guard let host = request.url.host, !host.isEmpty else { throw ControllerError("no host in \(request.url.absoluteString)") }
        if unixSocket != nil && scheme != "http" { throw ControllerError("a local socket speaks plain http, not \(scheme)") }
        if scheme == "https" && caPin == nil {
            throw ControllerError("\(request.url.absoluteString): https needs the site CA's fingerprint to check the server (provisioner.ca=sha256:…)")
        }
        let defaultPort = scheme == "https" ? 443 : 80
        let port = request.url.port ?? defaultPort
        let bytes = try requestBytes(request, host: host, port: port, defaultPort: defaultPort)
        let fd = try unixSocket.map { try openUnixConnection($0) } ?? openConnection(host: host, port: port, deadline: deadline, timeout: timeout)
        defer { close(fd) }
        let tls = try scheme == "https" ? caPin.map { try TLSStream(fd: fd, host: host, pin: $0, deadline: deadline, timeout: timeout) } : nil
        if let tls { try tls.write(bytes, deadline: deadline) } else { try sendAll(fd, bytes, deadline: deadline, timeout: timeout) }
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            if let response = try parse(buffer, complete: false) { return response }
            let n: Int
            if let tls {
                n = try tls.read(into: &chunk, deadline: deadline)
            } else {
                try wait(fd, for: Int16(POLLIN), deadline: deadline, timeout: timeout, doing: "waiting for the answer")
                n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw ControllerError("receiving the answer: \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                guard let response = try parse(buffer, complete: true) else {
                    throw ControllerError(buffer.isEmpty ? "connection closed without an answer" : "connection closed in the middle of the answer")
                }
                return response
            }
            buffer += chunk[0..<n]
            if buffer.count > maxResponseBytes { throw ControllerError("answer larger than \(maxResponseBytes) bytes") }
        }
    }

    static func requestBytes(_ request: HTTPRequest, host: String, port: Int, defaultPort: Int = 80) throws -> [UInt8] {
        var components = URLComponents(url: request.url, resolvingAgainstBaseURL: false)
        components?.scheme = nil
        components?.host = nil
        components?.port = nil
        var target = components?.percentEncodedPath ?? "/"
        if target.isEmpty { target = "/" }
        if let q = components?.percentEncodedQuery { target += "?" + q }
        let hostHeader = host.contains(":") ? "[\(host)]" : host
        var head = "\(request.method) \(target) HTTP/1.1\r\nHost: \(hostHeader)\(port == defaultPort ? "" : ":\(port)")\r\n"
        head += "Connection: close\r\nUser-Agent: provisioner-node-controller/\(NodeControllerKit.version)\r\n"
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) {
            if (name + value).unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) || name.contains(":") {
                throw ControllerError("invalid HTTP header \(String(reflecting: name))")
            }
            head += "\(name): \(value)\r\n"
        }
        head += "Content-Length: \(request.body?.count ?? 0)\r\n\r\n"
        return Array(head.utf8) + (request.body.map { [UInt8]($0) } ?? [])
    }

    // MARK: Socket

    private static func openUnixConnection(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControllerError("socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { close(fd); throw ControllerError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw ControllerError("connecting to \(path): \(why)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }

    private static func openConnection(host: String, port: Int, deadline: Date, timeout: Double) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw ControllerError("resolving \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { lastError = String(cString: strerror(errno)); continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS else {
                lastError = String(cString: strerror(errno))
                close(fd)
                continue
            }
            do {
                try wait(fd, for: Int16(POLLOUT), deadline: deadline, timeout: timeout, doing: "connecting")
                var soError: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
                if soError == 0 { return fd }
                lastError = String(cString: strerror(soError))
            } catch {
                lastError = "\(error)"
            }
            close(fd)
        }
        throw ControllerError("connecting to \(host):\(port): \(lastError)")
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8], deadline: Date, timeout: Double) throws {
        var offset = 0
        while offset < bytes.count {
            try wait(fd, for: Int16(POLLOUT), deadline: deadline, timeout: timeout, doing: "sending the request")
            let n = bytes[offset...].withUnsafeBytes { socketSend(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw ControllerError("sending the request: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    static func wait(_ fd: Int32, for events: Int16, deadline: Date, timeout: Double, doing: String) throws {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw ControllerError("timed out after \(NodeController.seconds(timeout)) \(doing)") }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&p, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if rc > 0 { return }
            if rc < 0 && errno != EINTR { throw ControllerError("\(doing): poll: \(String(cString: strerror(errno)))") }
        }
    }

    // MARK: Parsing

    /// The response in `buffer`, or nil while more bytes are needed.
    /// - Parameter complete: the peer closed the connection; the buffer is all there is.
    /// - Throws: `ControllerError` for a malformed answer.
    static func parse(_ buffer: [UInt8], complete: Bool) throws -> HTTPResponse? {
        var start = 0
        while true {
            guard let headEnd = find([13, 10, 13, 10], in: buffer, from: start) else {
                if complete && !buffer.isEmpty { throw ControllerError("malformed answer (no end of headers)") }
                return nil
            }
            let head = String(decoding: buffer[start..<headEnd], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst()
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status) else {
                throw ControllerError("malformed status line \(String(reflecting: String(statusLine.prefix(80))))")
            }
            let bodyStart = headEnd + 4
            if (100...199).contains(status) {  // interim answer: the real one follows
                start = bodyStart
                continue
            }
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmedWhitespace()
            }
            let rest = Array(buffer[bodyStart...])
            if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
                guard let body = try dechunk(rest) else {
                    if complete { throw ControllerError("connection closed in the middle of a chunked answer") }
                    return nil
                }
                return HTTPResponse(status: status, body: Data(body))
            }
            if let raw = headers["content-length"] {
                guard let length = Int(raw), length >= 0 else { throw ControllerError("malformed Content-Length \(String(reflecting: raw))") }
                if rest.count < length {
                    if complete { throw ControllerError("connection closed after \(rest.count) of \(length) body bytes") }
                    return nil
                }
                return HTTPResponse(status: status, body: Data(rest[0..<length]))
            }
            if status == 204 || status == 304 { return HTTPResponse(status: status) }
            return complete ? HTTPResponse(status: status, body: Data(rest)) : nil
        }
    }

    /// The body of a chunked encoding, nil while incomplete.
    static func dechunk(_ bytes: [UInt8]) throws -> [UInt8]? {
        var body: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: i) else { return nil }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmedWhitespace(), radix: 16), size >= 0 else {
                throw ControllerError("malformed chunk size \(String(reflecting: String(sizeText.prefix(20))))")
            }
            let dataStart = lineEnd + 2
            if size == 0 {
                // Optional trailers, then an empty line.
                return find([13, 10], in: bytes, from: dataStart) == nil ? nil : body
            }
            guard bytes.count >= dataStart + size + 2 else { return nil }
            body += bytes[dataStart..<(dataStart + size)]
            i = dataStart + size + 2
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        var i = from
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}

/// send(2) without SIGPIPE (outside the type, whose `send` would shadow it).
private func socketSend(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    send(fd, bytes, count, Int32(MSG_NOSIGNAL))
}

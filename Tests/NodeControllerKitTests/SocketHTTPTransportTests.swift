import Foundation
import Testing
@testable import NodeControllerKit

/// A one-shot TCP server on 127.0.0.1 that records the request and answers with raw bytes.
final class RawServer: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var _request = Data()
    private let done = DispatchSemaphore(value: 0)

    var request: String { lock.withLock { String(decoding: _request, as: UTF8.self) } }

    /// - Parameter answer: bytes to send once the whole request (headers + Content-Length body) is in; nil: never answer.
    init(answer: [UInt8]?, holdOpen: Double = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 4) == 0 else { throw ControllerError("bind/listen: \(String(cString: strerror(errno)))") }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        port = UInt16(bigEndian: addr.sin_port)
        let listener = fd
        Thread.detachNewThread { [self] in
            let c = accept(listener, nil, nil)
            guard c >= 0 else { done.signal(); return }
            var buf = [UInt8](repeating: 0, count: 4096)
            var got = [UInt8]()
            while true {
                let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                got += buf[0..<n]
                let text = String(decoding: got, as: UTF8.self)
                if let r = text.range(of: "\r\n\r\n") {
                    let length = text.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    if got.count >= text.utf8.distance(from: text.utf8.startIndex, to: r.upperBound) + length { break }
                }
            }
            lock.withLock { _request = Data(got) }
            if let answer { _ = answer.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            if holdOpen > 0 { usleep(UInt32(holdOpen * 1_000_000)) }
            close(c)
            done.signal()
        }
    }

    private var finished = false

    /// Waits for the exchange (at most 5 s), then closes the listener. Idempotent.
    func finish() {
        guard lock.withLock({ () -> Bool in defer { finished = true }; return !finished }) else { return }
        _ = done.wait(timeout: .now() + 5)
        shutdown(fd, Int32(SHUT_RDWR))  // wakes an accept() still waiting
        close(fd)
    }
}

@Suite struct SocketHTTPTransportTests {
    func post(_ answer: String?, holdOpen: Double = 0, timeout: Double = 5, path: String = "/api/v1/enroll?x=1",
              headers: [String: String] = ["Authorization": "Bearer c"]) async throws -> (Result<HTTPResponse, any Error>, String) {
        let server = try RawServer(answer: answer.map { Array($0.utf8) }, holdOpen: holdOpen)
        defer { server.finish() }
        let url = try #require(URL(string: "http://127.0.0.1:\(server.port)\(path)"))
        let t = SocketHTTPTransport(timeout: timeout)
        let result: Result<HTTPResponse, any Error>
        do { result = .success(try await t.send(HTTPRequest(method: "POST", url: url, headers: headers, body: Data(#"{"a":1}"#.utf8)))) } catch {
            result = .failure(error)
        }
        return (result, server.request)
    }

    @Test func sendsAWellFormedRequest() async throws {
        let (result, request) = try await post("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        #expect(try result.get() == HTTPResponse(status: 200, body: Data("{}".utf8)))
        let lines = request.components(separatedBy: "\r\n")
        #expect(lines.first == "POST /api/v1/enroll?x=1 HTTP/1.1")
        #expect(lines.contains { $0.hasPrefix("Host: 127.0.0.1:") })
        #expect(lines.contains("Authorization: Bearer c"))
        #expect(lines.contains("Content-Length: 7"))
        #expect(lines.contains("Connection: close"))
        #expect(request.hasSuffix("\r\n\r\n{\"a\":1}"))
    }

    @Test(arguments: [
        ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"error\":\"busy\"}\n", 503, "{\"error\":\"busy\"}\n"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: y\r\n\r\n", 200, "{\"a\":1}"),
        ("HTTP/1.0 200 OK\r\n\r\nuntil close", 200, "until close"),
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n", 401, ""),
        ("HTTP/1.1 204 No Content\r\n\r\n", 204, ""),
    ])
    func framings(answer: String, status: Int, body: String) async throws {
        let (result, _) = try await post(answer)
        #expect(try result.get() == HTTPResponse(status: status, body: Data(body.utf8)))
    }

    @Test(arguments: [
        ("garbage\r\n\r\n", "malformed status line \"garbage\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "connection closed after 5 of 10 body bytes"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "malformed Content-Length"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size \"zz\""),
        ("HTTP/1.1 200 OK\r\nContent-Le", "malformed answer (no end of headers)"),
        ("", "connection closed without an answer"),
    ])
    func badAnswersThrow(answer: String, message: String) async throws {
        let (result, _) = try await post(answer)
        #expect(throws: ControllerError.self) { try result.get() }
        if case .failure(let e) = result { #expect("\(e)".contains(message), "\(e)") }
    }

    @Test func silentServerTimesOut() async throws {
        let (result, _) = try await post(nil, holdOpen: 2, timeout: 0.5)
        if case .failure(let e) = result { #expect("\(e)" == "timed out after 0.5s waiting for the answer") } else { Issue.record("no timeout") }
    }

    @Test func refusedAndUnsupported() async throws {
        let port = unusedPort()
        let t = SocketHTTPTransport(timeout: 2)
        await #expect {
            try await t.send(HTTPRequest(method: "POST", url: URL(string: "http://127.0.0.1:\(port)/")!))
        } throws: { "\($0)" == "connecting to 127.0.0.1:\(port): Connection refused" }
        await #expect {
            try await t.send(HTTPRequest(method: "POST", url: URL(string: "ftp://127.0.0.1/")!))
        } throws: { "\($0)".contains("ftp scheme is not supported (http or https)") }
        await #expect {
            try await t.send(HTTPRequest(method: "POST", url: URL(string: "http://127.0.0.1:1/")!, headers: ["X": "a\r\nInjected: 1"]))
        } throws: { "\($0)".contains("invalid HTTP header") }
        await #expect {
            try await t.send(HTTPRequest(method: "GET", url: URL(string: "http://no-such-host.invalid/")!))
        } throws: { "\($0)".hasPrefix("resolving no-such-host.invalid: ") }
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ProvisionerServer

/// A client that connects and stalls (a request's head never finished) does
/// not hold its connection: serve closes it after the idle timeout. Raw
/// sockets only: a test client of its own would idle out too.
struct StalledClientTests {
    /// Connects to 127.0.0.1:`port`, sends `text`, and reads until the server
    /// closes the connection or 20 s pass.
    /// - Returns: what the server sent, and whether it closed the connection; nil when it could not connect.
    static func exchange(port: Int, _ text: String) -> (answer: String, closed: Bool)? {
        guard let fd = DaemonStarter.connected("127.0.0.1", port) else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(text.utf8)
        guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { return nil }
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { answer += buffer[0..<n]; continue }
            return (String(decoding: answer, as: UTF8.self), n == 0 || errno == ECONNRESET)
        }
    }

    @Test func aStalledOrIdleConnectionIsClosedAndAWholeRequestIsAnswered() async throws {
        let state = try ServerTests().makeState()
        let app = try buildApplication(state, host: "127.0.0.1", port: 0, idleTimeout: .seconds(2))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // A whole request is answered (and the connection then idles out).
            let whole = Self.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(whole?.answer.hasPrefix("HTTP/1.1 200") == true && whole?.answer.hasSuffix("ok\n") == true, "\(String(describing: whole))")
            #expect(whole?.closed == true, "an idle kept-alive connection was kept")
            // Half a request head, then nothing.
            let half = Self.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
            #expect(half?.answer == "" && half?.closed == true, "a stalled head kept its connection: \(String(describing: half))")
            // Nothing at all.
            let silent = Self.exchange(port: port, "")
            #expect(silent?.answer == "" && silent?.closed == true, "a silent connection was kept: \(String(describing: silent))")
        }
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ProvisionerServer

/// A client that connects and stalls (a request's head never finished) does
/// not hold its connection: serve closes it after the idle timeout.
struct StalledClientTests {
    /// Connects to 127.0.0.1:`port`, sends `text`, and waits up to 10 s for the server to close.
    /// - Returns: whether the server closed the connection (EOF) within that.
    static func serverCloses(port: Int, after text: String) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { return false }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(text.utf8)
        guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    @Test func aStalledOrIdleConnectionIsClosed() async throws {
        let state = try ServerTests().makeState()
        let app = buildApplication(state, host: "127.0.0.1", port: 0, idleTimeout: .seconds(1))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // A whole request is answered (the test client's own connection; it idles out below).
            let answer = try await client.execute(uri: "/healthz", method: .get)
            #expect(answer.status == .ok)
            // Half a request head, then nothing.
            #expect(Self.serverCloses(port: port, after: "GET /healthz HTTP/1.1\r\nHost: x\r\n"), "a stalled head kept its connection")
            // Nothing at all.
            #expect(Self.serverCloses(port: port, after: ""), "a silent connection was kept")
        }
    }
}

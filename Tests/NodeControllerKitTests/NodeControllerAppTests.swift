import Foundation
import ProvisionerAPI
import Testing
@testable import NodeControllerKit

/// The executable's wiring (`NodeControllerApp.main`) with the real URLSession transport
/// against a small Python stand-in for the server, and libvirt's test driver.
@Suite struct NodeControllerAppTests {
    static let python = "/usr/bin/python3"

    /// Runs the mock server for the duration of `body`.
    func withMockServer(_ body: (URL) async throws -> Void) async throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ControllerError("pipe: \(String(cString: strerror(errno)))") }
        let child = try Child(Self.python, [fixtures + "/mock_server.py"], stdoutFD: fds[1])
        close(fds[1])
        defer {
            child.stop()
            close(fds[0])
        }
        let reader = FileHandle(fileDescriptor: fds[0], closeOnDealloc: false)
        var line = Data()
        while !line.contains(0x0A), let byte = try reader.read(upToCount: 1), !byte.isEmpty { line += byte }
        let port = try #require(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        try await body(try #require(URL(string: "http://127.0.0.1:\(port)")))
    }

    func args(_ extra: [String]) -> [String] {
        ["--cmdline", fixtures + "/cmdline/pxelinux.txt", "--config", fixtures + "/absent.conf", "--libvirt-uri", "test:///default"] + extra
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: python), "needs python3 for the mock server (Debian python3)"))
    func onceAgainstARealHTTPServer() async throws {
        try await withMockServer { url in
            let log = LogCapture(), out = OutputCapture()
            let status = await NodeControllerApp.main(arguments: args(["--once", "--server", url.absoluteString, "--token", "tok-py"]),
                                                      log: log.log, output: out.write)
            #expect(status == 0, "\(log.lines)")
            let capacity = try JSONDecoder().decode(NodeCapacity.self, from: Data(out.text.utf8))
            #expect(capacity.libvirtVersion != nil && capacity.coresMax == 16)
            #expect(log.contains("enrolled as py-node at \(url.absoluteString)"))
            #expect(log.contains("heartbeat 1 accepted"))
            // The BOOTIF MAC of the fixture is not on this host: said, and still used.
            #expect(log.contains("identity: mac 52:54:00:12:34:56"))

            let refused = LogCapture()
            #expect(await NodeControllerApp.main(arguments: args(["--once", "--server", url.absoluteString, "--token", "wrong"]),
                                                 log: refused.log, output: { _ in }) == 1)
            #expect(refused.contains("refused (401: bad token)"))
        }
    }

    @Test func onceWithNoServerListeningFails() async throws {
        let port = unusedPort()
        let log = LogCapture()
        let status = await NodeControllerApp.main(arguments: args(["--once", "--server", "http://127.0.0.1:\(port)", "--token", "t"]),
                                                  log: log.log, output: { _ in })
        #expect(status == 1)
        #expect(log.contains("server unreachable (POST http://127.0.0.1:\(port)/api/v1/enroll:"), "\(log.lines)")
    }

    @Test func reportNeedsNoServer() async throws {
        let log = LogCapture(), out = OutputCapture()
        #expect(await NodeControllerApp.main(arguments: args(["--report"]), log: log.log, output: out.write) == 0)
        let report = try JSONDecoder().decode(NodeControllerApp.Report.self, from: Data(out.text.utf8))
        #expect(report.identity.mac == "52:54:00:12:34:56")
        #expect(report.server == "http://10.0.0.1:8080")
        #expect(report.image == "default/3")
        #expect(report.libvirtURI == "test:///default")
        #expect(report.capacity.libvirtVersion != nil)
    }

    @Test func missingSettingsAndBadOptionsExitWithoutRetrying() async {
        let log = LogCapture()
        let noServer = await NodeControllerApp.main(arguments: ["--cmdline", fixtures + "/cmdline/empty.txt", "--config", fixtures + "/absent.conf",
                                                                "--libvirt-uri", "test:///default", "--once"], log: log.log, output: { _ in })
        #expect(noServer == NodeControllerApp.exitConfig)
        #expect(log.contains("error: no server: boot with provisioner.server=URL"))
        #expect(await NodeControllerApp.main(arguments: ["--bogus"], log: .silent, output: { _ in }) == 64)
        let help = OutputCapture()
        #expect(await NodeControllerApp.main(arguments: ["--help"], log: .silent, output: help.write) == 0)
        #expect(help.text.hasPrefix("usage: node-controller"))
    }
}

/// What `NodeControllerApp.main` prints on stdout.
final class OutputCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var chunks: [String] = []
    var text: String { lock.withLock { chunks.joined(separator: "\n") } }
    var write: @Sendable (String) -> Void { { [self] s in lock.withLock { chunks.append(s) } } }
}

import Foundation
import Testing
@testable import NodeControllerKit

/// The POSIX stand-ins for what the controller no longer takes from Foundation.
struct PosixTests {
    @Test func runReturnsStatusAndStandardOutputOnly() throws {
        let ok = try #require(Posix.run("/bin/sh", ["-c", "printf 'out\\n'; echo err >&2; exit 0"]))
        #expect(ok.status == 0 && String(decoding: ok.output, as: UTF8.self) == "out\n")
        let failed = try #require(Posix.run("/bin/sh", ["-c", "exit 3"]))
        #expect(failed.status == 3 && failed.output.isEmpty)
        let killed = try #require(Posix.run("/bin/sh", ["-c", "kill -9 $$"]))
        #expect(killed.status == 128 + 9)
        // More than a pipe buffer: read while the child writes.
        let big = try #require(Posix.run("/bin/sh", ["-c", "head -c 300000 /dev/zero"]))
        #expect(big.output.count == 300_000)
        #expect(Posix.run("/nonexistent/program", []) == nil)
    }

    @Test func bootTimingsRunnerIsNilOnFailure() {
        #expect(BootTimingsProbe.runCommand("/bin/sh", ["-c", "echo a=1"]) == "a=1\n")
        #expect(BootTimingsProbe.runCommand("/bin/sh", ["-c", "echo a=1; exit 1"]) == nil)
        #expect(BootTimingsProbe.runCommand("/nonexistent/systemctl", ["show"]) == nil)
    }

    @Test func headReadsTheFirstBytes() throws {
        let path = NSTemporaryDirectory() + "posix-head-\(getpid())"
        try Data([0x51, 0x46, 0x49, 0xFB, 0, 1]).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(Posix.head(path, count: 4) == [0x51, 0x46, 0x49, 0xFB])
        #expect(Posix.head(path, count: 100)?.count == 6)
        #expect(Posix.head("/nonexistent/file", count: 4) == nil)
        #expect(DomainXML.diskFormat(path) == "qcow2")
    }

    /// (Durations: away from exact halves, where printf rounds the binary value to even.)
    @Test func oneDecimalMatchesPrintf() {
        for v in [0.0, 0.04, 0.06, 1.26, 9.96, 12.34, 123.0, 59.99, -2.5] {
            #expect(Posix.oneDecimal(v) == String(format: "%.1f", v), "\(v)")
        }
    }

    @Test func trimmedWhitespace() {
        #expect("  a b\t\r\n".trimmedWhitespace() == "a b")
        #expect("x = 1"[...].trimmedWhitespace() == "x = 1")
        #expect(" \t ".trimmedWhitespace() == "")
    }

    @Test func threadsRunDetachedWithTheirName() async {
        let name = await withCheckedContinuation { (done: CheckedContinuation<String, Never>) in
            Posix.detachThread(name: "a-very-long-thread-name") {
                let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                done.resume(returning: comm.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        // Linux keeps 15 bytes of a thread's name.
        #expect(name == "a-very-long-thr")
    }
}

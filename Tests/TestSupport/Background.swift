import Foundation
import ProvisionerPlatform

/// A background process, started as the product starts its daemons (Foundation's
/// Process can hang in waitUntilExit while another long-lived child runs).
public final class Background {
    public let pid: pid_t
    public let log: String

    public init(_ argv: [String], log: String) throws {
        self.log = log
        pid = try ProcessRunner.spawnLogged(argv, log: log)
    }

    /// Sends `sig` and waits up to `seconds` for the exit; returns the exit status, or nil if it did not exit.
    public func stop(_ sig: Int32 = SIGTERM, seconds: Double = 15) -> Int32? {
        kill(pid, sig)
        let deadline = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while Date() < deadline {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        return nil
    }

    public var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Whether it still runs (reaps it when it has ended).
    public var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }
}

import Foundation
import Hummingbird
import Logging
import ProvisionerBoot
import Testing
import TestSupport
@testable import ProvisionerServer

/// serve's daemons: kept running however often they fail to start again,
/// and `/readyz` says which are down.
struct SupervisorTests {
    @Test func aDaemonThatCannotBeRestartedIsTriedAgainUntilItStarts() throws {
        let dir = try makeTempDir("supervisor")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logDir = dir + "/log", flag = dir + "/run-long", script = dir + "/daemon.sh"
        try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
        // Dies at once until the flag exists, then runs.
        try "#!/bin/sh\n[ -e \(flag) ] && exec sleep 60\nexit 1\n".write(toFile: script, atomically: true, encoding: .utf8)
        let supervisor = Supervisor(logger: Logger(label: "test"))
        // Its log's directory goes at once: every restart fails until it is back.
        try supervisor.start(DaemonSpec(name: "d", argv: ["/bin/sh", script], logFile: logDir + "/d.log"))
        defer { supervisor.stopAll(grace: 1) }
        try FileManager.default.removeItem(atPath: logDir)
        Thread.sleep(forTimeInterval: 3.5)
        #expect(supervisor.pid("d") == nil, "down while it cannot be started")
        #expect(StatusController.readiness(supervisor.status()).status == .serviceUnavailable)
        try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: flag, contents: nil))
        #expect(waitFor(20, every: 0.2) { supervisor.pid("d") != nil }, "never started again")
        #expect(supervisor.restartCount("d") >= 1)
        #expect(StatusController.readiness(supervisor.status()).status == .ok)
    }

    @Test func readinessNamesEachDaemonAndTheDownOnes() {
        let up = Supervisor.DaemonStatus(name: "dnsmasq", pid: 42, restarts: 0)
        let down = Supervisor.DaemonStatus(name: "ganesha", pid: nil, restarts: 3)
        #expect(StatusController.readinessText([up]) == (true, "ready\ndnsmasq up (pid 42)\n"))
        #expect(StatusController.readinessText([up, down]) == (false, "not ready: ganesha down\ndnsmasq up (pid 42)\nganesha down, restarted 3 times\n"))
        #expect(StatusController.readiness([up, down]).status == .serviceUnavailable)
        #expect(StatusController.readinessText([]).ready)
    }
}

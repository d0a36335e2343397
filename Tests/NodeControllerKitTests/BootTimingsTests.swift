import Foundation
import ProvisionerAPI
import Synchronization
import Testing
@testable import NodeControllerKit

/// The node's own boot timings: systemd's output parsed, and sent by the controller.
struct BootTimingsTests {
    /// `systemctl show` of a netboot as initramfs-tools does it (no systemd initrd), before and after the boot finished.
    static let showRunning = "InitRDTimestampMonotonic=0\nUserspaceTimestampMonotonic=14268310\nFinishTimestampMonotonic=0\n"
    static let showFinished = "InitRDTimestampMonotonic=0\nUserspaceTimestampMonotonic=14268310\nFinishTimestampMonotonic=46123456\n"
    static let blame = """
        1min 2.345s apt-daily.service
             5.012s libvirtd.service
              523ms systemd-udev-trigger.service
              12us  not-a-unit-line
        garbage
             1.5s node-controller.service
        """

    @Test func systemdTimestampsBecomeTimings() {
        let running = BootTimingsProbe.parseShow(Self.showRunning)
        #expect(running.kernelSeconds == 14.26831 && running.initrdSeconds == nil && running.userspaceSeconds == nil && !running.finished)
        let done = BootTimingsProbe.parseShow(Self.showFinished)
        #expect(done.kernelSeconds == 14.26831 && abs((done.userspaceSeconds ?? 0) - 31.855146) < 1e-9 && done.finished)
        // With a systemd initrd: the kernel until the initrd, the initrd until userspace.
        let initrd = BootTimingsProbe.parseShow("InitRDTimestampMonotonic=2000000\nUserspaceTimestampMonotonic=5000000\nFinishTimestampMonotonic=9000000\n")
        #expect(initrd.kernelSeconds == 2 && initrd.initrdSeconds == 3 && initrd.userspaceSeconds == 4)
        #expect(BootTimingsProbe.parseShow("nothing useful\n") == BootTimings())
    }

    @Test func blameIsReadSlowestFirst() {
        let units = BootTimingsProbe.parseBlame(Self.blame)
        #expect(units.map(\.unit) == ["apt-daily.service", "libvirtd.service", "node-controller.service", "systemd-udev-trigger.service", "not-a-unit-line"])
        #expect(abs(units[0].seconds - 62.345) < 1e-9 && units[1].seconds == 5.012 && units[3].seconds == 0.523)
    }

    /// Commands answered from a script, and which were asked.
    final class FakeSystemd: Sendable {
        let finished = Mutex(false)
        let calls = Mutex<[String]>([])
        var runner: BootTimingsProbe.Runner {
            { path, args in
                self.calls.withLock { $0.append(([path] + args).joined(separator: " ")) }
                if path.hasSuffix("systemctl") { return self.finished.withLock { $0 } ? BootTimingsTests.showFinished : BootTimingsTests.showRunning }
                return self.finished.withLock { $0 } ? BootTimingsTests.blame : nil   // "Bootup is not yet finished"
            }
        }
    }

    @Test func theControllerSendsWhatItKnowsAtEnrollmentAndTheFinishedBootOnce() async throws {
        let transport = ScriptedTransport()
        let systemd = FakeSystemd()
        let ok = ScriptedTransport.json(HeartbeatResponse(heartbeatSeconds: 5))
        transport.append(ScriptedTransport.json(EnrollResponse(hostname: "node1", credential: "c", heartbeatSeconds: 5)), ok, ok, ok)
        let c = NodeController(client: ServerClient(server: URL(string: "http://10.0.0.1:8080")!, transport: transport), hypervisor: FakeHypervisor(),
                               enrollment: .init(mac: "52:54:00:12:34:56", hostname: "node1", ip: "10.0.0.21", token: "t", image: nil),
                               log: LogCapture().log, sleep: { _ in }, uptime: { 22.5 },
                               bootTimings: BootTimingsProbe(run: systemd.runner, uptime: { 22.5 }))
        await c.step()                       // enroll: boot not finished yet
        await c.step()                       // heartbeat 1: still not finished
        systemd.finished.withLock { $0 = true }
        await c.step()                       // heartbeat 2: the finished boot
        await c.step()                       // heartbeat 3: already sent
        func body<T: Decodable>(_ t: T.Type, _ i: Int) throws -> T { try JSONDecoder().decode(T.self, from: try #require(transport.requests[i].body)) }
        let enroll = try #require(try body(EnrollRequest.self, 0).bootTimings)
        #expect(enroll.kernelSeconds == 14.26831 && !enroll.finished && enroll.slowestUnits.isEmpty)
        #expect(abs((enroll.controllerStartSeconds ?? 0) - (22.5 - 14.26831)) < 1e-9)
        #expect(try body(Heartbeat.self, 1).bootTimings == nil)
        let finished = try #require(try body(Heartbeat.self, 2).bootTimings)
        #expect(finished.finished && finished.slowestUnits.first?.unit == "apt-daily.service" && finished.slowestUnits.count == 5)
        #expect(try body(Heartbeat.self, 3).bootTimings == nil)
        // blame is asked only once the boot has finished, and only once.
        #expect(systemd.calls.withLock { $0 }.filter { $0.contains("blame") }.count == 1)
    }
}

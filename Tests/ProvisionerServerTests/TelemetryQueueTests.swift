import Foundation
import Synchronization
import Testing
@testable import ProvisionerServer

/// The telemetry queue behind a registry that hangs: it holds what it can,
/// drops (and counts) the rest, never makes a caller wait, and writes in order.
struct TelemetryQueueTests {
    @Test func aHungWriterFillsTheQueueAndNothingWaits() {
        let queue = TelemetryQueue(capacity: 3)
        let gate = DispatchSemaphore(value: 0)
        let written = Mutex<[Int]>([])
        #expect(queue.submit { gate.wait(); written.withLock { $0.append(0) } })  // the registry hangs here
        for i in 1...2 { #expect(queue.submit { written.withLock { $0.append(i) } }) }
        let started = ContinuousClock.now
        #expect(!queue.submit { written.withLock { $0.append(99) } }, "a full queue takes no more")
        #expect(ContinuousClock.now - started < .seconds(1), "submit never waits")
        #expect(queue.dropped == 1)
        gate.signal()
        queue.drain()
        #expect(written.withLock { $0 } == [0, 1, 2], "in order, the dropped one not written")
        #expect(queue.submit {}, "room again once written")
    }
}

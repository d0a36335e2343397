import Foundation
import Testing
@testable import ProvisionerServer

/// At most three nodes joining the cluster at once; a slot comes back when
/// its node reports, or after a minute without a word.
struct JoinSlotsTests {
    @Test func threeAtOnceThenOneAsEachReportsOrGoesSilent() {
        var slots = JoinSlots(slots: 3, expiry: 60)
        let t0 = Date(timeIntervalSince1970: 1_000)
        func take(_ node: String, _ seconds: Double) -> Bool { slots.take(node, at: t0.addingTimeInterval(seconds)) }
        let first = [take("n1", 0), take("n2", 0), take("n3", 0)]
        #expect(first == [true, true, true])
        let fourth = take("n4", 0)
        #expect(!fourth, "a fourth waits")
        let again = take("n2", 1)
        #expect(again, "a node asking again keeps its own slot")
        slots.release("n1")
        let afterReport = take("n4", 2)
        #expect(afterReport, "n1 reported: its slot is n4's")
        let full = take("n5", 3)
        #expect(!full)
        // n2 and n3 went silent a minute ago (n2 last asked at t0+1): their slots are free again.
        let afterSilence = take("n5", 61.5)
        #expect(afterSilence)
        #expect(slots.inUse == 2, "n4 and n5")
    }
}

// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Testing

@testable import QRServer

/// The rules of the C-GET/C-MOVE sub-operation tally (PS3.4 C.4.2.1.3, C.4.3.1.3): pending
/// counts, the final status, and what the final response reports.
@Suite struct SubOperationTallyTests {
    private func tally(total: Int, _ statuses: [DIMSEStatus]) -> SubOperationTally {
        var tally = SubOperationTally(total: total)
        for (i, status) in statuses.enumerated() { tally.record(status, sopInstanceUID: "1.2.\(i)") }
        return tally
    }

    @Test("Success counts as completed, B-statuses as warning, anything else as failed with its UID")
    func recording() {
        let t = tally(total: 5, [.success, DIMSEStatus(0xB007), DIMSEStatus(0xA700), .success])
        #expect(t.completed == 2)
        #expect(t.warning == 1)
        #expect(t.failed == 1)
        #expect(t.failedUIDs == ["1.2.2"])
        #expect(t.remaining == 1)
    }

    @Test("Pending (FF00) counts carry all four numbers")
    func pendingCounts() {
        var t = tally(total: 4, [.success, DIMSEStatus(0xC000)])
        t.recordFailure(sopInstanceUID: "9.9")
        #expect(t.pendingCounts == SubOperationCounts(remaining: 1, completed: 1, failed: 2, warning: 0))
    }

    @Test("Final status: 0000 when none failed or warned, including nothing matched")
    func finalSuccess() {
        #expect(SubOperationTally(total: 0).finalStatus == .success)
        #expect(tally(total: 3, [.success, .success, .success]).finalStatus == .success)
    }

    @Test("Final status: A702 when some failed and none completed or warned")
    func finalAllFailed() {
        let t = tally(total: 2, [DIMSEStatus(0xA700), DIMSEStatus(0x0122)])
        #expect(t.finalStatus == .outOfResourcesUnableToPerformSubOperations)
    }

    @Test("Final status: B000 when any failed or warned and something got through")
    func finalWarning() {
        #expect(tally(total: 2, [.success, DIMSEStatus(0xA700)]).finalStatus == .warning)
        #expect(tally(total: 1, [DIMSEStatus(0xB000)]).finalStatus == .warning)
        #expect(tally(total: 2, [DIMSEStatus(0xB000), DIMSEStatus(0xA700)]).finalStatus == .warning)
    }

    @Test("Final response of a success: counts without remaining, no Failed SOP Instance UID List")
    func finalResponseSuccess() {
        let final = tally(total: 2, [.success, .success]).finalResponse(status: .success, notAttempted: [])
        #expect(final.counts == SubOperationCounts(remaining: nil, completed: 2, failed: 0, warning: 0))
        #expect(final.failedUIDs.isEmpty)
    }

    @Test("Final response of B000 and A702 lists the failed UIDs")
    func finalResponseFailures() {
        let t = tally(total: 3, [.success, DIMSEStatus(0xA700), DIMSEStatus(0xA900)])
        let final = t.finalResponse(status: t.finalStatus, notAttempted: [])
        #expect(final.counts == SubOperationCounts(remaining: nil, completed: 1, failed: 2, warning: 0))
        #expect(final.failedUIDs == ["1.2.1", "1.2.2"])
        let failed = tally(total: 1, [DIMSEStatus(0xA700)])
        #expect(failed.finalResponse(status: failed.finalStatus, notAttempted: []).failedUIDs == ["1.2.0"])
    }

    @Test("Cancel (FE00): what was not attempted is remaining and listed after the failed UIDs")
    func finalResponseCancel() {
        let t = tally(total: 4, [.success, DIMSEStatus(0xA700)])
        let final = t.finalResponse(status: .cancel, notAttempted: ["7.7", "8.8"])
        #expect(final.counts == SubOperationCounts(remaining: 2, completed: 1, failed: 1, warning: 0))
        #expect(final.failedUIDs == ["1.2.1", "7.7", "8.8"])
        let clean = tally(total: 1, [.success]).finalResponse(status: .cancel, notAttempted: [])
        #expect(clean.counts.remaining == 0)
        #expect(clean.failedUIDs.isEmpty)
    }

    @Test("Counts beyond 16 bits are reported as 65535")
    func clamped() {
        var t = SubOperationTally(total: 70_000)
        for _ in 0..<3 { t.record(.success, sopInstanceUID: "1") }
        #expect(t.pendingCounts.remaining == 65535)
        #expect(t.pendingCounts.completed == 3)
    }

    @Test("A refusal reports no sub-operations")
    func noneAttempted() {
        #expect(
            SubOperationTally.noneAttempted == SubOperationCounts(remaining: nil, completed: 0, failed: 0, warning: 0))
    }
}

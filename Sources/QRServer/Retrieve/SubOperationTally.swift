// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork

/// The C-STORE sub-operations of one C-GET or C-MOVE counted as they end, and what its
/// responses report of them (PS3.4 C.4.2.1.3 and C.4.3.1.3, PS3.7 §9.1.3 and §9.1.4): the
/// counts of a pending response, the final status, the counts and the Failed SOP Instance UID
/// List of the final response. A value with no effects, so that its rules are tested alone.
struct SubOperationTally: Sendable, Hashable {
    /// Sub-operations the retrieve is to perform: the instances that matched.
    let total: Int
    private(set) var completed = 0
    private(set) var failed = 0
    private(set) var warning = 0
    /// SOP Instance UIDs of the failed sub-operations, in the order they failed.
    private(set) var failedUIDs: [String] = []

    /// The counts of a response sent before any sub-operation was attempted (a refusal).
    static let noneAttempted = SubOperationCounts(completed: 0, failed: 0, warning: 0)

    init(total: Int) { self.total = total }

    /// Sub-operations not yet ended.
    var remaining: Int { total - completed - failed - warning }

    /// A sub-operation ended with the C-STORE-RSP `status`: success completes it, a warning
    /// status counts as a warning, anything else as a failure.
    mutating func record(_ status: DIMSEStatus, sopInstanceUID: String) {
        if status.isSuccess {
            completed += 1
        } else if status.isWarning {
            warning += 1
        } else {
            recordFailure(sopInstanceUID: sopInstanceUID)
        }
    }

    /// A sub-operation that failed without a C-STORE-RSP (not attempted, unreadable file, the
    /// association for the sub-operations gone).
    mutating func recordFailure(sopInstanceUID: String) {
        failed += 1
        failedUIDs.append(sopInstanceUID)
    }

    /// The counts of a pending response (FF00): all four.
    var pendingCounts: SubOperationCounts {
        SubOperationCounts(
            remaining: Self.clamp(remaining), completed: Self.clamp(completed),
            failed: Self.clamp(failed), warning: Self.clamp(warning))
    }

    /// The status of a final response once every sub-operation has ended: 0000 when none failed
    /// or ended with a warning (or nothing matched), A702 when some failed and none completed
    /// or ended with a warning, B000 otherwise.
    var finalStatus: DIMSEStatus {
        if failed == 0 && warning == 0 { return .success }
        if completed == 0 && warning == 0 { return .outOfResourcesUnableToPerformSubOperations }
        return .warning
    }

    /// The counts and the Failed SOP Instance UID List of the final response with `status`.
    /// A cancel (FE00) reports the sub-operations it left unattempted (`notAttempted`) as
    /// remaining and lists them with the failed ones; an empty list means the response has no
    /// Identifier, as does a success (the list accompanies cancel, warning and failure only).
    func finalResponse(status: DIMSEStatus, notAttempted: [String]) -> (
        counts: SubOperationCounts, failedUIDs: [String]
    ) {
        var counts = SubOperationCounts(
            completed: Self.clamp(completed), failed: Self.clamp(failed),
            warning: Self.clamp(warning))
        var uids = failedUIDs
        if status.isCancel {
            counts.remaining = Self.clamp(notAttempted.count)
            uids += notAttempted
        }
        guard status.isCancel || status.isWarning || status.isFailure else { return (counts, []) }
        return (counts, uids)
    }

    /// Counts are 16-bit on the wire; a retrieve of more than 65535 instances reports 65535.
    private static func clamp(_ n: Int) -> UInt16 { UInt16(clamping: n) }
}

// SPDX-License-Identifier: Apache-2.0
/// Constructors for the DIMSE-C messages of the archive (PS3.7 §9.3.1–§9.3.5).
/// Responses echo the Affected SOP Class UID and set Message ID Being Responded To (DM-06).
extension CommandSet {
    /// A request: elements up to (0000,0800) Command Data Set Type, then those `more` writes
    /// (all above 0800).
    private static func request(
        _ field: CommandField, messageID: UInt16, sopClass: String,
        moveDestination: String? = nil, priority: DIMSEPriority?, hasDataSet: Bool,
        more: (inout AscendingWriter) -> Void = { _ in }
    ) -> CommandSet {
        ascending { w in
            w.ui(Tag.affectedSOPClassUID, sopClass)
            w.us(Tag.commandField, field.rawValue)
            w.us(Tag.messageID, messageID)
            w.text(Tag.moveDestination, moveDestination)
            w.us(Tag.priority, priority?.rawValue)
            w.us(Tag.commandDataSetType, hasDataSet ? dataSetPresent : noDataSet)
            more(&w)
        }
    }

    /// A response: elements up to (0000,0900) Status, then those `more` writes (all above 0900).
    private static func response(
        _ field: CommandField, respondingTo messageID: UInt16, sopClass: String?,
        status: DIMSEStatus, hasDataSet: Bool,
        more: (inout AscendingWriter) -> Void = { _ in }
    ) -> CommandSet {
        ascending { w in
            w.ui(Tag.affectedSOPClassUID, sopClass)
            w.us(Tag.commandField, field.rawValue)
            w.us(Tag.messageIDBeingRespondedTo, messageID)
            w.us(Tag.commandDataSetType, hasDataSet ? dataSetPresent : noDataSet)
            w.us(Tag.status, status.rawValue)
            more(&w)
        }
    }

    /// The four sub-operation counters (0000,1020)–(0000,1023).
    private static func write(_ counts: SubOperationCounts, to w: inout AscendingWriter) {
        w.us(Tag.remainingSubOperations, counts.remaining)
        w.us(Tag.completedSubOperations, counts.completed)
        w.us(Tag.failedSubOperations, counts.failed)
        w.us(Tag.warningSubOperations, counts.warning)
    }

    /// C-ECHO-RQ (PS3.7 §9.3.5.1).
    public static func cEchoRQ(messageID: UInt16, affectedSOPClassUID: String = "1.2.840.10008.1.1") -> CommandSet {
        request(.cEchoRQ, messageID: messageID, sopClass: affectedSOPClassUID, priority: nil, hasDataSet: false)
    }

    /// C-ECHO-RSP (PS3.7 §9.3.5.2).
    public static func cEchoRSP(
        respondingTo messageID: UInt16, affectedSOPClassUID: String = "1.2.840.10008.1.1",
        status: DIMSEStatus = .success
    ) -> CommandSet {
        response(.cEchoRSP, respondingTo: messageID, sopClass: affectedSOPClassUID, status: status, hasDataSet: false)
    }

    /// C-FIND-RQ (PS3.7 §9.3.2.1); the identifier follows as data set.
    public static func cFindRQ(
        messageID: UInt16, affectedSOPClassUID: String,
        priority: DIMSEPriority = .medium
    ) -> CommandSet {
        request(.cFindRQ, messageID: messageID, sopClass: affectedSOPClassUID, priority: priority, hasDataSet: true)
    }

    /// C-FIND-RSP (PS3.7 §9.3.2.2); pending responses carry an identifier.
    public static func cFindRSP(
        respondingTo messageID: UInt16, affectedSOPClassUID: String,
        status: DIMSEStatus, hasIdentifier: Bool
    ) -> CommandSet {
        response(
            .cFindRSP, respondingTo: messageID, sopClass: affectedSOPClassUID, status: status,
            hasDataSet: hasIdentifier)
    }

    /// C-GET-RQ (PS3.7 §9.3.3.1).
    public static func cGetRQ(
        messageID: UInt16, affectedSOPClassUID: String,
        priority: DIMSEPriority = .medium
    ) -> CommandSet {
        request(.cGetRQ, messageID: messageID, sopClass: affectedSOPClassUID, priority: priority, hasDataSet: true)
    }

    /// C-GET-RSP (PS3.7 §9.3.3.2) with sub-operation counters (DM-09/10).
    public static func cGetRSP(
        respondingTo messageID: UInt16, affectedSOPClassUID: String, status: DIMSEStatus,
        subOperations: SubOperationCounts, hasIdentifier: Bool = false
    ) -> CommandSet {
        response(
            .cGetRSP, respondingTo: messageID, sopClass: affectedSOPClassUID, status: status,
            hasDataSet: hasIdentifier
        ) { write(subOperations, to: &$0) }
    }

    /// C-MOVE-RQ (PS3.7 §9.3.4.1).
    public static func cMoveRQ(
        messageID: UInt16, affectedSOPClassUID: String, moveDestination: String,
        priority: DIMSEPriority = .medium
    ) -> CommandSet {
        request(
            .cMoveRQ, messageID: messageID, sopClass: affectedSOPClassUID, moveDestination: moveDestination,
            priority: priority, hasDataSet: true)
    }

    /// C-MOVE-RSP (PS3.7 §9.3.4.2) with sub-operation counters (DM-09/10).
    public static func cMoveRSP(
        respondingTo messageID: UInt16, affectedSOPClassUID: String, status: DIMSEStatus,
        subOperations: SubOperationCounts, hasIdentifier: Bool = false
    ) -> CommandSet {
        response(
            .cMoveRSP, respondingTo: messageID, sopClass: affectedSOPClassUID, status: status,
            hasDataSet: hasIdentifier
        ) { write(subOperations, to: &$0) }
    }

    /// C-STORE-RQ (PS3.7 §9.3.1.1); for C-MOVE sub-operations pass the move originator.
    public static func cStoreRQ(
        messageID: UInt16, affectedSOPClassUID: String, affectedSOPInstanceUID: String,
        priority: DIMSEPriority = .medium, moveOriginatorAETitle: String? = nil,
        moveOriginatorMessageID: UInt16? = nil
    ) -> CommandSet {
        request(
            .cStoreRQ, messageID: messageID, sopClass: affectedSOPClassUID, priority: priority,
            hasDataSet: true
        ) { w in
            w.ui(Tag.affectedSOPInstanceUID, affectedSOPInstanceUID)
            w.text(Tag.moveOriginatorAETitle, moveOriginatorAETitle)
            w.us(Tag.moveOriginatorMessageID, moveOriginatorMessageID)
        }
    }

    /// C-STORE-RSP (PS3.7 §9.3.1.2).
    public static func cStoreRSP(
        respondingTo messageID: UInt16, affectedSOPClassUID: String,
        affectedSOPInstanceUID: String, status: DIMSEStatus
    ) -> CommandSet {
        response(
            .cStoreRSP, respondingTo: messageID, sopClass: affectedSOPClassUID, status: status,
            hasDataSet: false
        ) { $0.ui(Tag.affectedSOPInstanceUID, affectedSOPInstanceUID) }
    }

    /// C-CANCEL-RQ (PS3.7 §9.3.2.3 / §9.3.3.3 / §9.3.4.3).
    public static func cCancelRQ(respondingTo messageID: UInt16) -> CommandSet {
        ascending { w in
            w.us(Tag.commandField, CommandField.cCancelRQ.rawValue)
            w.us(Tag.messageIDBeingRespondedTo, messageID)
            w.us(Tag.commandDataSetType, noDataSet)
        }
    }
}

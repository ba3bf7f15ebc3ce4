/// Constructors for the DIMSE-C messages of the archive (PS3.7 §9.3.1–§9.3.5).
/// Responses echo the Affected SOP Class UID and set Message ID Being Responded To (DM-06).
extension CommandSet {
    private static func request(_ field: CommandField, messageID: UInt16, sopClass: String,
                                priority: DIMSEPriority?, hasDataSet: Bool) -> CommandSet {
        var c = CommandSet()
        c.affectedSOPClassUID = sopClass
        c.commandField = field
        c.messageID = messageID
        c.priority = priority
        c.hasDataSet = hasDataSet
        return c
    }

    private static func response(_ field: CommandField, respondingTo messageID: UInt16, sopClass: String?,
                                 status: DIMSEStatus, hasDataSet: Bool) -> CommandSet {
        var c = CommandSet()
        c.affectedSOPClassUID = sopClass
        c.commandField = field
        c.messageIDBeingRespondedTo = messageID
        c.hasDataSet = hasDataSet
        c.status = status
        return c
    }

    /// C-ECHO-RQ (PS3.7 §9.3.5.1).
    public static func cEchoRQ(messageID: UInt16, affectedSOPClassUID: String = "1.2.840.10008.1.1") -> CommandSet {
        request(.cEchoRQ, messageID: messageID, sopClass: affectedSOPClassUID, priority: nil, hasDataSet: false)
    }

    /// C-ECHO-RSP (PS3.7 §9.3.5.2).
    public static func cEchoRSP(respondingTo messageID: UInt16, affectedSOPClassUID: String = "1.2.840.10008.1.1",
                                status: DIMSEStatus = .success) -> CommandSet {
        response(.cEchoRSP, respondingTo: messageID, sopClass: affectedSOPClassUID, status: status, hasDataSet: false)
    }

    /// C-FIND-RQ (PS3.7 §9.3.2.1); the identifier follows as data set.
    public static func cFindRQ(messageID: UInt16, affectedSOPClassUID: String,
                               priority: DIMSEPriority = .medium) -> CommandSet {
        request(.cFindRQ, messageID: messageID, sopClass: affectedSOPClassUID, priority: priority, hasDataSet: true)
    }

    /// C-FIND-RSP (PS3.7 §9.3.2.2); pending responses carry an identifier.
    public static func cFindRSP(respondingTo messageID: UInt16, affectedSOPClassUID: String,
                                status: DIMSEStatus, hasIdentifier: Bool) -> CommandSet {
        response(.cFindRSP, respondingTo: messageID, sopClass: affectedSOPClassUID, status: status,
                 hasDataSet: hasIdentifier)
    }

    /// C-GET-RQ (PS3.7 §9.3.3.1).
    public static func cGetRQ(messageID: UInt16, affectedSOPClassUID: String,
                              priority: DIMSEPriority = .medium) -> CommandSet {
        request(.cGetRQ, messageID: messageID, sopClass: affectedSOPClassUID, priority: priority, hasDataSet: true)
    }

    /// C-GET-RSP (PS3.7 §9.3.3.2) with sub-operation counters (DM-09/10).
    public static func cGetRSP(respondingTo messageID: UInt16, affectedSOPClassUID: String, status: DIMSEStatus,
                               subOperations: SubOperationCounts, hasIdentifier: Bool = false) -> CommandSet {
        var c = response(.cGetRSP, respondingTo: messageID, sopClass: affectedSOPClassUID, status: status,
                         hasDataSet: hasIdentifier)
        c.subOperations = subOperations
        return c
    }

    /// C-MOVE-RQ (PS3.7 §9.3.4.1).
    public static func cMoveRQ(messageID: UInt16, affectedSOPClassUID: String, moveDestination: String,
                               priority: DIMSEPriority = .medium) -> CommandSet {
        var c = request(.cMoveRQ, messageID: messageID, sopClass: affectedSOPClassUID, priority: priority,
                        hasDataSet: true)
        c.moveDestination = moveDestination
        return c
    }

    /// C-MOVE-RSP (PS3.7 §9.3.4.2) with sub-operation counters (DM-09/10).
    public static func cMoveRSP(respondingTo messageID: UInt16, affectedSOPClassUID: String, status: DIMSEStatus,
                                subOperations: SubOperationCounts, hasIdentifier: Bool = false) -> CommandSet {
        var c = response(.cMoveRSP, respondingTo: messageID, sopClass: affectedSOPClassUID, status: status,
                         hasDataSet: hasIdentifier)
        c.subOperations = subOperations
        return c
    }

    /// C-STORE-RQ (PS3.7 §9.3.1.1); for C-MOVE sub-operations pass the move originator.
    public static func cStoreRQ(messageID: UInt16, affectedSOPClassUID: String, affectedSOPInstanceUID: String,
                                priority: DIMSEPriority = .medium, moveOriginatorAETitle: String? = nil,
                                moveOriginatorMessageID: UInt16? = nil) -> CommandSet {
        var c = request(.cStoreRQ, messageID: messageID, sopClass: affectedSOPClassUID, priority: priority,
                        hasDataSet: true)
        c.affectedSOPInstanceUID = affectedSOPInstanceUID
        c.moveOriginatorAETitle = moveOriginatorAETitle
        c.moveOriginatorMessageID = moveOriginatorMessageID
        return c
    }

    /// C-STORE-RSP (PS3.7 §9.3.1.2).
    public static func cStoreRSP(respondingTo messageID: UInt16, affectedSOPClassUID: String,
                                 affectedSOPInstanceUID: String, status: DIMSEStatus) -> CommandSet {
        var c = response(.cStoreRSP, respondingTo: messageID, sopClass: affectedSOPClassUID, status: status,
                         hasDataSet: false)
        c.affectedSOPInstanceUID = affectedSOPInstanceUID
        return c
    }

    /// C-CANCEL-RQ (PS3.7 §9.3.2.3 / §9.3.3.3 / §9.3.4.3).
    public static func cCancelRQ(respondingTo messageID: UInt16) -> CommandSet {
        var c = CommandSet()
        c.commandField = .cCancelRQ
        c.messageIDBeingRespondedTo = messageID
        c.hasDataSet = false
        return c
    }
}

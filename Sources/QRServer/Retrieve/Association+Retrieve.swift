// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork

/// C-GET / C-MOVE dispatch on an association (kept apart from Association.swift).
extension Association {
    func startRetrieve(_ message: DIMSEMessage, field: CommandField) {
        let kind: RetrieveOperation.Kind =
            field == .cMoveRQ
            ? .move(destination: message.command.moveDestination ?? "") : .get
        if activeRetrieve != nil {
            // Async window 1/1: a second retrieve before the first one's final response.
            guard let messageID = message.command.messageID else { return }
            let response = kind.response(
                respondingTo: messageID, sopClass: message.command.affectedSOPClassUID ?? "",
                status: .outOfResourcesUnableToPerformSubOperations,
                counts: SubOperationTally.noneAttempted, hasIdentifier: false)
            logger.warning("\(kind.commandName) refused: another retrieve is in progress")
            sendMessage(
                contextID: message.contextID,
                command: DIMSEResponder.annotated(
                    response, comment: "another retrieve is in progress on this association"))
            return
        }
        operationStarted()
        var finished = false
        let operation = RetrieveService.start(message, kind: kind, on: self) { [unowned self] in
            finished = true
            activeRetrieve = nil
            operationFinished()
        }
        if operation == nil {
            operationFinished()
        } else if !finished {
            activeRetrieve = operation
        }
    }

    /// A C-STORE-RSP from the requester: the answer to a C-GET sub-operation.
    func retrieveStoreResponse(_ message: DIMSEMessage) {
        if activeRetrieve?.storeResponse(message) != true {
            logger.warning(
                "unexpected C-STORE-RSP ignored",
                metadata: [
                    "message_id_being_responded_to":
                        "\(message.command.messageIDBeingRespondedTo.map { "\($0)" } ?? "none")"
                ])
        }
    }

    /// C-CANCEL-RQ for the running retrieve; false when it is not about it.
    func cancelRetrieve(messageID: UInt16) -> Bool {
        guard let activeRetrieve, activeRetrieve.messageID == messageID else { return false }
        logger.debug("C-CANCEL received", metadata: ["message_id": "\(messageID)"])
        activeRetrieve.cancel()
        return true
    }
}

// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Logging
import Reactor

/// The C-FIND queue (one answered at a time, the rest wait) and C-CANCEL.
extension Association {
    func enqueueFind(_ message: DIMSEMessage) {
        operationStarted()
        if activeFind == nil {
            startFind(message)
        } else {
            queuedFinds.append(message)
        }
    }

    private func startFind(_ message: DIMSEMessage) {
        var finished = false
        let operation = FindService.start(message, on: self) { [unowned self] in
            finished = true
            findFinished()
        }
        // Answered at once (failure) or already complete: nothing stays active.
        if operation == nil {
            findFinished()
        } else if !finished {
            activeFind = operation
        }
    }

    private func findFinished() {
        activeFind = nil
        guard !isClosed else { return }
        if !queuedFinds.isEmpty {
            let next = queuedFinds.removeFirst()
            operationFinished()
            startFind(next)
        } else {
            operationFinished()
        }
    }

    /// C-CANCEL-RQ: cancels the running or a queued C-FIND with that Message ID; a cancel for
    /// an unknown message ID is ignored (PS3.7 §9.3.2.3, QR-14).
    func cancelOperation(_ message: DIMSEMessage) {
        guard let target = message.command.messageIDBeingRespondedTo else {
            logger.debug("C-CANCEL without Message ID Being Responded To ignored")
            return
        }
        if cancelRetrieve(messageID: target) { return }
        if let activeFind, activeFind.messageID == target {
            logger.debug("C-CANCEL received", metadata: ["message_id": "\(target)"])
            activeFind.cancel()
        } else if let index = queuedFinds.firstIndex(where: { $0.command.messageID == target }) {
            let queued = queuedFinds.remove(at: index)
            let response = CommandSet.cFindRSP(
                respondingTo: target, affectedSOPClassUID: queued.command.affectedSOPClassUID ?? "",
                status: .cancel, hasIdentifier: false)
            DIMSEResponder(host: self, contextID: queued.contextID, commandName: "C-FIND", started: nil)
                .respond(response, status: .cancel, ["matches": "0"])
            operationFinished()
        } else {
            logger.debug("C-CANCEL ignored: no such operation in progress", metadata: ["message_id": "\(target)"])
        }
    }
}

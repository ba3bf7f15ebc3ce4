// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Logging
import Reactor

/// Sub-operations ending (counted in the ``SubOperationTally``), the pending responses that
/// report them and the final response.
extension RetrieveOperation {
    func subOperationDone(status: DIMSEStatus, comment: String?) {
        guard let instance = current else { return }
        current = nil
        cancelResponseTimer()
        tally.record(status, sopInstanceUID: instance.sopInstanceUID)
        if !status.isSuccess, !status.isWarning {
            logSubOperationFailure(instance, reason: "C-STORE-RSP status \(status)" + (comment.map { ": \($0)" } ?? ""))
        }
        guard let host, !kind.isMove else {
            sendProgress()
            pump()
            return
        }
        // C-GET: the pending response and the next C-STORE-RQ share the connection; one write.
        host.holdingOutput {
            sendPending()
            pump()
        }
    }

    func recordFailure(_ instance: IndexedInstance, reason: String) {
        tally.recordFailure(sopInstanceUID: instance.sopInstanceUID)
        logSubOperationFailure(instance, reason: reason)
        sendProgress()
    }

    /// A stored file found damaged (and marked so in the index by the loader): logged on its own
    /// so that an administrator finds it, and counted.
    func noteDamagedFile(_ instance: IndexedInstance, reason: String) {
        host?.statistics.record { $0.damagedFilesFound += 1 }
        logger.error(
            "damaged file in the archive: not sent, marked damaged in the index",
            metadata: [
                "sop_instance_uid": "\(instance.sopInstanceUID)",
                "path": "\(instance.path)",
                "reason": "\(reason)",
            ])
    }

    func logSubOperationFailure(_ instance: IndexedInstance, reason: String) {
        logger.warning(
            "\(kind.commandName) sub-operation failed",
            metadata: [
                "sop_instance_uid": "\(instance.sopInstanceUID)",
                "path": "\(instance.path)",
                "reason": "\(reason)",
            ])
    }

    /// Counts every instance not yet attempted as failed (destination unusable).
    func failRemaining(reason: String) {
        discardWindow()
        guard nextToLoad < instances.count else { return }
        for instance in instances[nextToLoad...] {
            tally.recordFailure(sopInstanceUID: instance.sopInstanceUID)
        }
        logger.warning(
            "\(kind.commandName): \(instances.count - nextToLoad) sub-operations not attempted",
            metadata: ["reason": "\(reason)"])
        nextToLoad = instances.count
    }

    func nextMessageID() -> UInt16 {
        lastMessageID &+= 1
        if lastMessageID == messageID || lastMessageID == 0 { lastMessageID &+= 1 }
        return lastMessageID
    }

    /// A pending response after a sub-operation: always for C-GET; for C-MOVE only once the
    /// configured interval has passed since the last one. Each pending C-MOVE-RSP wakes the
    /// requester on a connection of its own, a cost per instance that buys nothing when
    /// instances complete hundreds of times a second; the counts stay current to within the
    /// interval, and the final response has them exact.
    private func sendProgress() {
        if kind.isMove, let interval = host?.configuration.movePendingInterval, interval > .zero {
            let now = ContinuousClock.now
            guard now - lastPendingSent >= interval else { return }
            lastPendingSent = now
        }
        sendPending()
    }

    private func sendPending() {
        guard let host, host.isActive else { return }
        let response = kind.response(
            respondingTo: messageID, sopClass: sopClassUID, status: .pending,
            counts: tally.pendingCounts, hasIdentifier: false)
        host.sendMessage(contextID: contextID, command: response)
    }

    func finish(_ status: DIMSEStatus, comment: String? = nil, offending: [Tag] = []) {
        guard phase != .finished else { return }
        phase = .finished
        discardWindow()
        stream = nil
        cancelResponseTimer()
        if let subAssociation {
            subAssociation.release()
            self.subAssociation = nil
        }
        channel = nil
        if let host, host.isActive {
            let notAttempted = nextToLoad < instances.count ? instances[nextToLoad...].map(\.sopInstanceUID) : []
            let final = tally.finalResponse(status: status, notAttempted: notAttempted)
            var identifier: [UInt8]?
            if !final.failedUIDs.isEmpty {
                var d = DataSet()
                d.set(RetrieveService.failedSOPInstanceUIDList, vr: .UI, strings: final.failedUIDs)
                identifier = try? DataSetWriter.write(d, transferSyntax: transferSyntax)
            }
            let response = kind.response(
                respondingTo: messageID, sopClass: sopClassUID, status: status,
                counts: final.counts, hasIdentifier: identifier != nil)
            RetrieveService.respondFinal(
                response, identifier: identifier, on: host, contextID: contextID, kind: kind, status: status,
                comment: comment, offending: offending, model: request.model.rawValue,
                level: request.level.rawValue, tally: tally, started: started)
        }
        let onFinish = self.onFinish
        self.onFinish = nil
        onFinish?()
    }
}

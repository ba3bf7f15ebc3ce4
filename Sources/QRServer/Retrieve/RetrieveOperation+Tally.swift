import Archive
import DICOM
import DICOMNetwork
import Logging
import Reactor

/// The sub-operation tally (completed, failed, warning), the pending responses that report it and
/// the final response.
extension RetrieveOperation {
    func subOperationDone(status: DIMSEStatus, comment: String?) {
        guard let instance = current else { return }
        current = nil
        cancelResponseTimer()
        if status.isSuccess {
            completed += 1
        } else if status.isWarning {
            warning += 1
        } else {
            failed += 1
            failedUIDs.append(instance.sopInstanceUID)
            logSubOperationFailure(instance, reason: "C-STORE-RSP status \(status)" + (comment.map { ": \($0)" } ?? ""))
        }
        guard let connection = association?.connection, !kind.isMove else {
            sendProgress()
            pump()
            return
        }
        // C-GET: the pending response and the next C-STORE-RQ share the connection; one write.
        connection.holdingWrites {
            sendPending()
            pump()
        }
    }

    func recordFailure(_ instance: IndexedInstance, reason: String) {
        failed += 1
        failedUIDs.append(instance.sopInstanceUID)
        logSubOperationFailure(instance, reason: reason)
        sendProgress()
    }

    /// A stored file found damaged (and marked so in the index by the loader): logged on its own
    /// so that an administrator finds it, and counted.
    func noteDamagedFile(_ instance: IndexedInstance, reason: String) {
        association?.server.statistics.damagedFilesFound += 1
        logger.error("damaged file in the archive: not sent, marked damaged in the index", metadata: [
            "sop_instance_uid": "\(instance.sopInstanceUID)",
            "path": "\(instance.path)",
            "reason": "\(reason)",
        ])
    }

    func logSubOperationFailure(_ instance: IndexedInstance, reason: String) {
        logger.warning("\(kind.commandName) sub-operation failed", metadata: [
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
            failed += 1
            failedUIDs.append(instance.sopInstanceUID)
        }
        logger.warning("\(kind.commandName): \(instances.count - nextToLoad) sub-operations not attempted",
                       metadata: ["reason": "\(reason)"])
        nextToLoad = instances.count
    }

    func nextMessageID() -> UInt16 {
        lastMessageID &+= 1
        if lastMessageID == messageID || lastMessageID == 0 { lastMessageID &+= 1 }
        return lastMessageID
    }

    private static func clamp(_ n: Int) -> UInt16 { UInt16(clamping: n) }

    var remaining: Int { instances.count - completed - failed - warning }

    /// A pending response after a sub-operation: always for C-GET; for C-MOVE only once the
    /// configured interval has passed since the last one. Each pending C-MOVE-RSP wakes the
    /// requester on a connection of its own, a cost per instance that buys nothing when
    /// instances complete hundreds of times a second; the counts stay current to within the
    /// interval, and the final response has them exact.
    private func sendProgress() {
        if kind.isMove, let interval = association?.server.configuration.movePendingInterval, interval > .zero {
            let now = ContinuousClock.now
            guard now - lastPendingSent >= interval else { return }
            lastPendingSent = now
        }
        sendPending()
    }

    private func sendPending() {
        guard let association, association.isActive else { return }
        let counts = SubOperationCounts(remaining: Self.clamp(remaining), completed: Self.clamp(completed),
                                        failed: Self.clamp(failed), warning: Self.clamp(warning))
        let response = kind.response(respondingTo: messageID, sopClass: sopClassUID, status: .pending,
                                     counts: counts, hasIdentifier: false)
        association.sendMessage(contextID: contextID, command: response)
    }

    /// DM-11: 0000 when every sub-operation succeeded (or nothing matched), A702 when all
    /// failed, B000 otherwise.
    var finalStatus: DIMSEStatus {
        if failed == 0 && warning == 0 { return .success }
        if completed == 0 && warning == 0 { return .outOfResourcesUnableToPerformSubOperations }
        return .warning
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
        if let association, association.isActive {
            // Cancel: what was not sent is reported with the failures (DM-12).
            var uids = failedUIDs
            if status.isCancel, nextToLoad < instances.count {
                uids += instances[nextToLoad...].map(\.sopInstanceUID)
            }
            var counts = SubOperationCounts(completed: Self.clamp(completed), failed: Self.clamp(failed),
                                            warning: Self.clamp(warning))
            if status.isCancel { counts.remaining = Self.clamp(instances.count - nextToLoad) }
            var identifier: [UInt8]?
            if !uids.isEmpty, status.isCancel || status.isWarning || status.isFailure {
                var d = DataSet()
                d.set(RetrieveService.failedSOPInstanceUIDList, vr: .UI, strings: uids)
                identifier = try? DataSetWriter.write(d, transferSyntax: transferSyntax)
            }
            var response = kind.response(respondingTo: messageID, sopClass: sopClassUID, status: status,
                                         counts: counts, hasIdentifier: identifier != nil)
            if let comment { response.errorComment = String(comment.prefix(64)) }
            if !offending.isEmpty { response.offendingElements = offending.map(\.value) }
            if let identifier, let negotiated = association.negotiated,
               let pdu = FinalResponseFraming.singlePDU(contextID: contextID, command: response, identifier: identifier,
                                                        peerMaxPDULength: negotiated.peerMaxPDULength) {
                association.noteResponse(response)
                association.sendPData(pdu)
            } else {
                association.sendMessage(contextID: contextID, command: response, dataSet: identifier.map { [$0[...]] })
            }
            RetrieveService.logCompletion(
                on: association, kind: kind, status: status, model: request.model.rawValue,
                level: request.level.rawValue, matches: instances.count, completed: completed, failed: failed,
                warning: warning, started: started, comment: comment)
        }
        let onFinish = self.onFinish
        self.onFinish = nil
        onFinish?()
    }
}

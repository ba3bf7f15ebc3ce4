// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Logging
import Reactor

/// Storage SCP (PS3.4 Annex B): C-STORE ingest, streamed to disk.
///
/// The data set of a C-STORE-RQ is never assembled in memory: each PDV fragment is handed to
/// the association's serial lane on the worker pool, which appends it to a temporary file
/// (``IncomingObject``). When the last fragment is in, the lane hands the object to the
/// server's ``StoreCommitter``, which makes it durable, moves it to its layout path and
/// indexes it together with the objects other associations completed meanwhile (group
/// commit); the C-STORE-RSP is sent only after that (QR-28), so a stored instance is visible
/// to C-FIND as soon as the peer sees success.
///
/// Statuses (PS3.4 Table B.2-1, PS3.7 Annex C):
/// - 0000 stored (new, or replacing an existing copy under the `replace` policy);
/// - B000 duplicate under the `keep` policy: the stored copy is kept and the new one
///   discarded; Error Comment says so. (Table B.2-1 has no dedicated duplicate warning; B000
///   is the generic C-STORE warning, chosen so the peer can tell "already there" from a
///   fresh store while still counting it as delivered);
/// - 0111 duplicate SOP instance under the `reject` policy;
/// - A700 out of resources: disk full, I/O error, index unavailable;
/// - A900 data set does not match SOP class: unparsable data set, SOP Class/Instance UID in
///   the data set differing from the command, Study/Series Instance UID missing;
/// - A900 also for a Study or Series Instance UID in the data set that is not a valid UID
///   under `storage.uid_policy` (``UIDValidation``): the data set breaks its IOD, whose UIDs
///   are Type 1 attributes of VR UI;
/// - 0122 SOP class not supported: the context is not a storage context, or the Affected
///   SOP Class UID differs from the context's abstract syntax;
/// - 0117 invalid SOP instance: no Affected SOP Instance UID, or one that is not a valid
///   UID under `storage.uid_policy` — PS3.7 Annex C defines 0117 as a SOP Instance UID that
///   violates the UID construction rules, more precise than the A900 family here. It is
///   refused before any byte is written; NUL and control characters are refused under
///   either policy.
/// Every failure carries an Error Comment; the temporary file is removed and the index is
/// left untouched.
enum StoreService {
    /// Starts receiving a C-STORE-RQ whose data set follows as fragments.
    static func start(_ command: CommandSet, contextID: UInt8, on host: any DIMSEServiceHost) -> StoreOperation {
        let operation = StoreOperation(host: host, command: command, contextID: contextID)
        operation.start()
        return operation
    }

    static func status(for failure: StoreFailure) -> DIMSEStatus {
        switch failure.kind {
        case .outOfResources: return .outOfResources
        case .dataSetMismatch: return .identifierDoesNotMatchSOPClass
        case .duplicate: return .duplicateSOPInstance
        }
    }
}

/// One C-STORE being received. Loop-confined.
final class StoreOperation {
    let contextID: UInt8
    let messageID: UInt16?
    let sopClassUID: String
    let sopInstanceUID: String
    private weak var host: (any DIMSEServiceHost)?
    private let started = ContinuousClock.now
    /// When the last fragment arrived: the commit latency metric runs from here to the response.
    private var lastFragmentAt: ContinuousClock.Instant?
    private var object: IncomingObject?
    private var lane: SerialWorkQueue?
    /// Set when the request is refused before any byte is written; the data set is then
    /// read and dropped, and this status sent after its last fragment.
    private var refusal: (status: DIMSEStatus, comment: String)?
    private(set) var receivedBytes = 0
    private var ended = false
    /// The policy when the request came (a reload meanwhile does not change it midway).
    private let uidPolicy: UIDPolicy

    init(host: any DIMSEServiceHost, command: CommandSet, contextID: UInt8) {
        self.host = host
        self.contextID = contextID
        self.messageID = command.messageID
        self.sopClassUID = command.affectedSOPClassUID ?? ""
        self.sopInstanceUID = command.affectedSOPInstanceUID ?? ""
        self.uidPolicy = host.configuration.store.uidPolicy
    }

    func start() {
        guard let host else { return }
        let context = host.negotiated?.contexts[contextID]
        if messageID == nil {
            refusal = (.unableToProcess, "C-STORE-RQ without Message ID")
        } else if let context, !StorageContexts.isStorageSOPClass(context.abstractSyntax) {
            refusal = (.sopClassNotSupported, "not a storage presentation context")
        } else if context == nil || sopClassUID != context!.abstractSyntax {
            refusal = (.sopClassNotSupported, "Affected SOP Class UID does not match the presentation context")
        } else if let calling = host.negotiated?.callingAETitle,
            !host.configuration.isAllowed(callingAE: calling, service: .store)
        {
            refusal = (.notAuthorized, "calling AE title not allowed to store")
        } else if sopInstanceUID.isEmpty {
            refusal = (.invalidSOPInstance, "no Affected SOP Instance UID")
        } else if let problem = UIDValidation.problem(sopInstanceUID, policy: uidPolicy) {
            refusal = (.invalidSOPInstance, "SOP Instance UID invalid: \(problem)")
        } else if let writer = host.storeWriter, let lane = host.storeLane {
            let object = writer.incoming(
                sopClassUID: sopClassUID, sopInstanceUID: sopInstanceUID,
                transferSyntaxUID: context!.transferSyntax,
                sourceAETitle: host.negotiated?.callingAETitle)
            self.object = object
            self.lane = lane
            lane.run({ object.begin() }, on: host.loop) { _ in }
        } else {
            refusal = (.outOfResources, "storage not available (no archive index)")
        }
    }

    /// Fragments received but not yet handed to the lane: handing them over in batches of
    /// `StoreService.batchBytes` costs one worker hop per batch instead of one per PDV.
    private var batch: [ArraySlice<UInt8>] = []
    private var batchCount = 0
    private static let batchBytes = 256 * 1024

    /// One data set fragment, in order.
    func append(_ fragment: ArraySlice<UInt8>, isLast: Bool) {
        guard !ended, let host else { return }
        receivedBytes += fragment.count
        if object != nil, !fragment.isEmpty {
            host.storeBytesQueued(fragment.count)
            batch.append(fragment)
            batchCount += fragment.count
        }
        // A batch never waits for more than a quarter of the queue limit: reading pauses at
        // the limit, and a batch that waited for bytes that cannot arrive would stall.
        let threshold = min(Self.batchBytes, host.configuration.store.maxQueuedBytes / 4)
        if let object, let lane, !batch.isEmpty, isLast || batchCount >= threshold {
            let pieces = batch
            let count = batchCount
            batch = []
            batchCount = 0
            lane.run({ object.append(contentsOf: pieces) }, on: host.loop) { [weak host] _ in
                host?.storeBytesWritten(count)
            }
        }
        guard isLast else { return }
        lastFragmentAt = .now
        if let object, let lane, let committer = host.storeCommitter {
            // After its last bytes, the lane stages the object and queues it for the next group
            // commit; the response goes out from the loop once the group is durable.
            let loop = host.loop
            let uidPolicy = self.uidPolicy
            let done = LoopBound(
                { [self] (result: Result<StoreOutcome, StoreFailure>) in
                    switch result {
                    case .success(let outcome): completed(outcome)
                    case .failure(let failure): failed(StoreService.status(for: failure), failure.comment)
                    }
                }, loop: loop)
            lane.run(
                {
                    committer.submit(object, uidPolicy: uidPolicy) { result in loop.submit { done.value(result) } }
                }, on: loop
            ) { _ in }
        } else {
            let refusal = self.refusal ?? (.unableToProcess, "C-STORE refused")
            failed(refusal.status, refusal.comment)
        }
    }

    /// The association ended before the object was complete: the temporary file is deleted
    /// (after the fragments already queued), nothing is indexed, nothing is sent.
    func abort() {
        guard !ended else { return }
        ended = true
        if batchCount > 0 { host?.storeBytesWritten(batchCount) }
        batch = []
        batchCount = 0
        if let object, let lane, let host {
            lane.run({ object.discard() }, on: host.loop) { _ in }
        }
        host?.logger.notice(
            "C-STORE aborted with the association",
            metadata: [
                "dimse_command": "C-STORE", "sop_instance_uid": "\(sopInstanceUID)", "bytes": "\(receivedBytes)",
            ])
    }

    private func completed(_ outcome: StoreOutcome) {
        if let lastFragmentAt, let host { host.statistics.metrics.recordCommit(since: lastFragmentAt) }
        switch outcome.disposition {
        case .stored, .replaced:
            respond(.success, comment: nil, outcome: outcome)
        case .keptExisting:
            respond(.warning, comment: "duplicate SOP instance: stored copy kept", outcome: outcome)
        }
    }

    private func failed(_ status: DIMSEStatus, _ comment: String) {
        respond(status, comment: comment, outcome: nil)
    }

    private func respond(_ status: DIMSEStatus, comment: String?, outcome: StoreOutcome?) {
        guard !ended else { return }
        ended = true
        guard let host else { return }
        let receivedBytes = self.receivedBytes
        host.statistics.record { s in
            if status.isFailure { s.storesFailed += 1 } else { s.storesReceived += 1 }
            s.storeBytesReceived += receivedBytes
        }
        let responder = DIMSEResponder(host: host, contextID: contextID, commandName: "C-STORE", started: started)
        var details: Logger.Metadata {
            var metadata: Logger.Metadata = [
                "sop_instance_uid": "\(sopInstanceUID)",
                "sop_class_uid": "\(sopClassUID)",
                "bytes": "\(receivedBytes)",
            ]
            if let outcome {
                metadata["path"] = "\(outcome.path)"
                metadata["disposition"] = "\(outcome.disposition)"
            }
            return metadata
        }
        if let messageID {
            let response = CommandSet.cStoreRSP(
                respondingTo: messageID, affectedSOPClassUID: sopClassUID,
                affectedSOPInstanceUID: sopInstanceUID, status: status)
            responder.respond(response, status: status, comment: comment, details)
        } else {
            responder.logCompletion(status: status, comment: comment, details)
        }
        host.operationFinished()
    }
}

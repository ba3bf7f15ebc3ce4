// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Logging
import Reactor

/// Query/Retrieve GET and MOVE SCPs (PS3.4 C.4.2, C.4.3) for the Patient Root and Study Root
/// models.
///
/// The C-GET-RQ / C-MOVE-RQ is validated on the reactor thread; the instance list is planned
/// on the worker pool (``RetrieveIndex``); each instance is opened (and read and converted if
/// needed) on the worker pool, then sent as a C-STORE-RQ — on the same association for C-GET
/// (QR-23), on a new association to the move destination for C-MOVE (QR-17). One sub-operation
/// is on the wire at a time; a small window of files is loaded ahead of it, and data sets sent
/// unchanged go from the file to the socket with `sendfile` (see ``RetrieveOperation``), so
/// memory per retrieve is bounded whatever the study size.
enum RetrieveService {
    static let patientRootMove = "1.2.840.10008.5.1.4.1.2.1.2"
    static let patientRootGet = "1.2.840.10008.5.1.4.1.2.1.3"
    static let studyRootMove = "1.2.840.10008.5.1.4.1.2.2.2"
    static let studyRootGet = "1.2.840.10008.5.1.4.1.2.2.3"
    private static let getSOPClasses: Set<String> = [patientRootGet, studyRootGet]
    private static let moveSOPClasses: Set<String> = [patientRootMove, studyRootMove]

    /// Failed SOP Instance UID List (0008,0058).
    static let failedSOPInstanceUIDList = Tag(0x0008, 0x0058)

    /// Starts a C-GET or C-MOVE. Returns the running operation, or nil when the request was
    /// answered at once (refused) or could not be answered at all.
    static func start(
        _ message: DIMSEMessage, kind: RetrieveOperation.Kind, on host: any DIMSEServiceHost,
        onFinish: @escaping () -> Void
    ) -> RetrieveOperation? {
        let started = ContinuousClock.now
        let name = kind.commandName
        guard let messageID = message.command.messageID else {
            host.logger.warning("\(name)-RQ without Message ID ignored")
            return nil
        }
        let context = host.negotiated?.contexts[message.contextID]
        let sopClass = message.command.affectedSOPClassUID ?? context?.abstractSyntax ?? ""

        func refuse(
            _ status: DIMSEStatus, _ comment: String, offending: [Tag] = [], model: String = "-",
            level: String = "-"
        ) -> RetrieveOperation? {
            let response = kind.response(
                respondingTo: messageID, sopClass: sopClass, status: status,
                counts: SubOperationTally.noneAttempted, hasIdentifier: false)
            respondFinal(
                response, on: host, contextID: message.contextID, kind: kind, status: status,
                comment: comment, offending: offending, model: model, level: level,
                tally: SubOperationTally(total: 0), started: started)
            return nil
        }

        let prelude: QueryRetrievePrelude<RetrieveRequest>
        switch QueryRetrievePrelude.check(
            message, on: host, name: name,
            sopClasses: kind.isMove ? moveSOPClasses : getSOPClasses,
            missingIdentifier: .identifierDoesNotMatchSOPClass, parse: RetrieveRequest.init)
        {
        case .success(let checked): prelude = checked
        case .failure(let r): return refuse(r.status, r.comment, offending: r.offending, model: r.model, level: r.level)
        }
        guard let index = prelude.store as? any RetrieveIndex else {
            return refuse(.unableToProcess, "no index", model: prelude.model.rawValue)
        }
        let request = prelude.request
        var peer: PeerAddress?
        if let destination = kind.destination {
            let trimmed = destination.trimmingAEPadding
            guard !trimmed.isEmpty, let address = host.configuration.peers[trimmed] else {
                return refuse(
                    .moveDestinationUnknown, "unknown move destination '\(trimmed)'",
                    model: prelude.model.rawValue, level: request.level.rawValue)
            }
            peer = address
        }
        let operation = RetrieveOperation(
            host: host, kind: kind, messageID: messageID, contextID: message.contextID,
            sopClassUID: sopClass, transferSyntax: prelude.transferSyntax, request: request, index: index,
            workers: prelude.workers, peer: peer, started: started, onFinish: onFinish)
        operation.start()
        return operation
    }

    /// The final C-GET-RSP or C-MOVE-RSP `response` (with its Failed SOP Instance UID List in
    /// `identifier`, if any), counted and logged with the tally of its sub-operations. The
    /// response and a short list go out in one PDU (``FinalResponseFraming``).
    static func respondFinal(
        _ response: CommandSet, identifier: [UInt8]? = nil, on host: any DIMSEServiceHost,
        contextID: UInt8, kind: RetrieveOperation.Kind, status: DIMSEStatus, comment: String?,
        offending: [Tag] = [], model: String, level: String, tally: SubOperationTally,
        started: ContinuousClock.Instant
    ) {
        host.statistics.record { statistics in
            if kind.isMove { statistics.moves += 1 } else { statistics.gets += 1 }
            statistics.imagesSent += tally.completed + tally.warning
        }
        let responder = DIMSEResponder(
            host: host, contextID: contextID, commandName: kind.commandName, started: started)
        var details: Logger.Metadata = [
            "model": "\(model)",
            "level": "\(level)",
            "matches": "\(tally.total)",
            "completed": "\(tally.completed)",
            "failed": "\(tally.failed)",
            "warning": "\(tally.warning)",
        ]
        if let destination = kind.destination { details["move_destination"] = "\(destination.trimmingAEPadding)" }
        responder.logCompletion(status: status, comment: comment, details)
        let command = DIMSEResponder.annotated(response, comment: comment, offending: offending)
        if let identifier, let negotiated = host.negotiated,
            let pdu = FinalResponseFraming.singlePDU(
                contextID: contextID, command: command, identifier: identifier,
                peerMaxPDULength: negotiated.peerMaxPDULength)
        {
            host.noteResponse(command)
            host.sendPData(pdu)
        } else {
            host.sendMessage(contextID: contextID, command: command, dataSet: identifier.map { [$0[...]] })
        }
    }
}

extension String {
    var trimmingAEPadding: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\0" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\0" { s.removeLast() }
        return String(s)
    }
}

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
    static let getSOPClasses: Set<String> = [patientRootGet, studyRootGet]
    static let moveSOPClasses: Set<String> = [patientRootMove, studyRootMove]

    /// Failed SOP Instance UID List (0008,0058).
    static let failedSOPInstanceUIDList = Tag(0x0008, 0x0058)

    /// Starts a C-GET or C-MOVE. Returns the running operation, or nil when the request was
    /// answered at once (refused) or could not be answered at all.
    static func start(_ message: DIMSEMessage, kind: RetrieveOperation.Kind, on association: Association,
                      onFinish: @escaping () -> Void) -> RetrieveOperation? {
        let started = ContinuousClock.now
        let name = kind.commandName
        guard let messageID = message.command.messageID else {
            association.logger.warning("\(name)-RQ without Message ID ignored")
            return nil
        }
        let context = association.negotiated?.contexts[message.contextID]
        let sopClass = message.command.affectedSOPClassUID ?? context?.abstractSyntax ?? ""
        let destination = kind.destination

        func refuse(_ status: DIMSEStatus, _ comment: String, offending: [Tag] = [], model: String = "-",
                    level: String = "-") -> RetrieveOperation? {
            var response = kind.response(respondingTo: messageID, sopClass: sopClass, status: status,
                                         counts: SubOperationCounts(completed: 0, failed: 0, warning: 0),
                                         hasIdentifier: false)
            response.errorComment = String(comment.prefix(64))
            if !offending.isEmpty { response.offendingElements = offending.map(\.value) }
            association.sendMessage(contextID: message.contextID, command: response)
            logCompletion(on: association, kind: kind, status: status, model: model, level: level, matches: 0,
                          completed: 0, failed: 0, warning: 0, started: started, comment: comment)
            return nil
        }

        let prelude: QueryRetrievePrelude<RetrieveRequest>
        switch QueryRetrievePrelude.check(message, on: association, name: name,
                                          sopClasses: kind.isMove ? moveSOPClasses : getSOPClasses,
                                          missingIdentifier: .identifierDoesNotMatchSOPClass, parse: RetrieveRequest.init) {
        case .success(let checked): prelude = checked
        case .failure(let r): return refuse(r.status, r.comment, offending: r.offending, model: r.model, level: r.level)
        }
        guard let index = prelude.store as? any RetrieveIndex else {
            return refuse(.unableToProcess, "no index", model: prelude.model.rawValue)
        }
        let request = prelude.request
        var peer: PeerAddress?
        if let destination {
            let trimmed = destination.trimmingAEPadding
            guard !trimmed.isEmpty, let address = association.server.configuration.peers[trimmed] else {
                return refuse(.moveDestinationUnknown, "unknown move destination '\(trimmed)'",
                              model: prelude.model.rawValue, level: request.level.rawValue)
            }
            peer = address
        }
        let operation = RetrieveOperation(
            association: association, kind: kind, messageID: messageID, contextID: message.contextID,
            sopClassUID: sopClass, transferSyntax: prelude.transferSyntax, request: request, index: index,
            workers: prelude.workers, peer: peer, started: started, onFinish: onFinish)
        operation.start()
        return operation
    }

    static func logCompletion(on association: Association, kind: RetrieveOperation.Kind, status: DIMSEStatus,
                              model: String, level: String, matches: Int, completed: Int, failed: Int,
                              warning: Int, started: ContinuousClock.Instant, comment: String? = nil) {
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000
            + Double(elapsed.components.attoseconds) / 1e15
        if kind.destination == nil {
            association.server.statistics.gets += 1
        } else {
            association.server.statistics.moves += 1
        }
        association.server.statistics.imagesSent += completed + warning
        var metadata: Logger.Metadata = [
            "dimse_command": "\(kind.commandName)",
            "status": "\(FindService.hex(status.rawValue))",
            "model": "\(model)",
            "level": "\(level)",
            "matches": "\(matches)",
            "completed": "\(completed)",
            "failed": "\(failed)",
            "warning": "\(warning)",
            "duration_ms": "\(Int(milliseconds.rounded()))",
        ]
        if let destination = kind.destination { metadata["move_destination"] = "\(destination.trimmingAEPadding)" }
        if let comment { metadata["error_comment"] = "\(comment)" }
        association.logger.info("\(kind.commandName)", metadata: metadata)
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

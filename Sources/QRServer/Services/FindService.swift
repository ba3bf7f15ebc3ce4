import Archive
import DICOM
import DICOMNetwork
import Logging
import Reactor

/// Query/Retrieve FIND SCP (PS3.4 C.4.1.3) for the Patient Root and Study Root models.
///
/// A C-FIND-RQ is validated here on the reactor thread (identifier decoding, level and
/// model); the matching itself runs page by page on the worker pool through
/// ``IndexStore/find(_:after:limit:)``. Each page comes back to the loop, which sends one
/// pending response per match (QR-13) and asks for the next page only once the connection
/// has drained below its low-water mark, so a client that reads slowly slows the query
/// down instead of growing the daemon's memory.
enum FindService {
    static let patientRootFind = "1.2.840.10008.5.1.4.1.2.1.1"
    static let studyRootFind = "1.2.840.10008.5.1.4.1.2.2.1"
    static let sopClasses: Set<String> = [patientRootFind, studyRootFind]

    /// Retrieve AE Title (0008,0054).
    static let retrieveAETitle = Tag(0x0008, 0x0054)

    /// Starts answering a C-FIND-RQ. Returns the running operation, or nil when the request
    /// was answered at once (failure) or could not be answered at all.
    static func start(_ message: DIMSEMessage, on association: Association,
                      onFinish: @escaping () -> Void) -> FindOperation? {
        let started = ContinuousClock.now
        guard let messageID = message.command.messageID else {
            association.logger.warning("C-FIND-RQ without Message ID ignored")
            return nil
        }
        let context = association.negotiated?.contexts[message.contextID]
        let sopClass = message.command.affectedSOPClassUID ?? context?.abstractSyntax ?? ""

        func refuse(_ status: DIMSEStatus, _ comment: String, offending: [Tag] = [], model: String = "-",
                    level: String = "-") -> FindOperation? {
            var response = CommandSet.cFindRSP(respondingTo: messageID, affectedSOPClassUID: sopClass,
                                               status: status, hasIdentifier: false)
            response.errorComment = String(comment.prefix(64))
            if !offending.isEmpty { response.offendingElements = offending.map(\.value) }
            // Logged (and counted) before sending, so that the line exists once the peer has the answer.
            association.server.statistics.finds += 1
            logCompletion(on: association, status: status, model: model, level: level, matches: 0,
                          started: started, comment: comment)
            association.sendMessage(contextID: message.contextID, command: response)
            return nil
        }

        let prelude: QueryRetrievePrelude<FindRequest>
        switch QueryRetrievePrelude.check(message, on: association, name: "C-FIND", sopClasses: sopClasses,
                                          missingIdentifier: .unableToProcess, parse: FindRequest.init) {
        case .success(let checked): prelude = checked
        case .failure(let r): return refuse(r.status, r.comment, offending: r.offending, model: r.model, level: r.level)
        }
        let operation = FindOperation(
            association: association, messageID: messageID, contextID: message.contextID, sopClassUID: sopClass,
            transferSyntax: prelude.transferSyntax, request: prelude.request, store: prelude.store,
            workers: prelude.workers,
            pageSize: max(1, association.server.findPageSize), started: started, onFinish: onFinish)
        operation.start()
        return operation
    }

    static func logCompletion(on association: Association, status: DIMSEStatus, model: String, level: String,
                              matches: Int, started: ContinuousClock.Instant, comment: String? = nil) {
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000
            + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "dimse_command": "C-FIND",
            "status": "\(hex(status.rawValue))",
            "model": "\(model)",
            "level": "\(level)",
            "matches": "\(matches)",
            "duration_ms": "\(Int(milliseconds.rounded()))",
        ]
        if let comment { metadata["error_comment"] = "\(comment)" }
        association.logger.info("C-FIND", metadata: metadata)
    }

    static func hex(_ value: UInt16) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}

/// One C-FIND in progress on an association. Loop-confined.
final class FindOperation {
    enum Phase { case idle, querying, waitingForWritable, finished }

    let messageID: UInt16
    let contextID: UInt8
    let sopClassUID: String
    let transferSyntax: TransferSyntax
    let request: FindRequest
    let store: any IndexStore
    let workers: WorkerPool
    let pageSize: Int
    private weak var association: Association?
    /// For the flow-control gauge, which must be kept right after the association has gone.
    private unowned let server: DICOMServer
    private let started: ContinuousClock.Instant
    private var onFinish: (() -> Void)?
    private var token: ResumeToken?
    private(set) var phase = Phase.idle {
        didSet {
            let held = phase == .waitingForWritable
            if held != (oldValue == .waitingForWritable) { server.statistics.findsHeldForOutput += held ? 1 : -1 }
        }
    }
    private var cancelRequested = false
    private var matchCount = 0
    private var unsupportedOptionalKeys = false

    init(association: Association, messageID: UInt16, contextID: UInt8, sopClassUID: String,
         transferSyntax: TransferSyntax, request: FindRequest, store: any IndexStore, workers: WorkerPool,
         pageSize: Int, started: ContinuousClock.Instant, onFinish: @escaping () -> Void) {
        self.association = association
        self.server = association.server
        self.messageID = messageID
        self.contextID = contextID
        self.sopClassUID = sopClassUID
        self.transferSyntax = transferSyntax
        self.request = request
        self.store = store
        self.workers = workers
        self.pageSize = pageSize
        self.started = started
        self.onFinish = onFinish
    }

    func start() { fetchNextPage() }

    /// C-CANCEL-RQ for this operation (QR-14): answered at once when waiting for the
    /// client to drain, else when the page being computed comes back.
    func cancel() {
        guard phase != .finished else { return }
        cancelRequested = true
        if phase == .waitingForWritable { finish(.cancel) }
    }

    /// The association ended (abort, close): drop everything, send nothing.
    func stop() {
        phase = .finished
        onFinish = nil
    }

    /// The connection's queued output fell below the low-water mark. Pages held back behind a
    /// streaming data set count too: the next page waits until they have gone out.
    func connectionWritable() {
        guard phase == .waitingForWritable, association?.isOutputAboveLowWater != true else { return }
        fetchNextPage()
    }

    private func fetchNextPage() {
        guard let association, association.isActive else {
            stop()
            return
        }
        if cancelRequested {
            finish(.cancel)
            return
        }
        guard let negotiated = association.negotiated else {
            stop()
            return
        }
        phase = .querying
        let store = self.store
        let request = self.request
        let token = self.token
        let limit = pageSize
        let wantsRetrieveAE = request.identifier.contains(FindService.retrieveAETitle)
        let encoding = IdentifierEncoding(transferSyntax: transferSyntax,
                                          retrieveAETitle: wantsRetrieveAE ? association.server.configuration.aeTitle : nil)
        let framing = PendingResponseFraming(
            contextID: contextID, messageID: messageID, sopClassUID: sopClassUID,
            warnUnsupportedKeys: unsupportedOptionalKeys, peerMaxPDULength: negotiated.peerMaxPDULength)
        // Matching, identifier encoding and PDU framing all run on the worker pool; the
        // loop only hands the page's bytes to the connection.
        workers.run({ try framing.frame(store.findEncoded(request, after: token, limit: limit, encoding: encoding)) },
                    on: association.server.loop) { [self] result in
            pageArrived(result)
        }
    }

    private func pageArrived(_ result: Result<FramedFindPage, Error>) {
        guard phase == .querying else { return }
        guard let association, association.isActive else {
            stop()
            return
        }
        if cancelRequested {
            finish(.cancel)
            return
        }
        let page: FramedFindPage
        switch result {
        case .failure(let error as QueryError):
            finish(DIMSEStatus(error.status), comment: error.comment, offending: error.offendingElements)
            return
        case .failure(let error as IdentifierEncodingError):
            finish(.outOfResources, comment: "cannot encode response identifier: \(error)")
            return
        case .failure(let error):
            finish(.outOfResources, comment: "index query failed: \(error)")
            return
        case .success(let value):
            page = value
        }
        if page.hasUnsupportedOptionalKeys { unsupportedOptionalKeys = true }
        association.sendPData(page.pdus)
        matchCount += page.count
        association.server.statistics.findMatches += page.count
        guard let next = page.next else {
            finish(.success)
            return
        }
        token = next
        // Flow control: the next page only once the client has taken most of this one.
        if association.isOutputAboveLowWater {
            phase = .waitingForWritable
        } else {
            fetchNextPage()
        }
    }

    private func finish(_ status: DIMSEStatus, comment: String? = nil, offending: [Tag] = []) {
        guard phase != .finished else { return }
        phase = .finished
        if let association {
            var response = CommandSet.cFindRSP(respondingTo: messageID, affectedSOPClassUID: sopClassUID,
                                               status: status, hasIdentifier: false)
            if let comment { response.errorComment = String(comment.prefix(64)) }
            if !offending.isEmpty { response.offendingElements = offending.map(\.value) }
            association.server.statistics.finds += 1
            FindService.logCompletion(on: association, status: status, model: request.model.rawValue,
                                      level: request.level.rawValue, matches: matchCount, started: started,
                                      comment: comment)
            association.sendMessage(contextID: contextID, command: response)
        }
        let onFinish = self.onFinish
        self.onFinish = nil
        onFinish?()
    }
}

/// A page of C-FIND matches as the P-DATA-TF PDUs of its pending responses.
struct FramedFindPage: Sendable {
    /// One C-FIND-RSP (pending) and its identifier per match, framed for the peer.
    var pdus: [UInt8]
    /// Number of matches (responses) in `pdus`.
    var count: Int
    var next: ResumeToken?
    var hasUnsupportedOptionalKeys: Bool
}

/// Frames encoded identifiers as pending C-FIND-RSP messages. The command set is the
/// same for every match of a page: it is encoded once per page, not once per match.
struct PendingResponseFraming: Sendable {
    let contextID: UInt8
    let messageID: UInt16
    let sopClassUID: String
    /// FF01 already announced by an earlier page.
    let warnUnsupportedKeys: Bool
    let peerMaxPDULength: UInt32

    func frame(_ page: EncodedFindPage) -> FramedFindPage {
        let status: DIMSEStatus = warnUnsupportedKeys || page.hasUnsupportedOptionalKeys ? .pendingWithWarning : .pending
        let command = CommandSet.cFindRSP(respondingTo: messageID, affectedSOPClassUID: sopClassUID, status: status,
                                          hasIdentifier: true).encoded()
        var pdus: [UInt8] = []
        pdus.reserveCapacity(page.bytes.count + page.count * (command.count + 24))
        for i in 0..<page.count {
            DIMSEFragmenter.append(contextID: contextID, command: command[...], dataSet: page.identifier(i),
                                   peerMaxPDULength: peerMaxPDULength, into: &pdus)
        }
        return FramedFindPage(pdus: pdus, count: page.count, next: page.next,
                              hasUnsupportedOptionalKeys: page.hasUnsupportedOptionalKeys)
    }
}

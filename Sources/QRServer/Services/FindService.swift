// SPDX-License-Identifier: Apache-2.0
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
    static func start(
        _ message: DIMSEMessage, on host: any DIMSEServiceHost,
        onFinish: @escaping () -> Void
    ) -> FindOperation? {
        let started = ContinuousClock.now
        guard let messageID = message.command.messageID else {
            host.logger.warning("C-FIND-RQ without Message ID ignored")
            return nil
        }
        let context = host.negotiated?.contexts[message.contextID]
        let sopClass = message.command.affectedSOPClassUID ?? context?.abstractSyntax ?? ""

        let prelude: QueryRetrievePrelude<FindRequest>
        switch QueryRetrievePrelude.check(
            message, on: host, name: "C-FIND", sopClasses: sopClasses,
            missingIdentifier: .unableToProcess, parse: FindRequest.init)
        {
        case .success(let checked): prelude = checked
        case .failure(let r):
            respondFinal(
                on: host, contextID: message.contextID, messageID: messageID, sopClass: sopClass,
                status: r.status, comment: r.comment, offending: r.offending, model: r.model,
                level: r.level, matches: 0, started: started)
            return nil
        }
        let operation = FindOperation(
            host: host, messageID: messageID, contextID: message.contextID, sopClassUID: sopClass,
            transferSyntax: prelude.transferSyntax, request: prelude.request, store: prelude.store,
            workers: prelude.workers,
            pageSize: max(1, host.findPageSize), started: started, onFinish: onFinish)
        operation.start()
        return operation
    }

    /// The final C-FIND-RSP (success, cancel, or a failure with its Error Comment and Offending
    /// Element), counted and logged.
    static func respondFinal(
        on host: any DIMSEServiceHost, contextID: UInt8, messageID: UInt16, sopClass: String,
        status: DIMSEStatus, comment: String?, offending: [Tag], model: String, level: String,
        matches: Int, started: ContinuousClock.Instant
    ) {
        let response = CommandSet.cFindRSP(
            respondingTo: messageID, affectedSOPClassUID: sopClass,
            status: status, hasIdentifier: false)
        host.statistics.record { $0.finds += 1 }
        DIMSEResponder(host: host, contextID: contextID, commandName: "C-FIND", started: started)
            .respond(
                response, status: status, comment: comment, offending: offending,
                ["model": "\(model)", "level": "\(level)", "matches": "\(matches)"])
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
    private weak var host: (any DIMSEServiceHost)?
    /// For the flow-control gauge, which must be kept right after the association has gone.
    private unowned let statistics: any ServerStatisticsRecorder
    private let started: ContinuousClock.Instant
    private var onFinish: (() -> Void)?
    private var token: ResumeToken?
    private(set) var phase = Phase.idle {
        didSet {
            let held = phase == .waitingForWritable
            if held != (oldValue == .waitingForWritable) {
                statistics.record { $0.findsHeldForOutput += held ? 1 : -1 }
            }
        }
    }
    private var cancelRequested = false
    private var matchCount = 0
    private var unsupportedOptionalKeys = false

    init(
        host: any DIMSEServiceHost, messageID: UInt16, contextID: UInt8, sopClassUID: String,
        transferSyntax: TransferSyntax, request: FindRequest, store: any IndexStore, workers: WorkerPool,
        pageSize: Int, started: ContinuousClock.Instant, onFinish: @escaping () -> Void
    ) {
        self.host = host
        self.statistics = host.statistics
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
        guard phase == .waitingForWritable, host?.isOutputAboveLowWater != true else { return }
        fetchNextPage()
    }

    private func fetchNextPage() {
        guard let host, host.isActive else {
            stop()
            return
        }
        if cancelRequested {
            finish(.cancel)
            return
        }
        guard let negotiated = host.negotiated else {
            stop()
            return
        }
        phase = .querying
        let store = self.store
        let request = self.request
        let token = self.token
        let limit = pageSize
        let wantsRetrieveAE = request.identifier.contains(FindService.retrieveAETitle)
        let encoding = IdentifierEncoding(
            transferSyntax: transferSyntax,
            retrieveAETitle: wantsRetrieveAE ? host.configuration.aeTitle : nil)
        let framing = PendingResponseFraming(
            contextID: contextID, messageID: messageID, sopClassUID: sopClassUID,
            warnUnsupportedKeys: unsupportedOptionalKeys, peerMaxPDULength: negotiated.peerMaxPDULength)
        // Matching, identifier encoding and PDU framing all run on the worker pool; the
        // loop only hands the page's bytes to the connection.
        workers.run(
            { try framing.frame(store.findEncoded(request, after: token, limit: limit, encoding: encoding)) },
            on: host.loop
        ) { [self] result in
            pageArrived(result)
        }
    }

    private func pageArrived(_ result: Result<FramedFindPage, Error>) {
        guard phase == .querying else { return }
        guard let host, host.isActive else {
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
        host.sendPData(page.pdus)
        matchCount += page.count
        statistics.record { $0.findMatches += page.count }
        guard let next = page.next else {
            finish(.success)
            return
        }
        token = next
        // Flow control: the next page only once the client has taken most of this one.
        if host.isOutputAboveLowWater {
            phase = .waitingForWritable
        } else {
            fetchNextPage()
        }
    }

    private func finish(_ status: DIMSEStatus, comment: String? = nil, offending: [Tag] = []) {
        guard phase != .finished else { return }
        phase = .finished
        if let host {
            FindService.respondFinal(
                on: host, contextID: contextID, messageID: messageID, sopClass: sopClassUID,
                status: status, comment: comment, offending: offending,
                model: request.model.rawValue, level: request.level.rawValue,
                matches: matchCount, started: started)
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
        let status: DIMSEStatus =
            warnUnsupportedKeys || page.hasUnsupportedOptionalKeys ? .pendingWithWarning : .pending
        let command = CommandSet.cFindRSP(
            respondingTo: messageID, affectedSOPClassUID: sopClassUID, status: status,
            hasIdentifier: true
        ).encoded()
        var pdus: [UInt8] = []
        pdus.reserveCapacity(page.bytes.count + page.count * (command.count + 24))
        for i in 0..<page.count {
            DIMSEFragmenter.append(
                contextID: contextID, command: command[...], dataSet: page.identifier(i),
                peerMaxPDULength: peerMaxPDULength, into: &pdus)
        }
        return FramedFindPage(
            pdus: pdus, count: page.count, next: page.next,
            hasUnsupportedOptionalKeys: page.hasUnsupportedOptionalKeys)
    }
}

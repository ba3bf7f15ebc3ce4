import DICOMNetwork
import Logging
import Reactor

/// One TCP connection and the DICOM association on it, driven by the PS3.8 state
/// machine: bytes are cut into PDUs (slices of the receive buffer), PDUs become
/// state-machine events, and the machine's outputs are carried out here.
///
/// Lives on the reactor thread only.
final class Association {
    let id: Int
    let connection: TCPConnection
    unowned let server: DICOMServer
    var logger: Logger

    private var stateMachine = AssociationStateMachine()
    private(set) var negotiated: NegotiatedAssociation?
    private var assembler: DIMSEAssembler?
    private var holdsAssociationSlot = false
    private var artimTimer: TimerID?
    private var idleTimer: TimerID?
    /// When the last complete PDU arrived or an operation ended (see `restartIdleTimer`).
    private var lastProgress = ContinuousClock.now
    private var isClosed = false
    /// DIMSE operations still producing responses; a release waits for them (AR-7 allows it).
    private var operationsInProgress = 0
    private var releaseRequested = false
    /// The C-FIND being answered; further C-FIND-RQs wait in `queuedFinds` (async window 1).
    private var activeFind: FindOperation?
    private var queuedFinds: [DIMSEMessage] = []
    /// The C-GET or C-MOVE being performed (see Association+Retrieve.swift).
    var activeRetrieve: RetrieveOperation?
    /// C-STOREs being received, by presentation context (their data sets are streamed).
    private var stores: [UInt8: StoreOperation] = [:]
    /// Data sets of other requests (C-FIND identifiers, …), accumulated until complete:
    /// the assembler delivers every data set incrementally so that C-STORE can stream.
    private var partialDataSets: [UInt8: (command: CommandSet, fragments: [ArraySlice<UInt8>], size: Int)] = [:]
    /// Largest data set of a non-C-STORE request (a C-FIND identifier); beyond it, A-ABORT.
    static let maxAccumulatedDataSet = 16 * 1024 * 1024
    /// The ordered lane on the worker pool for this association's file writes.
    private(set) lazy var storeLane: SerialWorkQueue? = server.workers.map { SerialWorkQueue(pool: $0) }
    /// C-STORE bytes handed to the lane and not written yet; reading pauses above the limit.
    private var storeQueuedBytes = 0
    private var readingPausedForStore = false

    init(id: Int, connection: TCPConnection, server: DICOMServer) {
        self.id = id
        self.connection = connection
        self.server = server
        var logger = server.logger
        logger[metadataKey: "association_id"] = "\(id)"
        logger[metadataKey: "peer_address"] = "\(connection.peerAddress)"
        self.logger = logger
    }

    func start() {
        connection.onRead = { [unowned self] buffer in receive(&buffer) }
        connection.onClose = { [unowned self] error in transportClosed(error) }
        // The connection has one low-water callback; the association owns it and hands it on
        // to whichever operation is waiting for the client to drain.
        connection.onWritable = { [unowned self] in connectionWritable() }
        logger.debug("connection accepted")
        process(.transportConnectIndication)
    }

    /// Ends the association with an A-ABORT (a peer that stopped answering, a data set that
    /// cannot be completed); the reason is logged.
    func abort(because reason: String) {
        guard !isClosed else { return }
        logger.notice("aborting association", metadata: ["reason": "\(reason)"])
        process(.abortRequest)
        if !isClosed { connection.closeAfterFlush(timeout: .seconds(2)) }
    }

    /// Ends the association because the daemon is stopping.
    func abortForShutdown() {
        guard !isClosed else { return }
        logger.info("aborting association: daemon stopping")
        process(.abortRequest)
        if !isClosed { connection.closeAfterFlush(timeout: .seconds(2)) }
    }

    // MARK: - Receiving

    /// Cuts every complete PDU out of the receive buffer and feeds it to the state machine.
    /// Lengths are checked against our limits from the 6-byte header alone, before any
    /// body is buffered, so a hostile length never turns into an allocation.
    private func receive(_ buffer: inout ByteBuffer) {
        while !isClosed, !connection.isReadingPaused {
            if stateMachine.state == .sta13 {
                // Waiting for the peer to close: everything it sends now is ignored (AA-6).
                buffer.clear()
                return
            }
            switch PDUReader.next(from: &buffer, limits: server.decoderLimits) {
            case .needMoreBytes:
                return
            case .invalid(let reason, let description):
                logger.warning("\(description), aborting")
                process(.invalidPDU(reason))
                return
            case .pdu(let pdu, let length):
                logger.trace("PDU received", metadata: ["pdu_type": "\(pdu.type)", "length": "\(length)"])
                restartIdleTimer()
                process(AssociationStateMachine.Event(received: pdu))
            }
        }
    }

    private func transportClosed(_ error: Error?) {
        if let error = error as? FileRegionError {
            // A stored file got shorter while its data set was being sent: the C-STORE-RQ on the
            // wire cannot be completed, so the connection was dropped (an abort for the peer).
            logger.error("association aborted: a data set being sent could not be read to its end",
                         metadata: ["error": "\(error)"])
        } else if let error {
            logger.debug("connection closed", metadata: ["error": "\(error)"])
        }
        process(.transportClosed)
        finish()
    }

    // MARK: - State machine

    private func process(_ event: AssociationStateMachine.Event) {
        guard !isClosed else { return }
        for output in stateMachine.handle(event) {
            perform(output)
        }
    }

    private func perform(_ output: AssociationStateMachine.Output) {
        switch output {
        case .sendPDU(let pdu):
            send(pdu)
        case .indicateAssociateRequest(let request):
            decide(request)
        case .indicatePData(let pData):
            receive(pData)
        case .indicateRelease:
            releaseRequested = true
            answerReleaseIfIdle()
        case .indicateAbort(let indication):
            logAbort(indication)
        case .startARTIM:
            startARTIM()
        case .stopARTIM:
            cancel(&artimTimer)
        case .closeTransport:
            connection.closeAfterFlush(timeout: server.configuration.artimTimeout)
        case .openTransport, .indicateAssociateAccept, .indicateAssociateReject, .confirmRelease:
            break  // requestor-side outputs; this is an acceptor
        }
    }

    private func send(_ pdu: PDU) {
        switch pdu {
        case .pData(let pData):
            connection.write(pData.encodedPieces())
        case .abort:
            connection.write(pdu.encoded()[...])
            // After an A-ABORT nothing more is meaningful; do not wait for the peer.
            connection.closeAfterFlush(timeout: .seconds(5))
        default:
            connection.write(pdu.encoded()[...])
        }
    }

    // MARK: - Negotiation

    private func decide(_ request: AssociateRequest) {
        logger[metadataKey: "calling_ae"] = "\(request.callingAETitle)"
        logger[metadataKey: "called_ae"] = "\(request.calledAETitle)"
        switch negotiate(request, policy: StorageContexts.policy(server.acceptorPolicy, for: request)) {
        case .reject(let reject):
            refuse(with: reject, because: "negotiation refused")
        case .accept(let accept, let negotiated):
            guard server.reserveAssociationSlot(for: self) else {
                refuse(
                    with: .localLimitExceeded,
                    because: "association limit (\(server.configuration.maxAssociations)) reached"
                )
                return
            }
            holdsAssociationSlot = true
            self.negotiated = negotiated
            assembler = DIMSEAssembler(acceptedContextIDs: negotiated.acceptedContextIDs,
                                       deliverDataSetIncrementally: true)
            server.statistics.associationsAccepted += 1
            logger.info("association accepted", metadata: [
                "contexts_accepted": "\(negotiated.contexts.count)",
                "contexts_proposed": "\(request.presentationContexts.count)",
                "peer_max_pdu": "\(negotiated.peerMaxPDULength)",
            ])
            if negotiated.contexts.isEmpty {
                logger.warning("no presentation context was acceptable", metadata: [
                    "abstract_syntaxes": "\(Set(request.presentationContexts.map(\.abstractSyntax)).sorted().joined(separator: ","))",
                ])
            }
            process(.associateAcceptResponse(accept))
        }
    }

    private func refuse(with reject: AssociateReject, because reason: String) {
        server.statistics.associationsRejected += 1
        logger.notice("association rejected", metadata: [
            "reason": "\(reason)",
            "result": "\(reject.result.rawValue)",
            "source": "\(reject.source.rawValue)",
            "diagnostic": "\(reject.reason.rawValue)",
        ])
        process(.associateRejectResponse(reject))
    }

    // MARK: - DIMSE

    private func receive(_ pData: PDataTF) {
        guard var assembler else { return }
        let outputs: [DIMSEAssemblerOutput]
        do {
            outputs = try assembler.append(pData)
        } catch {
            self.assembler = assembler
            logger.warning("invalid DIMSE stream, aborting", metadata: ["error": "\(error)"])
            process(.invalidPDU(error.abortReason))
            return
        }
        self.assembler = assembler
        for output in outputs {
            guard !isClosed else { return }
            switch output {
            case .message(let message):
                handle(message)
            case .command(let contextID, let command):
                commandWithDataSet(command, contextID: contextID)
            case .dataSetFragment(let contextID, let fragment, let isLast):
                dataSetFragment(fragment, contextID: contextID, isLast: isLast)
            }
        }
    }

    /// A command whose data set follows: C-STORE streams it, anything else accumulates it.
    private func commandWithDataSet(_ command: CommandSet, contextID: UInt8) {
        if command.commandField == .cStoreRQ {
            server.statistics.messagesProcessed += 1
            operationStarted()
            stores[contextID] = StoreService.start(command, contextID: contextID, on: self)
        } else {
            partialDataSets[contextID] = (command, [], 0)
        }
    }

    private func dataSetFragment(_ fragment: ArraySlice<UInt8>, contextID: UInt8, isLast: Bool) {
        if let store = stores[contextID] {
            if isLast { stores[contextID] = nil }
            store.append(fragment, isLast: isLast)
            return
        }
        guard var partial = partialDataSets.removeValue(forKey: contextID) else { return }
        partial.size += fragment.count
        guard partial.size <= Self.maxAccumulatedDataSet else {
            logger.warning("request data set too large, aborting", metadata: [
                "command_field": "\(partial.command.commandFieldValue.map { String($0, radix: 16) } ?? "none")",
                "limit": "\(Self.maxAccumulatedDataSet)",
            ])
            process(.abortRequest)
            return
        }
        partial.fragments.append(fragment)
        if isLast {
            handle(DIMSEMessage(contextID: contextID, command: partial.command, dataSet: partial.fragments))
        } else {
            partialDataSets[contextID] = partial
        }
    }

    // MARK: - C-STORE flow control

    /// Bytes handed to the store lane; above the limit the socket is no longer read.
    func storeBytesQueued(_ count: Int) {
        storeQueuedBytes += count
        if !readingPausedForStore, storeQueuedBytes > server.configuration.store.maxQueuedBytes {
            readingPausedForStore = true
            logger.trace("store queue full, pausing reads", metadata: ["queued_bytes": "\(storeQueuedBytes)"])
            connection.pauseReading()
        }
    }

    /// Bytes written by the store lane; reading resumes once half the limit is drained.
    func storeBytesWritten(_ count: Int) {
        storeQueuedBytes -= count
        if readingPausedForStore, storeQueuedBytes <= server.configuration.store.maxQueuedBytes / 2 {
            readingPausedForStore = false
            guard !isClosed else { return }
            connection.resumeReading()
        }
    }

    private func handle(_ message: DIMSEMessage) {
        server.statistics.messagesProcessed += 1
        guard let field = message.command.commandField else {
            logger.warning("unknown DIMSE command field", metadata: ["command_field": "\(message.command.commandFieldValue.map { String($0, radix: 16) } ?? "none")"])
            return
        }
        if let service = DICOMService(requestField: field), let calling = negotiated?.callingAETitle,
           !server.configuration.isAllowed(callingAE: calling, service: service) {
            refuse(message, field: field, status: .notAuthorized,
                   comment: "calling AE \(calling) is not allowed to use \(service.rawValue)")
            return
        }
        switch field {
        case .cEchoRQ:
            VerificationService.handle(message, on: self)
        case .cFindRQ:
            operationStarted()
            if activeFind == nil {
                startFind(message)
            } else {
                queuedFinds.append(message)
            }
        case .cCancelRQ:
            cancelOperation(message)
        case .cGetRQ, .cMoveRQ:
            startRetrieve(message, field: field)
        case .cStoreRSP:
            retrieveStoreResponse(message)
        case .cStoreRQ:
            refuse(message, field: field, status: .sopClassNotSupported, comment: "service not provided by this server")
        default:
            logger.warning("unexpected DIMSE response from peer", metadata: ["dimse_command": "\(field)"])
        }
    }

    /// Whether DIMSE responses can still be sent (association established or releasing).
    var isActive: Bool { !isClosed && stateMachine.canSendPData }

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
    private func cancelOperation(_ message: DIMSEMessage) {
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
            logger.info("C-FIND", metadata: ["dimse_command": "C-FIND", "status": "FE00", "matches": "0"])
            sendMessage(contextID: queued.contextID, command: response)
            operationFinished()
        } else {
            logger.debug("C-CANCEL ignored: no such operation in progress", metadata: ["message_id": "\(target)"])
        }
    }

    private func connectionWritable() {
        activeFind?.connectionWritable()
        activeRetrieve?.connectionWritable()
    }

    /// A request on a context we accepted but for a service this build does not provide.
    private func refuse(_ message: DIMSEMessage, field: CommandField, status: DIMSEStatus, comment: String) {
        guard let messageID = message.command.messageID,
              let responseField = CommandField(rawValue: field.rawValue | 0x8000) else { return }
        var response = CommandSet()
        response.setUS(CommandSet.Tag.commandField, responseField.rawValue)
        response.setUI(CommandSet.Tag.affectedSOPClassUID, message.command.affectedSOPClassUID)
        response.setUS(CommandSet.Tag.messageIDBeingRespondedTo, messageID)
        response.setUS(CommandSet.Tag.commandDataSetType, CommandSet.noDataSet)
        response.status = status
        response.errorComment = String(comment.prefix(64))
        logger.notice("operation refused", metadata: [
            "dimse_command": "\(field)", "status": "\(String(status.rawValue, radix: 16, uppercase: true))",
            "reason": "\(comment)",
        ])
        sendMessage(contextID: message.contextID, command: response)
    }

    /// Sends a DIMSE message as P-DATA-TF PDUs no larger than the peer accepts.
    ///
    /// DT-1 is carried out here directly rather than through the state machine: it changes
    /// no state, and the fragmenter's output goes to `writev` without being re-boxed.
    func sendMessage(contextID: UInt8, command: CommandSet, dataSet: [ArraySlice<UInt8>]? = nil) {
        guard stateMachine.canSendPData, let negotiated else { return }
        guard let dataSet else {
            writeMessagePieces([DIMSEFragmenter.commandPDUs(contextID: contextID, command: command,
                                                            peerMaxPDULength: negotiated.peerMaxPDULength)[...]])
            return
        }
        let pieces = DIMSEFragmenter.pieces(
            contextID: contextID,
            command: command.encoded()[...],
            dataSet: dataSet,
            peerMaxPDULength: negotiated.peerMaxPDULength
        )
        writeMessagePieces(pieces)
    }

    /// Sends P-DATA-TF PDUs framed elsewhere (see `DIMSEFragmenter.append`) as one piece:
    /// a page of C-FIND responses, framed on the worker pool, goes out in one write.
    func sendPData(_ pdus: [UInt8]) {
        guard stateMachine.canSendPData, negotiated != nil, !pdus.isEmpty else { return }
        writeMessagePieces([pdus[...]])
    }

    /// Writes whole messages, or holds them back while a streamed data set is going out.
    private func writeMessagePieces(_ pieces: [ArraySlice<UInt8>]) {
        if heldDuringStream != nil {
            heldDuringStream!.append(contentsOf: pieces)
            heldBytes += pieces.reduce(0) { $0 + $1.count }
        } else {
            connection.write(pieces)
        }
    }

    /// Messages sent while a C-STORE-RQ data set streams out (a C-GET of a large file): the PDVs
    /// of two messages must not interleave, so they go out once the data set is complete.
    /// They are small (responses to C-ECHO or C-FIND on the same association).
    private var heldDuringStream: [ArraySlice<UInt8>]?
    /// Bytes in `heldDuringStream`.
    private var heldBytes = 0

    /// Output queued for the peer: on the connection, or held back while a data set streams out.
    private var pendingOutputBytes: Int { connection.pendingWriteBytes + heldBytes }
    /// Whether queued output (held messages included) is at or above the connection's low-water
    /// mark: producers of responses (C-FIND pages) wait until it is not.
    var isOutputAboveLowWater: Bool { pendingOutputBytes >= connection.writeLowWaterMark }
    /// PDU headers of data sets sent from mapped files.
    private let frameHeaders = SealedBytesArena()

    /// Sends a command and the first stretch of its data set (the whole data set when `isLast`).
    /// Otherwise the data set goes on with ``continueStreamedMessage(contextID:_:isLast:)``, and
    /// other messages wait until it ends.
    func beginStreamedMessage(contextID: UInt8, command: CommandSet, firstPart: DataSetStretch, isLast: Bool) {
        guard stateMachine.canSendPData, let negotiated, heldDuringStream == nil else { return }
        let commandPiece = DIMSEFragmenter.commandPiece(contextID: contextID, command: command,
                                                        peerMaxPDULength: negotiated.peerMaxPDULength)
        let pieces = firstPart.outputPieces(contextID: contextID, isLast: isLast,
                                            peerMaxPDULength: negotiated.peerMaxPDULength, headers: frameHeaders,
                                            after: commandPiece)
        if !isLast { heldDuringStream = [] }
        connection.write(pieces)
    }

    /// The next stretch of a streamed data set; after the last one, held messages go out.
    func continueStreamedMessage(contextID: UInt8, _ part: DataSetStretch, isLast: Bool) {
        guard stateMachine.canSendPData, let negotiated, heldDuringStream != nil else { return }
        connection.write(part.outputPieces(contextID: contextID, isLast: isLast,
                                           peerMaxPDULength: negotiated.peerMaxPDULength, headers: frameHeaders))
        if isLast {
            let held = heldDuringStream ?? []
            heldDuringStream = nil
            heldBytes = 0
            if !held.isEmpty { connection.write(held) }
            // A C-FIND that waited on held pages may go on: the connection only reports draining
            // below its low-water mark after having been above it, which held output never was.
            if !isOutputAboveLowWater { activeFind?.connectionWritable() }
        }
    }

    /// Marks the start and end of an operation that answers asynchronously.
    func operationStarted() { operationsInProgress += 1 }
    func operationFinished() {
        operationsInProgress -= 1
        if !isClosed { restartIdleTimer() }
        answerReleaseIfIdle()
    }

    private func answerReleaseIfIdle() {
        guard releaseRequested, operationsInProgress == 0 else { return }
        releaseRequested = false
        logger.info("association released")
        process(.releaseResponse)
    }

    // MARK: - Timers

    private func startARTIM() {
        cancel(&artimTimer)
        artimTimer = server.loop.schedule(after: server.configuration.artimTimeout) { [weak self] in
            guard let self else { return }
            artimTimer = nil
            logger.info("ARTIM expired", metadata: ["state": "\(stateMachine.state)"])
            process(.artimExpired)
        }
    }

    /// Progress on the association: a complete PDU arrived or an operation ended. Bytes of a
    /// PDU still incomplete are not progress, so a peer dripping a PDU cannot hold its buffer
    /// (or the association) for longer than the idle timeout. The timer is armed once and,
    /// when it fires, re-armed for what is left since the last progress, rather than
    /// rescheduled on every PDU.
    private func restartIdleTimer() {
        lastProgress = .now
        guard idleTimer == nil, let timeout = server.configuration.idleTimeout else { return }
        armIdleTimer(after: timeout)
    }

    private func armIdleTimer(after delay: Duration) {
        idleTimer = server.loop.schedule(after: delay) { [weak self] in
            guard let self else { return }
            idleTimer = nil
            idleTimerFired()
        }
    }

    /// No progress for the idle timeout: an association waiting for its peer (nothing under way,
    /// or a PDU or a data set the peer started and did not finish) is aborted; one whose
    /// operations are under way on our side (a query running, a C-GET streaming out with its
    /// own response timer, C-STORE data being written) is busy, not idle, and is checked again
    /// after another timeout.
    private func idleTimerFired() {
        guard !isClosed, let timeout = server.configuration.idleTimeout else { return }
        let quiet = ContinuousClock.now - lastProgress
        if quiet < timeout {
            armIdleTimer(after: timeout - quiet)
            return
        }
        guard stateMachine.state == .sta6 else { return }
        if let stall = peerStall {
            server.statistics.progressTimeouts += 1
            logger.notice("no progress from the peer, aborting", metadata: [
                "reason": "\(stall)", "idle_timeout_s": "\(timeout.components.seconds)",
            ])
            process(.abortRequest)
        } else if operationsInProgress > 0 {
            armIdleTimer(after: timeout)
        } else {
            logger.notice("association idle, aborting", metadata: ["idle_timeout_s": "\(timeout.components.seconds)"])
            process(.abortRequest)
        }
    }

    /// What the association is waiting for from its peer, if anything was started and left
    /// unfinished; nil while reading is paused (the wait is then on us).
    private var peerStall: String? {
        guard !connection.isReadingPaused else { return nil }
        if connection.bufferedInputBytes > 0 {
            return "a PDU left incomplete (\(connection.bufferedInputBytes) bytes received)"
        }
        if !stores.isEmpty || !partialDataSets.isEmpty { return "a data set left incomplete" }
        return nil
    }

    private func cancel(_ timer: inout TimerID?) {
        if let id = timer { _ = server.loop.cancel(id) }
        timer = nil
    }

    // MARK: - End

    private func logAbort(_ indication: AssociationStateMachine.AbortIndication) {
        server.statistics.associationsAborted += 1
        switch indication {
        case .peer(let abort):
            logger.notice("association aborted by peer", metadata: ["source": "\(abort.source)", "reason": "\(abort.reason)"])
        case .protocolError(let reason):
            logger.notice("association aborted: protocol error", metadata: ["reason": "\(reason)"])
        case .transportClosed:
            logger.notice("connection closed without release")
        }
    }

    private func finish() {
        guard !isClosed else { return }
        isClosed = true
        cancel(&artimTimer)
        cancel(&idleTimer)
        activeFind?.stop()
        activeFind = nil
        queuedFinds.removeAll()
        activeRetrieve?.stop()
        activeRetrieve = nil
        for store in stores.values { store.abort() }
        stores.removeAll()
        partialDataSets.removeAll()
        heldDuringStream = nil
        heldBytes = 0
        if holdsAssociationSlot {
            holdsAssociationSlot = false
            server.releaseAssociationSlot()
        }
        connection.onRead = nil
        connection.onClose = nil
        connection.onWritable = nil
        logger.debug("connection closed", metadata: ["bytes_in": "\(connection.bytesRead)", "bytes_out": "\(connection.bytesWritten)"])
        server.associationDidClose(self)
    }
}

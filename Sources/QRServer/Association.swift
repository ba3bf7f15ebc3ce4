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
    let connection: Connection
    unowned let server: DICOMServer
    var logger: Logger

    var stateMachine = AssociationStateMachine()
    var negotiated: NegotiatedAssociation?
    var assembler: DIMSEAssembler?
    var holdsAssociationSlot = false
    var artimTimer: TimerID?
    var idleTimer: TimerID?
    /// When the last complete PDU arrived or an operation ended (see `restartIdleTimer`).
    var lastProgress = ContinuousClock.now
    var isClosed = false
    /// DIMSE operations still producing responses; a release waits for them (AR-7 allows it).
    var operationsInProgress = 0
    var releaseRequested = false
    /// The C-FIND being answered; further C-FIND-RQs wait in `queuedFinds` (async window 1).
    var activeFind: FindOperation?
    var queuedFinds: [DIMSEMessage] = []
    /// The C-GET or C-MOVE being performed (see Association+Retrieve.swift).
    var activeRetrieve: RetrieveOperation?
    /// C-STOREs being received, by presentation context (their data sets are streamed).
    var stores: [UInt8: StoreOperation] = [:]
    /// Data sets of other requests (C-FIND identifiers, …), accumulated until complete:
    /// the assembler delivers every data set incrementally so that C-STORE can stream.
    var partialDataSets: [UInt8: (command: CommandSet, fragments: [ArraySlice<UInt8>], size: Int)] = [:]
    /// Largest data set of a non-C-STORE request (a C-FIND identifier); beyond it, A-ABORT.
    static let maxAccumulatedDataSet = 16 * 1024 * 1024
    /// The ordered lane on the worker pool for this association's file writes.
    private(set) lazy var storeLane: SerialWorkQueue? = server.workers.map { SerialWorkQueue(pool: $0) }
    /// C-STORE bytes handed to the lane and not written yet; reading pauses above the limit.
    var storeQueuedBytes = 0
    var readingPausedForStore = false
    /// Messages sent while a C-STORE-RQ data set streams out (a C-GET of a large file): the PDVs
    /// of two messages must not interleave, so they go out once the data set is complete.
    /// They are small (responses to C-ECHO or C-FIND on the same association).
    var heldDuringStream: [ArraySlice<UInt8>]?
    /// Bytes in `heldDuringStream`.
    var heldBytes = 0
    /// PDU headers of data sets sent from mapped files.
    let frameHeaders = SealedBytesArena()

    init(id: Int, connection: Connection, server: DICOMServer) {
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

    func process(_ event: AssociationStateMachine.Event) {
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

import DICOMNetwork
import Logging
import Reactor

/// An association we request (the C-MOVE sub-association, QR-17), driven by the state
/// machine's requestor path: Evt1 → connect (non-blocking, on the loop) → Evt2 → A-ASSOCIATE-RQ
/// → AC/RJ → data transfer → A-RELEASE (or A-ABORT). Loop-confined.
///
/// It keeps itself alive from ``open()`` until its connection has closed, so a release can
/// complete after the operation that used it has finished.
final class OutboundAssociation: StoreChannel {
    let request: AssociateRequest
    let peer: PeerAddress
    private unowned let server: DICOMServer
    private var logger: Logger
    private var stateMachine = AssociationStateMachine()
    private var connection: Connection?
    private(set) var negotiated: NegotiatedAssociation?
    private var assembler: DIMSEAssembler?
    private var timer: TimerID?
    private var selfReference: OutboundAssociation?
    private var ended = false
    private var releasing = false
    /// PDU headers of data sets sent from mapped files.
    private let frameHeaders = SealedBytesArena()

    /// Once: established, or why not (connect failure, RJ, abort, timeout).
    var onEstablished: ((Result<Void, SubOperationFailure>) -> Void)?
    /// Every DIMSE message received once established.
    var onMessage: ((DIMSEMessage) -> Void)?
    /// The association ended after being established and before we released it.
    var onUnexpectedEnd: ((String) -> Void)?
    /// Output that had reached the connection's low-water mark has drained below it.
    var onWritable: (() -> Void)?

    /// How long the destination may take to answer the A-ASSOCIATE-RQ, a C-STORE-RQ or the
    /// A-RELEASE-RQ.
    var responseTimeout: Duration

    init(server: DICOMServer, request: AssociateRequest, peer: PeerAddress, logger: Logger) {
        self.server = server
        self.request = request
        self.peer = peer
        var logger = logger
        logger[metadataKey: "move_destination"] = "\(request.calledAETitle)@\(peer)"
        self.logger = logger
        self.responseTimeout = max(server.configuration.artimTimeout, .seconds(30))
    }

    private var destinationText: String { "\(request.calledAETitle) at \(peer)" }

    // MARK: StoreChannel

    var isOpen: Bool { !ended && !releasing && stateMachine.state == .sta6 }

    func storeContexts(for sopClassUID: String) -> [NegotiatedAssociation.Context] {
        guard let negotiated else { return [] }
        return negotiated.contexts.values.filter { $0.abstractSyntax == sopClassUID }.sorted { $0.id < $1.id }
    }

    var peerMaxPDULength: UInt32 { negotiated?.peerMaxPDULength ?? 0 }
    var pendingWriteBytes: Int { connection?.pendingWriteBytes ?? 0 }
    var writeLowWaterMark: Int { connection?.writeLowWaterMark ?? 0 }

    func sendStore(contextID: UInt8, command: CommandSet, dataSet: DataSetStretch, isComplete: Bool) {
        guard isOpen, let negotiated, let connection else { return }
        let commandPiece = DIMSEFragmenter.commandPiece(contextID: contextID, command: command,
                                                        peerMaxPDULength: negotiated.peerMaxPDULength)
        connection.write(dataSet.outputPieces(contextID: contextID, isLast: isComplete,
                                              peerMaxPDULength: negotiated.peerMaxPDULength, headers: frameHeaders,
                                              after: commandPiece))
        startTimer("no C-STORE-RSP")
    }

    func sendStoreData(contextID: UInt8, _ part: DataSetStretch, isLast: Bool) {
        guard isOpen, let negotiated, let connection else { return }
        connection.write(part.outputPieces(contextID: contextID, isLast: isLast,
                                           peerMaxPDULength: negotiated.peerMaxPDULength, headers: frameHeaders))
        // The destination is taking the data set: the wait for its answer starts again.
        startTimer("no C-STORE-RSP")
    }

    // MARK: Control

    func open() {
        selfReference = self
        process(.associateRequest(request))
    }

    /// A-RELEASE when established; otherwise just ends.
    func release() {
        onEstablished = nil
        onMessage = nil
        onUnexpectedEnd = nil
        onWritable = nil
        guard !ended else { return }
        if stateMachine.state == .sta6 {
            releasing = true
            process(.releaseRequest)
            startTimer("no A-RELEASE-RP")
        } else {
            abort()
        }
    }

    /// A-ABORT (the originating association went away, QR-21, or a timeout).
    func abort() {
        onEstablished = nil
        onMessage = nil
        onUnexpectedEnd = nil
        onWritable = nil
        guard !ended else { return }
        if stateMachine.state == .sta4 || connection == nil {
            end()
            return
        }
        process(.abortRequest)
        connection?.closeAfterFlush(timeout: .seconds(2))
    }

    // MARK: Transport

    private func connect() {
        guard let transport = server.outboundTransport(to: peer) else {
            fail("\(destinationText) is marked tls: true but no TLS client context is loaded")
            return
        }
        server.loop.connect(host: peer.host, port: peer.port, timeout: responseTimeout,
                            resolvingNamesOn: server.workers, transport: transport) { [self] result in
            guard !ended else {
                if case .success(let c) = result { c.close() }
                return
            }
            switch result {
            case .failure(let error):
                fail("\(destinationText): \(ConnectFailure.describe(error))")
            case .success(let connection):
                self.connection = connection
                connection.onRead = { [unowned self] buffer in receive(&buffer) }
                connection.onClose = { [unowned self] error in transportClosed(error) }
                connection.onWritable = { [unowned self] in onWritable?() }
                logger.debug("sub-association connection open")
                process(.transportConnectConfirm)
                startTimer("no A-ASSOCIATE response")
            }
        }
    }

    private func receive(_ buffer: inout ByteBuffer) {
        while !ended {
            if stateMachine.state == .sta13 {
                buffer.clear()
                return
            }
            switch PDUReader.next(from: &buffer, limits: server.decoderLimits) {
            case .needMoreBytes:
                return
            case .invalid(let reason, let description):
                logger.warning("\(description) from the move destination, aborting")
                process(.invalidPDU(reason))
                return
            case .pdu(let pdu, _):
                process(AssociationStateMachine.Event(received: pdu))
            }
        }
    }

    private func transportClosed(_ error: Error?) {
        if let error = error as? FileRegionError {
            logger.error("sub-association aborted: a data set being sent could not be read to its end",
                         metadata: ["error": "\(error)"])
        } else if let error {
            logger.debug("sub-association connection closed", metadata: ["error": "\(error)"])
        }
        if !ended, let error = error as? TransportEstablishError {
            // Before the state machine's abort indication, which would name no reason.
            fail("\(destinationText): \(error.reason)")
        }
        process(.transportClosed)
        if !ended {
            if onEstablished != nil {
                fail("\(destinationText) closed the connection during association negotiation")
            } else if let error = error as? FileRegionError {
                unexpectedEnd("a data set being sent could not be read to its end: \(error)")
            } else if !releasing {
                unexpectedEnd("\(destinationText) closed the connection")
            }
            end()
        }
    }

    // MARK: State machine

    private func process(_ event: AssociationStateMachine.Event) {
        guard !ended else { return }
        for output in stateMachine.handle(event) { perform(output) }
    }

    private func perform(_ output: AssociationStateMachine.Output) {
        switch output {
        case .openTransport:
            connect()
        case .sendPDU(let pdu):
            guard let connection else { return }
            switch pdu {
            case .pData(let p): connection.write(p.encodedPieces())
            default: connection.write(pdu.encoded()[...])
            }
        case .indicateAssociateAccept(let ac):
            cancelTimer()
            let negotiated = NegotiatedAssociation(requestor: request, accept: ac)
            self.negotiated = negotiated
            assembler = DIMSEAssembler(acceptedContextIDs: negotiated.acceptedContextIDs)
            logger.info("sub-association established", metadata: [
                "contexts_accepted": "\(negotiated.contexts.count)",
                "contexts_proposed": "\(request.presentationContexts.count)",
            ])
            let callback = onEstablished
            onEstablished = nil
            callback?(.success(()))
        case .indicateAssociateReject(let rj):
            fail("\(destinationText) refused the association (\(rj.result.rawValue)/\(rj.source.rawValue)/\(rj.reason.rawValue))")
        case .indicatePData(let pData):
            receive(pData)
        case .indicateRelease:
            // The destination asks to release in the middle of a move: agree, and stop.
            process(.releaseResponse)
            unexpectedEnd("\(destinationText) released the association")
        case .confirmRelease:
            cancelTimer()
            logger.debug("sub-association released")
        case .indicateAbort(let indication):
            if negotiated == nil {
                fail("\(destinationText) aborted during association negotiation")
            } else if !releasing {
                unexpectedEnd("\(destinationText) aborted the association (\(indication))")
            }
        case .startARTIM:
            startTimer("ARTIM expired")
        case .stopARTIM:
            cancelTimer()
        case .closeTransport:
            if let connection { connection.closeAfterFlush(timeout: .seconds(2)) } else { end() }
        case .indicateAssociateRequest:
            break  // acceptor-side output
        }
    }

    private func receive(_ pData: PDataTF) {
        guard var assembler else { return }
        let outputs: [DIMSEAssemblerOutput]
        do {
            outputs = try assembler.append(pData)
        } catch {
            self.assembler = assembler
            logger.warning("invalid DIMSE stream from the move destination, aborting", metadata: ["error": "\(error)"])
            process(.invalidPDU(error.abortReason))
            return
        }
        self.assembler = assembler
        for output in outputs {
            if case .message(let message) = output {
                cancelTimer()
                onMessage?(message)
            }
        }
    }

    // MARK: Timers and end

    private func startTimer(_ what: String) {
        cancelTimer()
        timer = server.loop.schedule(after: responseTimeout) { [weak self] in
            guard let self else { return }
            timer = nil
            logger.notice("move destination timed out, aborting", metadata: ["waiting_for": "\(what)"])
            if negotiated == nil {
                fail("\(destinationText): \(what) within \(responseTimeout.components.seconds) s")
                return
            }
            let callback = onUnexpectedEnd
            onUnexpectedEnd = nil
            callback?("\(destinationText): \(what) within \(responseTimeout.components.seconds) s")
            abort()
        }
    }

    private func cancelTimer() {
        if let timer { _ = server.loop.cancel(timer) }
        timer = nil
    }

    private func fail(_ reason: String) {
        logger.notice("sub-association failed", metadata: ["reason": "\(reason)"])
        let callback = onEstablished
        onEstablished = nil
        onMessage = nil
        onUnexpectedEnd = nil
        if let connection, !connection.isClosed {
            if stateMachine.state == .sta5 { process(.abortRequest) }
            connection.closeAfterFlush(timeout: .seconds(2))
        } else {
            end()
        }
        callback?(.failure(SubOperationFailure(reason)))
    }

    private func unexpectedEnd(_ reason: String) {
        let callback = onUnexpectedEnd
        onUnexpectedEnd = nil
        onMessage = nil
        callback?(reason)
    }

    private func end() {
        guard !ended else { return }
        ended = true
        cancelTimer()
        connection?.onRead = nil
        connection?.onClose = nil
        connection?.onWritable = nil
        onWritable = nil
        if let connection, !connection.isClosed { connection.close() }
        connection = nil
        selfReference = nil
    }
}

// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Logging
import Reactor

/// The DICOM upper layer on one connection (PS3.8 §9), for an association we accept and one we
/// request alike: it reads PDUs from the connection (``PDUReader``), drives the
/// ``AssociationStateMachine`` and carries out its outputs (PDUs out, ARTIM, closing), assembles
/// DIMSE messages, sends them (UpperLayerDriver+Output.swift) and tells its
/// ``UpperLayerDelegate`` what happened. What differs between acceptor and requestor
/// (negotiation, services, connecting, timers of their own) stays in the delegate.
///
/// Data sets: those of ``streamedCommands`` (C-STORE-RQ) are delivered fragment by fragment as
/// they arrive; every other data set is accumulated by the assembler, up to
/// ``maxAccumulatedDataSet``, and delivered with its command as one message. A larger one ends
/// the association with an A-ABORT.
///
/// Loop-confined.
final class UpperLayerDriver {
    /// What the owner decides about the driver's limits and timers; read when used, so that a
    /// reload of the server's settings applies.
    struct Settings {
        /// Our PDU length limits (a reload may raise them).
        var decoderLimits: () -> PDUStreamDecoder
        /// ARTIM (PS3.8 §9.1.5), read each time it starts.
        var artimTimeout: () -> Duration
        /// How long queued output may take to drain when the state machine closes the transport.
        var closeTimeout: () -> Duration
        /// Names the peer in log lines about its bad input (" from the move destination"); empty
        /// when the logger's metadata says enough.
        var peerPhrase = ""
    }

    /// Commands whose data sets are delivered as they arrive.
    static let streamedCommands: Set<CommandField> = [.cStoreRQ]
    /// Largest data set accumulated for one message (a C-FIND identifier); beyond it, A-ABORT.
    static let maxAccumulatedDataSet = 16 * 1024 * 1024

    let loop: EventLoop
    var settings: Settings
    var logger: Logger
    weak var delegate: UpperLayerDelegate?
    /// The transport; nil for a requestor until it has connected.
    private(set) var connection: Connection?
    private var stateMachine = AssociationStateMachine()
    /// The association as negotiated, once accepted.
    private(set) var negotiated: NegotiatedAssociation?
    private var assembler: DIMSEAssembler?
    /// The A-ASSOCIATE-RQ we sent (requestor).
    private var request: AssociateRequest?
    private var artimTimer: TimerID?
    /// Whether the driver is done: the connection closed, or was never opened.
    private(set) var isEnded = false

    /// Messages sent while a streamed message goes out (a C-STORE-RQ of a C-GET): the PDVs of two
    /// messages must not interleave, so they go out once its data set is complete.
    var heldDuringStream: [ArraySlice<UInt8>]?
    /// Bytes in `heldDuringStream`.
    var heldBytes = 0
    /// PDU headers of data sets sent from mapped files.
    let frameHeaders = SealedBytesArena()

    init(loop: EventLoop, settings: Settings, logger: Logger) {
        self.loop = loop
        self.settings = settings
        self.logger = logger
    }

    /// The state machine's state.
    var state: AssociationStateMachine.State { stateMachine.state }
    /// Whether P-DATA may be sent (Sta6, Sta8).
    var canSendPData: Bool { !isEnded && stateMachine.canSendPData }
    /// Whether the transport is connected and not closed.
    var hasOpenConnection: Bool { connection.map { !$0.isClosed } ?? false }
    /// Whether a data set is being accumulated (its command arrived, its last fragment has not).
    var isAccumulatingDataSet: Bool { assembler?.isAccumulatingDataSet ?? false }

    // MARK: - Acceptor

    /// Takes an accepted connection and waits for the A-ASSOCIATE-RQ (Evt5, ARTIM).
    func start(acceptedConnection connection: Connection) {
        attach(connection)
        process(.transportConnectIndication)
    }

    /// Accepts the A-ASSOCIATE-RQ (Evt7): sends the A-ASSOCIATE-AC, data transfer begins.
    func accept(_ accept: AssociateAccept, negotiated: NegotiatedAssociation) {
        begin(negotiated)
        process(.associateAcceptResponse(accept))
    }

    /// Rejects the A-ASSOCIATE-RQ (Evt8): sends the A-ASSOCIATE-RJ and waits for the peer to close.
    func reject(_ reject: AssociateReject) {
        process(.associateRejectResponse(reject))
    }

    // MARK: - Requestor

    /// Requests an association (Evt1): the delegate is asked to open the transport.
    func requestAssociation(_ request: AssociateRequest) {
        self.request = request
        process(.associateRequest(request))
    }

    /// The transport the delegate opened (Evt2): sends the A-ASSOCIATE-RQ.
    func transportConnected(_ connection: Connection) {
        attach(connection)
        process(.transportConnectConfirm)
    }

    /// Asks the peer to release (Evt11).
    func requestRelease() {
        process(.releaseRequest)
    }

    // MARK: - Both

    /// Answers the peer's A-RELEASE-RQ (Evt14).
    func releaseResponse() {
        process(.releaseResponse)
        // A peer that already shut down its sending side will not close again (Sta13 waits
        // for that): close once the A-RELEASE-RP is out.
        if peerInputEnded, !isEnded { close(timeout: settings.closeTimeout()) }
    }

    /// Ends with an A-ABORT (Evt15) and closes once it is sent; before the transport is open,
    /// just ends.
    func abort() {
        guard !isEnded else { return }
        guard let connection, stateMachine.state != .sta4 else {
            end()
            return
        }
        process(.abortRequest)
        if !isEnded { connection.closeAfterFlush(timeout: .seconds(2)) }
    }

    /// Closes the transport once queued output is written (at most `timeout`); without an open
    /// transport, ends at once.
    func close(timeout: Duration) {
        if let connection, !connection.isClosed {
            connection.closeAfterFlush(timeout: timeout)
        } else {
            end()
        }
    }

    /// Ends now: ARTIM stops, held output is dropped, an open connection is closed, and the
    /// delegate is told (once).
    func end(error: Error? = nil) {
        guard !isEnded else { return }
        isEnded = true
        cancelARTIM()
        heldDuringStream = nil
        heldBytes = 0
        if let connection {
            connection.onRead = nil
            connection.onClose = nil
            connection.onWritable = nil
            if !connection.isClosed { connection.close() }
        }
        delegate?.upperLayer(self, endedWith: error)
    }

    // MARK: - Receiving

    /// Why the connection closed, when it reported a reason (read by the delegate while it is
    /// told of the abort that follows).
    private(set) var transportError: Error?
    /// Whether the peer has shut down its sending side (a TCP half-close).
    private var peerInputEnded = false

    private func attach(_ connection: Connection) {
        self.connection = connection
        // A delegate told of an event may let go of its driver (a sub-association that failed):
        // each callback holds the driver strongly until it returns.
        connection.onRead = { [unowned self] buffer in
            let driver = self
            driver.receive(&buffer)
        }
        connection.onClose = { [unowned self] error in
            let driver = self
            driver.transportError = error
            driver.process(.transportClosed)
            driver.end(error: error)
        }
        connection.onInputEnded = { [unowned self] in
            let driver = self
            driver.inputEnded()
        }
        // The connection has one low-water callback; the delegate hands it on to whichever
        // operation is waiting for the peer to drain.
        connection.onWritable = { [unowned self] in delegate?.upperLayerWritable(self) }
    }

    /// The peer sent all it will send. A release it asked for is still answered (Sta8 and
    /// Sta12: the A-RELEASE-RP may wait for operations in progress, whose responses go out
    /// too); otherwise the transport is closing, after the output queued so far.
    private func inputEnded() {
        peerInputEnded = true
        guard let connection, stateMachine.state != .sta8, stateMachine.state != .sta12 else { return }
        connection.closeAfterFlush(timeout: settings.closeTimeout())
    }

    /// Cuts every complete PDU out of the receive buffer and feeds it to the state machine.
    private func receive(_ buffer: inout ByteBuffer) {
        guard let connection else { return }
        while !isEnded, !connection.isReadingPaused {
            if stateMachine.state == .sta13 {
                // Waiting for the peer to close: everything it sends now is ignored (AA-6).
                buffer.clear()
                return
            }
            switch PDUReader.next(from: &buffer, limits: settings.decoderLimits()) {
            case .needMoreBytes:
                return
            case .invalid(let reason, let description):
                logger.warning("\(description)\(settings.peerPhrase), aborting")
                process(.invalidPDU(reason))
                return
            case .pdu(let pdu, let length):
                logger.trace("PDU received", metadata: ["pdu_type": "\(pdu.type)", "length": "\(length)"])
                delegate?.upperLayerReceivedPDU(self)
                process(AssociationStateMachine.Event(received: pdu))
            }
        }
    }

    private func begin(_ negotiated: NegotiatedAssociation) {
        self.negotiated = negotiated
        assembler = DIMSEAssembler(
            acceptedContextIDs: negotiated.acceptedContextIDs,
            streaming: .commands(Self.streamedCommands),
            maxAccumulatedDataSetLength: Self.maxAccumulatedDataSet)
    }

    private func receive(_ pData: PDataTF) {
        guard assembler != nil else { return }
        let outputs: [DIMSEAssemblerOutput]
        do {
            outputs = try assembler!.append(pData)
        } catch .dataSetTooLarge(_, let commandField, _, let limit) {
            logger.warning(
                "request data set too large\(settings.peerPhrase), aborting",
                metadata: [
                    "command_field": "\(commandField.map { String($0, radix: 16) } ?? "none")",
                    "limit": "\(limit)",
                ])
            process(.abortRequest)
            return
        } catch {
            logger.warning("invalid DIMSE stream\(settings.peerPhrase), aborting", metadata: ["error": "\(error)"])
            process(.invalidPDU(error.abortReason))
            return
        }
        for output in outputs {
            guard !isEnded, let delegate else { return }
            switch output {
            case .message(let message):
                delegate.upperLayer(self, receivedMessage: message)
            case .command(let contextID, let command):
                delegate.upperLayer(self, receivedCommand: command, contextID: contextID)
            case .dataSetFragment(let contextID, let fragment, let isLast):
                delegate.upperLayer(self, receivedDataSetFragment: fragment, contextID: contextID, isLast: isLast)
            }
        }
    }

    // MARK: - State machine

    private func process(_ event: AssociationStateMachine.Event) {
        guard !isEnded else { return }
        for output in stateMachine.handle(event) {
            perform(output)
        }
    }

    private func perform(_ output: AssociationStateMachine.Output) {
        switch output {
        case .openTransport:
            delegate?.upperLayerOpenTransport(self)
        case .sendPDU(let pdu):
            send(pdu)
        case .indicateAssociateRequest(let request):
            delegate?.upperLayer(self, receivedAssociateRequest: request)
        case .indicateAssociateAccept(let accept):
            guard let request else { return }
            let negotiated = NegotiatedAssociation(requestor: request, accept: accept)
            begin(negotiated)
            delegate?.upperLayer(self, associationAccepted: negotiated)
        case .indicateAssociateReject(let reject):
            delegate?.upperLayer(self, associationRejected: reject)
        case .indicatePData(let pData):
            receive(pData)
        case .indicateRelease:
            delegate?.upperLayerReleaseRequested(self)
        case .confirmRelease:
            delegate?.upperLayerReleaseConfirmed(self)
        case .indicateAbort(let indication):
            delegate?.upperLayer(self, aborted: indication)
        case .startARTIM:
            startARTIM()
        case .stopARTIM:
            cancelARTIM()
        case .closeTransport:
            close(timeout: settings.closeTimeout())
        }
    }

    private func send(_ pdu: PDU) {
        guard let connection else { return }
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

    // MARK: - ARTIM

    private func startARTIM() {
        cancelARTIM()
        artimTimer = loop.schedule(after: settings.artimTimeout()) { [weak self] in
            guard let self else { return }
            artimTimer = nil
            logger.info("ARTIM expired", metadata: ["state": "\(stateMachine.state)"])
            process(.artimExpired)
        }
    }

    private func cancelARTIM() {
        if let artimTimer { _ = loop.cancel(artimTimer) }
        artimTimer = nil
    }
}

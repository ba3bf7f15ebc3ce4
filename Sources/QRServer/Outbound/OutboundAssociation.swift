// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Logging
import Reactor

/// An association we request (the C-MOVE sub-association, QR-17): the requestor's side. The
/// upper layer (PDUs, state machine, DIMSE assembly, ARTIM, sending) is its
/// ``UpperLayerDriver``: Evt1 → connect (non-blocking, on the loop, here) → Evt2 →
/// A-ASSOCIATE-RQ → AC/RJ → data transfer → A-RELEASE (or A-ABORT). This class adds the
/// connecting, the wait for each answer of the destination, and the callbacks of its
/// retrieve. Loop-confined.
///
/// It keeps itself alive from ``open()`` until its connection has closed, so a release can
/// complete after the operation that used it has finished.
final class OutboundAssociation: StoreChannel {
    let request: AssociateRequest
    let peer: PeerAddress
    private unowned let server: DICOMServer
    private let driver: UpperLayerDriver
    private var logger: Logger { driver.logger }
    private var timer: TimerID?
    private var selfReference: OutboundAssociation?
    private var releasing = false

    /// Once: established, or why not (connect failure, RJ, abort, timeout).
    var onEstablished: ((Result<Void, SubOperationFailure>) -> Void)?
    /// Every DIMSE message received once established.
    var onMessage: ((DIMSEMessage) -> Void)?
    /// The association ended after being established and before we released it.
    var onUnexpectedEnd: ((String) -> Void)?
    /// Output that had reached the connection's low-water mark has drained below it.
    var onWritable: (() -> Void)?

    /// How long the destination may take to answer the A-ASSOCIATE-RQ, a C-STORE-RQ or the
    /// A-RELEASE-RQ; also our ARTIM.
    let responseTimeout: Duration

    init(server: DICOMServer, request: AssociateRequest, peer: PeerAddress, logger: Logger) {
        self.server = server
        self.request = request
        self.peer = peer
        var logger = logger
        logger[metadataKey: "move_destination"] = "\(request.calledAETitle)@\(peer)"
        let responseTimeout = max(server.configuration.artimTimeout, .seconds(30))
        self.responseTimeout = responseTimeout
        let settings = UpperLayerDriver.Settings(
            decoderLimits: { [unowned server] in server.decoderLimits },
            artimTimeout: { responseTimeout },
            closeTimeout: { .seconds(2) },
            peerPhrase: " from the move destination")
        driver = UpperLayerDriver(loop: server.loop, settings: settings, logger: logger)
    }

    private var destinationText: String { "\(request.calledAETitle) at \(peer)" }

    /// The association as negotiated, once established.
    var negotiated: NegotiatedAssociation? { driver.negotiated }

    // MARK: StoreChannel

    var isOpen: Bool { !driver.isEnded && !releasing && driver.state == .sta6 }

    func storeContexts(for sopClassUID: String) -> [NegotiatedAssociation.Context] {
        guard let negotiated else { return [] }
        return negotiated.contexts.values.filter { $0.abstractSyntax == sopClassUID }.sorted { $0.id < $1.id }
    }

    var peerMaxPDULength: UInt32 { negotiated?.peerMaxPDULength ?? 0 }
    var pendingWriteBytes: Int { driver.connection?.pendingWriteBytes ?? 0 }
    var writeLowWaterMark: Int { driver.writeLowWaterMark }

    func sendStore(contextID: UInt8, command: CommandSet, dataSet: DataSetStretch, isComplete: Bool) {
        guard isOpen else { return }
        driver.beginStreamedMessage(contextID: contextID, command: command, firstPart: dataSet, isLast: isComplete)
        startTimer("no C-STORE-RSP")
    }

    func sendStoreData(contextID: UInt8, _ part: DataSetStretch, isLast: Bool) {
        guard isOpen else { return }
        driver.continueStreamedMessage(contextID: contextID, part, isLast: isLast)
        // The destination is taking the data set: the wait for its answer starts again.
        startTimer("no C-STORE-RSP")
    }

    // MARK: Control

    func open() {
        selfReference = self
        driver.delegate = self
        driver.requestAssociation(request)
    }

    /// A-RELEASE when established; otherwise just ends.
    func release() {
        clearCallbacks()
        guard !driver.isEnded else { return }
        if driver.state == .sta6 {
            releasing = true
            driver.requestRelease()
            startTimer("no A-RELEASE-RP")
        } else {
            abort()
        }
    }

    /// A-ABORT (the originating association went away, QR-21, or a timeout).
    func abort() {
        clearCallbacks()
        guard !driver.isEnded else { return }
        cancelTimer()
        driver.abort()
    }

    private func clearCallbacks() {
        onEstablished = nil
        onMessage = nil
        onUnexpectedEnd = nil
        onWritable = nil
    }

    // MARK: Timers and failures

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
        cancelTimer()
        if driver.hasOpenConnection, driver.state == .sta5 {
            driver.abort()
        } else {
            driver.close(timeout: .seconds(2))
        }
        callback?(.failure(SubOperationFailure(reason)))
    }

    private func unexpectedEnd(_ reason: String) {
        let callback = onUnexpectedEnd
        onUnexpectedEnd = nil
        onMessage = nil
        callback?(reason)
    }
}

extension OutboundAssociation: UpperLayerDelegate {
    func upperLayerOpenTransport(_ driver: UpperLayerDriver) {
        guard let transport = server.outboundTransport(to: peer) else {
            fail("\(destinationText) is marked tls: true but no TLS client context is loaded")
            return
        }
        server.loop.connect(
            host: peer.host, port: peer.port, timeout: responseTimeout,
            resolvingNamesOn: server.workers, transport: transport
        ) { [self] result in
            guard !driver.isEnded else {
                if case .success(let c) = result { c.close() }
                return
            }
            switch result {
            case .failure(let error):
                fail("\(destinationText): \(ConnectFailure.describe(error))")
            case .success(let connection):
                logger.debug("sub-association connection open")
                driver.transportConnected(connection)
                startTimer("no A-ASSOCIATE response")
            }
        }
    }

    func upperLayer(_ driver: UpperLayerDriver, associationAccepted negotiated: NegotiatedAssociation) {
        cancelTimer()
        logger.info(
            "sub-association established",
            metadata: [
                "contexts_accepted": "\(negotiated.contexts.count)",
                "contexts_proposed": "\(request.presentationContexts.count)",
            ])
        let callback = onEstablished
        onEstablished = nil
        callback?(.success(()))
    }

    func upperLayer(_ driver: UpperLayerDriver, associationRejected rj: AssociateReject) {
        fail(
            "\(destinationText) refused the association (\(rj.result.rawValue)/\(rj.source.rawValue)/\(rj.reason.rawValue))"
        )
    }

    func upperLayer(_ driver: UpperLayerDriver, receivedMessage message: DIMSEMessage) {
        cancelTimer()
        onMessage?(message)
    }

    func upperLayer(_ driver: UpperLayerDriver, receivedCommand command: CommandSet, contextID: UInt8) {
        // A C-STORE-RQ from the destination of our C-STOREs: not ours to serve; its data set is dropped.
        logger.debug("unexpected C-STORE-RQ on the C-MOVE sub-association ignored")
    }

    func upperLayer(
        _ driver: UpperLayerDriver, receivedDataSetFragment fragment: ArraySlice<UInt8>,
        contextID: UInt8, isLast: Bool
    ) {}

    func upperLayerReleaseRequested(_ driver: UpperLayerDriver) {
        // The destination asks to release in the middle of a move: agree, and stop. Its answer
        // is no longer awaited; ARTIM now bounds the wait for it to close.
        cancelTimer()
        driver.releaseResponse()
        unexpectedEnd("\(destinationText) released the association")
    }

    func upperLayerReleaseConfirmed(_ driver: UpperLayerDriver) {
        cancelTimer()
        logger.debug("sub-association released")
    }

    func upperLayer(_ driver: UpperLayerDriver, aborted indication: AssociationStateMachine.AbortIndication) {
        cancelTimer()
        if negotiated == nil, let error = driver.transportError as? TransportEstablishError {
            // A TLS handshake that failed: its reason, not the state machine's reasonless abort.
            fail("\(destinationText): \(error.reason)")
        } else if negotiated == nil {
            fail("\(destinationText) aborted during association negotiation")
        } else if !releasing {
            unexpectedEnd("\(destinationText) aborted the association (\(indication))")
        }
    }

    func upperLayerWritable(_ driver: UpperLayerDriver) {
        onWritable?()
    }

    func upperLayer(_ driver: UpperLayerDriver, endedWith error: Error?) {
        if let error = error as? FileRegionError {
            logger.error(
                "sub-association aborted: a data set being sent could not be read to its end",
                metadata: ["error": "\(error)"])
        } else if let error {
            logger.debug("sub-association connection closed", metadata: ["error": "\(error)"])
        }
        if onEstablished != nil {
            fail("\(destinationText) closed the connection during association negotiation")
        } else if let error = error as? FileRegionError {
            unexpectedEnd("a data set being sent could not be read to its end: \(error)")
        } else if !releasing {
            unexpectedEnd("\(destinationText) closed the connection")
        }
        cancelTimer()
        onWritable = nil
        selfReference = nil
    }
}

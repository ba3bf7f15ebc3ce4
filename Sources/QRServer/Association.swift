// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Logging
import Reactor

/// One accepted TCP connection and the DICOM association on it: the acceptor's side. The
/// upper layer (PDUs, state machine, DIMSE assembly, ARTIM, sending) is its
/// ``UpperLayerDriver``; the association negotiates (Association+Negotiation.swift), dispatches
/// DIMSE messages to the services, answers a release once its operations are done, and aborts
/// when idle (Association+Timers.swift).
///
/// Lives on the reactor thread only.
final class Association {
    let id: Int
    let connection: Connection
    unowned let server: DICOMServer
    let driver: UpperLayerDriver
    /// The association's logger (with its peer's metadata), shared with its driver.
    var logger: Logger {
        get { driver.logger }
        set { driver.logger = newValue }
    }

    /// The association as negotiated, once accepted.
    var negotiated: NegotiatedAssociation? { driver.negotiated }
    var holdsAssociationSlot = false
    var idleTimer: TimerID?
    /// When the last complete PDU arrived or an operation ended (see `restartIdleTimer`).
    var lastProgress = ContinuousClock.now
    /// Whether the connection has closed and the association is over.
    var isClosed: Bool { driver.isEnded }
    /// DIMSE operations still producing responses; a release waits for them (AR-7 allows it).
    var operationsInProgress = 0
    var releaseRequested = false
    /// The C-FIND being answered; further C-FIND-RQs wait in `queuedFinds` (async window 1).
    var activeFind: FindOperation?
    var queuedFinds: [DIMSEMessage] = []
    /// The C-GET or C-MOVE being performed (see Association+Retrieve.swift).
    var activeRetrieve: RetrieveOperation?
    /// C-STOREs being received, by presentation context (their data sets are streamed; every
    /// other data set arrives whole, accumulated by the driver).
    var stores: [UInt8: StoreOperation] = [:]
    /// When each request in progress arrived, by Message ID (operation duration metrics).
    var operationStarts: [UInt16: ContinuousClock.Instant] = [:]
    /// The ordered lane on the worker pool for this association's file writes.
    private(set) lazy var storeLane: SerialWorkQueue? = server.workers.map { SerialWorkQueue(pool: $0) }
    /// C-STORE bytes handed to the lane and not written yet; reading pauses above the limit.
    var storeQueuedBytes = 0
    var readingPausedForStore = false
    /// The DIMSE services complete messages go to, by command field.
    let services = DIMSEServiceRegistry<Association>.standard

    init(id: Int, connection: Connection, server: DICOMServer) {
        self.id = id
        self.connection = connection
        self.server = server
        var logger = server.logger
        logger[metadataKey: "association_id"] = "\(id)"
        logger[metadataKey: "peer_address"] = "\(connection.peerAddress)"
        let settings = UpperLayerDriver.Settings(
            decoderLimits: { [unowned server] in server.decoderLimits },
            artimTimeout: { [unowned server] in server.configuration.artimTimeout },
            closeTimeout: { [unowned server] in server.configuration.artimTimeout })
        driver = UpperLayerDriver(loop: server.loop, settings: settings, logger: logger)
    }

    func start() {
        driver.delegate = self
        logger.debug("connection accepted")
        driver.start(acceptedConnection: connection)
    }

    /// Ends the association with an A-ABORT (a peer that stopped answering, a data set that
    /// cannot be completed); the reason is logged.
    func abort(because reason: String) {
        guard !isClosed else { return }
        logger.notice("aborting association", metadata: ["reason": "\(reason)"])
        driver.abort()
    }

    /// Ends the association because the daemon is stopping.
    func abortForShutdown() {
        guard !isClosed else { return }
        logger.info("aborting association: daemon stopping")
        driver.abort()
    }

    // MARK: - DIMSE

    /// A C-STORE-RQ, whose data set streams (``UpperLayerDriver/streamedCommands``).
    private func commandWithDataSet(_ command: CommandSet, contextID: UInt8) {
        server.statistics.messagesProcessed += 1
        noteRequest(command)
        operationStarted()
        stores[contextID] = StoreService.start(command, contextID: contextID, on: self)
    }

    private func dataSetFragment(_ fragment: ArraySlice<UInt8>, contextID: UInt8, isLast: Bool) {
        guard let store = stores[contextID] else { return }  // a refused C-STORE: its data set is dropped
        if isLast { stores[contextID] = nil }
        store.append(fragment, isLast: isLast)
    }

    private func handle(_ message: DIMSEMessage) {
        noteRequest(message.command)
        services.dispatch(message, on: self)
    }

    /// Whether DIMSE responses can still be sent (association established or releasing).
    var isActive: Bool { !isClosed && driver.canSendPData }

    // MARK: - End

    private func logAbort(_ indication: AssociationStateMachine.AbortIndication) {
        server.statistics.associationsAborted += 1
        switch indication {
        case .peer(let abort):
            logger.notice(
                "association aborted by peer", metadata: ["source": "\(abort.source)", "reason": "\(abort.reason)"])
        case .protocolError(let reason):
            logger.notice("association aborted: protocol error", metadata: ["reason": "\(reason)"])
        case .transportClosed:
            logger.notice("connection closed without release")
        }
    }

    private func finish(_ error: Error?) {
        if let error = error as? FileRegionError {
            // A stored file got shorter while its data set was being sent: the C-STORE-RQ on the
            // wire cannot be completed, so the connection was dropped (an abort for the peer).
            logger.error(
                "association aborted: a data set being sent could not be read to its end",
                metadata: ["error": "\(error)"])
        } else if let error {
            logger.debug("connection closed", metadata: ["error": "\(error)"])
        }
        cancel(&idleTimer)
        activeFind?.stop()
        activeFind = nil
        queuedFinds.removeAll()
        activeRetrieve?.stop()
        activeRetrieve = nil
        for store in stores.values { store.abort() }
        stores.removeAll()
        if holdsAssociationSlot {
            holdsAssociationSlot = false
            server.releaseAssociationSlot()
        }
        logger.debug(
            "connection closed",
            metadata: ["bytes_in": "\(connection.bytesRead)", "bytes_out": "\(connection.bytesWritten)"])
        server.associationDidClose(self)
    }
}

extension Association: UpperLayerDelegate {
    func upperLayer(_ driver: UpperLayerDriver, receivedAssociateRequest request: AssociateRequest) {
        decide(request)
    }

    func upperLayerReceivedPDU(_ driver: UpperLayerDriver) {
        restartIdleTimer()
    }

    func upperLayer(_ driver: UpperLayerDriver, receivedMessage message: DIMSEMessage) {
        handle(message)
    }

    func upperLayer(_ driver: UpperLayerDriver, receivedCommand command: CommandSet, contextID: UInt8) {
        commandWithDataSet(command, contextID: contextID)
    }

    func upperLayer(
        _ driver: UpperLayerDriver, receivedDataSetFragment fragment: ArraySlice<UInt8>,
        contextID: UInt8, isLast: Bool
    ) {
        dataSetFragment(fragment, contextID: contextID, isLast: isLast)
    }

    func upperLayerReleaseRequested(_ driver: UpperLayerDriver) {
        releaseRequested = true
        answerReleaseIfIdle()
    }

    func upperLayer(_ driver: UpperLayerDriver, aborted indication: AssociationStateMachine.AbortIndication) {
        logAbort(indication)
    }

    func upperLayerWritable(_ driver: UpperLayerDriver) {
        connectionWritable()
    }

    func upperLayerStreamedMessageEnded(_ driver: UpperLayerDriver) {
        // A C-FIND that waited on held pages may go on: the connection only reports draining
        // below its low-water mark after having been above it, which held output never was.
        if !isOutputAboveLowWater { activeFind?.connectionWritable() }
    }

    func upperLayer(_ driver: UpperLayerDriver, endedWith error: Error?) {
        finish(error)
    }
}

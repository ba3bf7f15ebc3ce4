// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOMNetwork
import Logging
import Reactor

/// Everything a DIMSE service may touch of the association it serves, and nothing of the
/// transport under it: where work runs, the archive, the settings, counters and the logger,
/// the negotiated association, sending, and flow control. ``Association`` is the host of
/// every service the daemon runs (`Association+ServiceHost.swift`); tests drive services
/// through hosts of their own.
///
/// The host calls back into the operations it runs: `connectionWritable()` of the running
/// C-FIND and retrieve when queued output drains below the low-water mark, `stop()` when the
/// association ends. Loop-confined, like every service.
protocol DIMSEServiceHost: AnyObject {
    // MARK: Where work runs

    /// The reactor the association lives on; worker results come back through it.
    var loop: EventLoop { get }
    /// Where index queries and file work run; nil without an index.
    var workers: WorkerPool? { get }

    // MARK: The archive

    /// The archive index C-FIND, C-GET and C-MOVE query; nil when none is configured.
    var index: (any IndexStore)? { get }
    /// C-STORE ingest: nil without an index or with ingest disabled.
    var storeWriter: StoreWriter? { get }
    /// Makes received objects durable and indexes them, in groups.
    var storeCommitter: StoreCommitter? { get }
    /// The ordered lane on the worker pool for this association's C-STORE file writes.
    var storeLane: SerialWorkQueue? { get }

    // MARK: Settings, counters, logging

    /// The server's configuration now (a reload may change it between two requests).
    var configuration: ServerConfiguration { get }
    /// Matches fetched from the index per C-FIND page.
    var findPageSize: Int { get }
    /// The server's counters; they outlive the association.
    var statistics: any ServerStatisticsRecorder { get }
    /// The association's logger (association ID, peer, calling and called AE in its metadata).
    var logger: Logger { get }

    // MARK: The association

    /// The negotiated association: contexts, AE titles, the peer's Maximum Length.
    var negotiated: NegotiatedAssociation? { get }
    /// Whether DIMSE messages can still be sent (established, or releasing).
    var isActive: Bool { get }
    /// An operation that answers asynchronously started; a release waits until it finishes.
    func operationStarted()
    /// An operation started with ``operationStarted()`` sent its last response.
    func operationFinished()
    /// Ends the association with an A-ABORT (a peer that stopped answering); the reason is logged.
    func abort(because reason: String)
    /// An association to another AE (the C-MOVE destination), not yet opened.
    func makeOutboundAssociation(request: AssociateRequest, peer: PeerAddress, logger: Logger) -> OutboundAssociation

    // MARK: Sending

    /// Sends a DIMSE message as P-DATA-TF PDUs no larger than the peer accepts.
    func sendMessage(contextID: UInt8, command: CommandSet, dataSet: [ArraySlice<UInt8>]?)
    /// Sends P-DATA-TF PDUs framed elsewhere (a page of C-FIND responses) as one piece.
    func sendPData(_ pdus: [UInt8])
    /// Counts a response for the operation metrics; `sendMessage` does it, a response sent as
    /// framed P-DATA (``sendPData(_:)``) says so here.
    func noteResponse(_ command: CommandSet)
    /// Sends a command and the first stretch of its data set (the whole data set when `isLast`);
    /// other messages wait until the data set has ended.
    func beginStreamedMessage(contextID: UInt8, command: CommandSet, firstPart: DataSetStretch, isLast: Bool)
    /// The next stretch of a streamed data set; `isLast` ends the message.
    func continueStreamedMessage(contextID: UInt8, _ part: DataSetStretch, isLast: Bool)

    // MARK: Flow control

    /// Whether output queued for the peer, messages held behind a streamed data set included,
    /// is at or above the low-water mark: producers of responses wait until it is not.
    var isOutputAboveLowWater: Bool { get }
    /// Output queued for the peer and not yet taken by the kernel (held messages not included).
    var queuedOutputBytes: Int { get }
    /// The output level below which the host reports that the peer can take more.
    var outputLowWaterMark: Int { get }
    /// Runs `body` with output queued rather than written, then writes it at once: messages
    /// sent together (a pending response and the next C-STORE-RQ) leave in one write.
    func holdingOutput(_ body: () -> Void)
    /// C-STORE bytes handed to the store lane: above the configured limit, reading pauses.
    func storeBytesQueued(_ count: Int)
    /// C-STORE bytes the store lane has written: reading resumes once half the limit is drained.
    func storeBytesWritten(_ count: Int)
}

extension DIMSEServiceHost {
    /// Sends a DIMSE message without a data set.
    func sendMessage(contextID: UInt8, command: CommandSet) {
        sendMessage(contextID: contextID, command: command, dataSet: nil)
    }
}

/// Where services count what they did: the server's ``ServerStatistics``, which outlive every
/// association (an operation may still count after its association has gone).
protocol ServerStatisticsRecorder: AnyObject {
    var statistics: ServerStatistics { get set }
    /// DIMSE operations by command and status, their durations and C-STORE commit latency.
    var metrics: DIMSEMetrics { get set }
}

extension ServerStatisticsRecorder {
    /// Updates the counters.
    func record(_ update: (inout ServerStatistics) -> Void) { update(&statistics) }
}

extension DICOMServer: ServerStatisticsRecorder {}

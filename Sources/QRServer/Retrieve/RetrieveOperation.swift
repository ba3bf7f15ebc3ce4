// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Logging
import Reactor

/// One C-GET or C-MOVE in progress. Loop-confined.
///
/// Memory is bounded by a read-ahead window: up to ``maxFilesAhead`` instances are loaded on the
/// worker pool ahead of the sub-operation on the wire (no new load once ``maxBytesAhead`` are
/// held), and the window is refilled as the channel drains below its low-water mark, so a peer
/// that stops reading stops the loading. A file sent unchanged is held open, not read: its data
/// set goes out with `sendfile` (or, for small PDUs, spliced from a mapping) in stretches
/// queued as the socket drains. Each stretch is made resident in the page cache on the worker
/// pool before it is queued (the first one when its file is loaded, each next one while the one
/// before is on the socket), so the loop thread never waits for the disk. A converted data set,
/// in memory, goes out in stretches of the same size, so its PDUs are framed a stretch at a
/// time. Cancel,
/// abort and the end of the association drop the window; loads still running are discarded
/// when they come back.
final class RetrieveOperation {
    enum Kind {
        case get
        case move(destination: String)

        var isMove: Bool { if case .move = self { return true } else { return false } }
        var destination: String? { if case .move(let d) = self { return d } else { return nil } }
        var commandName: String { isMove ? "C-MOVE" : "C-GET" }

        func response(
            respondingTo messageID: UInt16, sopClass: String, status: DIMSEStatus,
            counts: SubOperationCounts, hasIdentifier: Bool
        ) -> CommandSet {
            isMove
                ? CommandSet.cMoveRSP(
                    respondingTo: messageID, affectedSOPClassUID: sopClass, status: status,
                    subOperations: counts, hasIdentifier: hasIdentifier)
                : CommandSet.cGetRSP(
                    respondingTo: messageID, affectedSOPClassUID: sopClass, status: status,
                    subOperations: counts, hasIdentifier: hasIdentifier)
        }
    }

    enum Phase: Equatable {
        /// `running`: sub-operations are being loaded and sent.
        case idle, planning, connecting, running, finished
    }

    let kind: Kind
    let messageID: UInt16
    let contextID: UInt8
    let sopClassUID: String
    let transferSyntax: TransferSyntax
    let request: RetrieveRequest
    let index: any RetrieveIndex
    let workers: WorkerPool
    let peer: PeerAddress?
    weak var host: (any DIMSEServiceHost)?
    let logger: Logger
    let started: ContinuousClock.Instant
    var onFinish: (() -> Void)?
    var phase = Phase.idle
    var cancelRequested = false
    var channel: (any StoreChannel)?
    var subAssociation: OutboundAssociation?

    var instances: [IndexedInstance] = []
    /// Index in `instances` of the next instance to load; those before it are loaded ahead
    /// (`window`), on the wire (`current`) or done.
    var nextToLoad = 0
    var window: [Slot] = []
    var windowBytes = 0
    /// How instances of a SOP class stored in a transfer syntax are sent on the channel: the
    /// same for every instance of the kind, so decided once per kind (a requester such as
    /// getscu proposes over a hundred contexts).
    var sendPlans: [SendPlanKey: Result<SendPlan, SubOperationFailure>] = [:]
    /// The sub-operation on the wire, the Message ID of its C-STORE-RQ, and the rest of its
    /// data set when streamed.
    var current: IndexedInstance?
    var currentMessageID: UInt16?
    var stream: OutgoingStream?
    var lastStreamID = 0
    /// A C-STORE-RSP that came before the whole data set was sent: acted on once it was.
    var earlyResponse: (status: DIMSEStatus, comment: String?)?
    /// C-GET: no progress from the requester (no C-STORE-RSP, socket not draining) for the
    /// association timeout aborts the association.
    private var responseTimer: TimerID?
    /// The sub-operations ended so far; its total is set once the instances are planned.
    var tally = SubOperationTally(total: 0)
    /// When the last pending response went out (C-MOVE rate-limits them; see `sendProgress`).
    var lastPendingSent: ContinuousClock.Instant
    var lastMessageID: UInt16

    init(
        host: any DIMSEServiceHost, kind: Kind, messageID: UInt16, contextID: UInt8, sopClassUID: String,
        transferSyntax: TransferSyntax, request: RetrieveRequest, index: any RetrieveIndex, workers: WorkerPool,
        peer: PeerAddress?, started: ContinuousClock.Instant, onFinish: @escaping () -> Void
    ) {
        self.host = host
        self.kind = kind
        self.messageID = messageID
        self.contextID = contextID
        self.sopClassUID = sopClassUID
        self.transferSyntax = transferSyntax
        self.request = request
        self.index = index
        self.workers = workers
        self.peer = peer
        self.started = started
        lastPendingSent = started
        self.onFinish = onFinish
        self.logger = host.logger
        self.lastMessageID = messageID
    }

    // MARK: Control

    func start() {
        guard let host else { return }
        phase = .planning
        let index = self.index
        let request = self.request
        workers.run({ try index.instances(for: request) }, on: host.loop) { [self] result in
            planned(result)
        }
    }

    /// C-CANCEL-RQ (QR-20, QR-26): no new sub-operation starts; the one in flight completes.
    func cancel() {
        guard phase != .finished else { return }
        cancelRequested = true
        switch phase {
        case .connecting:
            finish(.cancel)
        case .running:
            // What was loaded ahead will not be sent: release it now.
            discardWindow()
            if current == nil { finish(.cancel) }
        default:
            break  // answered when the planning in progress comes back
        }
    }

    /// The originating association ended: send nothing more, release what was loaded, abort
    /// the sub-association (QR-21).
    func stop() {
        guard phase != .finished else { return }
        phase = .finished
        onFinish = nil
        discardWindow()
        stream = nil
        cancelResponseTimer()
        if let subAssociation {
            logger.notice("\(kind.commandName) stopped: the requesting association ended; aborting the sub-association")
            subAssociation.abort()
        }
        subAssociation = nil
        channel = nil
    }

    /// The channel's output fell below its low-water mark.
    func connectionWritable() {
        guard phase == .running else { return }
        if current != nil { armResponseTimer() }  // the peer is taking data
        pump()
    }

    /// A C-STORE-RSP on the requesting association (C-GET).
    func storeResponse(_ message: DIMSEMessage) -> Bool {
        guard phase == .running, let id = currentMessageID, message.command.messageIDBeingRespondedTo == id else {
            return false
        }
        let status = message.command.status ?? DIMSEStatus(0xFFFF)
        currentMessageID = nil
        cancelResponseTimer()
        if stream != nil {
            // The message must still be completed before anything else goes out.
            earlyResponse = (status, message.command.errorComment)
            return true
        }
        subOperationDone(status: status, comment: message.command.errorComment)
        return true
    }

    // MARK: Steps

    var isAlive: Bool {
        guard phase != .finished, let host, host.isActive else {
            if phase != .finished { stop() }
            return false
        }
        return true
    }

    private func planned(_ result: Result<[IndexedInstance], Error>) {
        guard phase == .planning, isAlive else { return }
        switch result {
        case .failure(let error as QueryError):
            finish(DIMSEStatus(error.status), comment: error.comment, offending: error.offendingElements)
            return
        case .failure(let error):
            finish(.outOfResourcesUnableToCalculateMatches, comment: "index query failed: \(error)")
            return
        case .success(let list):
            instances = list
            tally = SubOperationTally(total: list.count)
        }
        if cancelRequested || instances.isEmpty {
            finish(cancelRequested ? .cancel : .success)
            return
        }
        switch kind {
        case .get:
            channel = GetStoreChannel(host: host!)
            phase = .running
            pump()
        case .move(let destination):
            openSubAssociation(destination: destination.trimmingAEPadding)
        }
    }

    /// Moves the retrieve on as far as it can now: refills the read-ahead window, sends the
    /// next piece of a streamed data set, or starts the next sub-operation once the channel has
    /// drained; finishes when nothing is left. Instances that cannot be attempted (no usable
    /// context, unreadable file) fail here without leaving the loop.
    func pump() {
        while isAlive, phase == .running {
            if cancelRequested, current == nil {
                finish(.cancel)
                return
            }
            guard let channel, channel.isOpen else {
                if let current {
                    self.current = nil
                    stream = nil
                    recordFailure(current, reason: "the association for the sub-operations closed")
                }
                failRemaining(
                    reason: "the \(kind.isMove ? "move destination" : "requesting") association is no longer open")
                finish(tally.finalStatus, comment: "the association for the sub-operations closed")
                return
            }
            fillWindow(channel)
            if current != nil {
                continueStream(channel)
                return
            }
            guard let head = window.first else {
                if nextToLoad >= instances.count { finish(tally.finalStatus) }
                return
            }
            guard let result = head.result else { return }  // its load comes back through `loaded`
            switch result {
            case .failure(let failure):
                window.removeFirst()
                if failure.damagedFile != nil { noteDamagedFile(head.instance, reason: failure.reason) }
                recordFailure(head.instance, reason: failure.reason)
            case .success(let loaded):
                // Flow control: the next file only once the peer has taken most of what we sent.
                if channel.pendingWriteBytes >= channel.writeLowWaterMark { return }
                window.removeFirst()
                windowBytes -= loaded.heldBytes
                send(loaded, of: head.instance, contextID: head.contextID, on: channel)
            }
        }
    }

    // MARK: Response timeout (C-GET)

    func armResponseTimer() {
        guard !kind.isMove, let host, let timeout = host.configuration.idleTimeout else { return }
        cancelResponseTimer()
        responseTimer = host.loop.schedule(after: timeout) { [weak self] in
            self?.responseTimedOut(after: timeout)
        }
    }

    func cancelResponseTimer() {
        if let responseTimer, let host { _ = host.loop.cancel(responseTimer) }
        responseTimer = nil
    }

    /// The requester neither answered the C-STORE-RQ nor took its data for the association
    /// timeout: abort, releasing everything loaded (the move destination has its own timer).
    private func responseTimedOut(after timeout: Duration) {
        responseTimer = nil
        guard phase == .running, let instance = current, let host else { return }
        let reason = "no C-STORE-RSP within \(timeout.components.seconds) s"
        logger.warning(
            "C-GET: the requester stopped answering sub-operations, aborting the association",
            metadata: [
                "sop_instance_uid": "\(instance.sopInstanceUID)",
                "timeout_s": "\(timeout.components.seconds)",
                "completed": "\(tally.completed)",
                "remaining": "\(tally.remaining)",
            ])
        stop()
        host.abort(because: reason)
    }
}

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

        func response(respondingTo messageID: UInt16, sopClass: String, status: DIMSEStatus,
                      counts: SubOperationCounts, hasIdentifier: Bool) -> CommandSet {
            isMove
                ? CommandSet.cMoveRSP(respondingTo: messageID, affectedSOPClassUID: sopClass, status: status,
                                      subOperations: counts, hasIdentifier: hasIdentifier)
                : CommandSet.cGetRSP(respondingTo: messageID, affectedSOPClassUID: sopClass, status: status,
                                     subOperations: counts, hasIdentifier: hasIdentifier)
        }
    }

    enum Phase: Equatable {
        /// `running`: sub-operations are being loaded and sent.
        case idle, planning, connecting, running, finished
    }

    /// How far ahead of the sub-operation on the wire files are loaded: at most this many files
    /// and, once reached, no new load beyond this many bytes held. A file sent unchanged holds
    /// only an open descriptor; a converted one holds its data set.
    static let maxFilesAhead = 4
    static let maxBytesAhead = 16 * 1024 * 1024
    /// Data sets sent from files are queued in stretches of about this size (a multiple of the
    /// PDV size), the next one once the socket has taken most of the last. Each stretch costs a
    /// page-in hop to the worker pool and back and loop wake-ups, and for small PDUs a mapping
    /// and its unmapping; its bytes stay in the page cache (a mapped stretch counts in RSS while
    /// mapped, two at most). Measured on 800 MB against 2 MiB stretches: with 1 MiB PDUs
    /// (`sendfile`) about 6% less server CPU; with 16 KiB PDUs (framed mappings) about a
    /// quarter less (mmap/munmap and wake-ups a quarter as often), peak RSS 41 MB instead of 37.
    static let streamChunkTarget = 8 * 1024 * 1024

    /// One instance in the read-ahead window: its load is in flight (`result` nil) or done.
    private final class Slot {
        let index: Int
        let instance: IndexedInstance
        let contextID: UInt8
        var result: Result<LoadedInstance, SubOperationFailure>?

        init(index: Int, instance: IndexedInstance, contextID: UInt8,
             result: Result<LoadedInstance, SubOperationFailure>? = nil) {
            self.index = index
            self.instance = instance
            self.contextID = contextID
            self.result = result
        }
    }

    /// A data set going out stretch by stretch, from its file or from memory.
    private struct OutgoingStream {
        let source: StreamSource
        let contextID: UInt8
        let shape: StretchShape
        /// Tells this stream's page-ins from those of a stream dropped meanwhile.
        let id: Int
        /// Offset of the next stretch: in the file, or an index of the in-memory data set.
        var nextOffset: Int
        /// The next stretch, resident and ready to queue.
        var ready: DataSetStretch?
        /// Whether the next stretch is being paged in on the worker pool.
        var pagingIn = false
    }

    /// Where a streamed data set's bytes come from.
    private enum StreamSource {
        /// A stored file, stretch by stretch through a page-in on the worker pool.
        case file(StoredDataSetFile)
        /// A converted data set in memory, cut into stretches so that its PDUs are framed (and
        /// their headers held) one stretch at a time, whatever the peer's Maximum Length.
        case memory(ArraySlice<UInt8>)

        var end: Int {
            switch self {
            case .file(let file): file.end
            case .memory(let bytes): bytes.endIndex
            }
        }
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
    private weak var association: Association?
    private let logger: Logger
    private let started: ContinuousClock.Instant
    private var onFinish: (() -> Void)?
    private(set) var phase = Phase.idle
    private var cancelRequested = false
    private var channel: (any StoreChannel)?
    private var subAssociation: OutboundAssociation?

    private var instances: [IndexedInstance] = []
    /// Index in `instances` of the next instance to load; those before it are loaded ahead
    /// (`window`), on the wire (`current`) or done.
    private var nextToLoad = 0
    private var window: [Slot] = []
    private var windowBytes = 0
    /// How instances of a SOP class stored in a transfer syntax are sent on the channel: the
    /// same for every instance of the kind, so decided once per kind (a requester such as
    /// getscu proposes over a hundred contexts).
    private var sendPlans: [SendPlanKey: Result<SendPlan, SubOperationFailure>] = [:]
    /// The sub-operation on the wire, the Message ID of its C-STORE-RQ, and the rest of its
    /// data set when streamed.
    private var current: IndexedInstance?
    private var currentMessageID: UInt16?
    private var stream: OutgoingStream?
    private var lastStreamID = 0
    /// A C-STORE-RSP that came before the whole data set was sent: acted on once it was.
    private var earlyResponse: (status: DIMSEStatus, comment: String?)?
    /// C-GET: no progress from the requester (no C-STORE-RSP, socket not draining) for the
    /// association timeout aborts the association.
    private var responseTimer: TimerID?
    private var completed = 0
    private var failed = 0
    private var warning = 0
    private var failedUIDs: [String] = []
    /// When the last pending response went out (C-MOVE rate-limits them; see `sendProgress`).
    private var lastPendingSent: ContinuousClock.Instant
    private var lastMessageID: UInt16

    init(association: Association, kind: Kind, messageID: UInt16, contextID: UInt8, sopClassUID: String,
         transferSyntax: TransferSyntax, request: RetrieveRequest, index: any RetrieveIndex, workers: WorkerPool,
         peer: PeerAddress?, started: ContinuousClock.Instant, onFinish: @escaping () -> Void) {
        self.association = association
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
        self.logger = association.logger
        self.lastMessageID = messageID
    }

    // MARK: Control

    func start() {
        guard let association else { return }
        phase = .planning
        let index = self.index
        let request = self.request
        workers.run({ try index.instances(for: request) }, on: association.server.loop) { [self] result in
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

    private var isAlive: Bool {
        guard phase != .finished, let association, association.isActive else {
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
        }
        if cancelRequested || instances.isEmpty {
            finish(cancelRequested ? .cancel : .success)
            return
        }
        switch kind {
        case .get:
            channel = GetStoreChannel(association: association!)
            phase = .running
            pump()
        case .move(let destination):
            openSubAssociation(destination: destination.trimmingAEPadding)
        }
    }

    private func openSubAssociation(destination: String) {
        guard let association, let peer else { return }
        phase = .connecting
        // One context per SOP class / transfer syntax pair: the stored syntax, plus the two
        // uncompressed little-endian ones for native objects (EN-06).
        var pairs: [(String, String)] = []
        var seen: Set<String> = []
        func add(_ sop: String, _ ts: String) {
            if seen.insert(sop + "|" + ts).inserted { pairs.append((sop, ts)) }
        }
        for instance in instances {
            add(instance.sopClassUID, instance.transferSyntaxUID)
            if TransferSyntax(uid: instance.transferSyntaxUID).isNative {
                add(instance.sopClassUID, TransferSyntax.explicitVRLittleEndian.uid)
                add(instance.sopClassUID, TransferSyntax.implicitVRLittleEndian.uid)
            }
        }
        if pairs.count > 128 {
            logger.warning("C-MOVE needs more than 128 presentation contexts; proposing the first 128",
                           metadata: ["needed": "\(pairs.count)"])
            pairs = Array(pairs.prefix(128))
        }
        let contexts = pairs.map { RequestedContext(abstractSyntax: $0.0, transferSyntaxes: [$0.1]) }
        let server = association.server
        let rq = AssociateRequest.requestor(
            callingAETitle: server.configuration.aeTitle, calledAETitle: destination, contexts: contexts,
            maxPDULength: server.configuration.maxPDULength,
            implementationClassUID: QRServerVersion.implementationClassUID,
            implementationVersionName: QRServerVersion.implementationVersionName)
        let sub = OutboundAssociation(server: server, request: rq, peer: peer, logger: logger)
        subAssociation = sub
        sub.onEstablished = { [weak self] result in self?.subAssociationEstablished(result) }
        sub.onMessage = { [weak self] message in self?.subAssociationMessage(message) }
        sub.onUnexpectedEnd = { [weak self] reason in self?.subAssociationEnded(reason) }
        sub.open()
    }

    private func subAssociationEstablished(_ result: Result<Void, SubOperationFailure>) {
        guard phase == .connecting, isAlive else { return }
        switch result {
        case .failure(let failure):
            subAssociation = nil
            failRemaining(reason: failure.reason)
            finish(.outOfResourcesUnableToPerformSubOperations, comment: failure.reason)
        case .success:
            channel = subAssociation
            subAssociation?.onWritable = { [weak self] in self?.connectionWritable() }
            if cancelRequested {
                finish(.cancel)
            } else {
                phase = .running
                pump()
            }
        }
    }

    private func subAssociationMessage(_ message: DIMSEMessage) {
        guard message.command.commandField == .cStoreRSP else {
            logger.debug("unexpected message on the C-MOVE sub-association ignored",
                         metadata: ["dimse_command": "\(message.command.commandField.map { "\($0)" } ?? "?")"])
            return
        }
        _ = storeResponse(message)
    }

    /// The destination aborted or closed the sub-association before we released it.
    private func subAssociationEnded(_ reason: String) {
        subAssociation = nil
        guard phase != .finished, isAlive else { return }
        stream = nil
        currentMessageID = nil
        earlyResponse = nil
        if let current {
            self.current = nil
            failed += 1
            failedUIDs.append(current.sopInstanceUID)
            logSubOperationFailure(current, reason: reason)
        }
        failRemaining(reason: reason)
        finish(cancelRequested ? .cancel : finalStatus, comment: reason)
    }

    /// Moves the retrieve on as far as it can now: refills the read-ahead window, sends the
    /// next piece of a streamed data set, or starts the next sub-operation once the channel has
    /// drained; finishes when nothing is left. Instances that cannot be attempted (no usable
    /// context, unreadable file) fail here without leaving the loop.
    private func pump() {
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
                failRemaining(reason: "the \(kind.isMove ? "move destination" : "requesting") association is no longer open")
                finish(finalStatus, comment: "the association for the sub-operations closed")
                return
            }
            fillWindow(channel)
            if current != nil {
                continueStream(channel)
                return
            }
            guard let head = window.first else {
                if nextToLoad >= instances.count { finish(finalStatus) }
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

    /// Starts loads on the worker pool until the window is full, once it has drained to
    /// ``refillLevel``: the files of one refill are loaded by one job and come back together,
    /// so a retrieve of many small files costs a worker wake-up and a loop wake-up per refill
    /// rather than per file.
    private func fillWindow(_ channel: any StoreChannel) {
        guard let association, window.count <= Self.refillLevel else { return }
        var batch: [(slot: Slot, target: TransferSyntax)] = []
        while !cancelRequested, nextToLoad < instances.count, window.count < Self.maxFilesAhead,
              windowBytes < Self.maxBytesAhead {
            let index = nextToLoad
            let instance = instances[index]
            nextToLoad += 1
            let key = SendPlanKey(sopClassUID: instance.sopClassUID, transferSyntaxUID: instance.transferSyntaxUID)
            let plan = sendPlans[key] ?? {
                let plan = Self.sendPlan(for: key, contexts: channel.storeContexts(for: key.sopClassUID), isMove: kind.isMove)
                sendPlans[key] = plan
                return plan
            }()
            switch plan {
            case .failure(let failure):
                window.append(Slot(index: index, instance: instance, contextID: 0, result: .failure(failure)))
            case .success(let plan):
                let slot = Slot(index: index, instance: instance, contextID: plan.contextID)
                window.append(slot)
                batch.append((slot, plan.target))
            }
        }
        guard !batch.isEmpty else { return }
        let jobs = batch.map { (instance: $0.slot.instance, target: $0.target) }
        let slots = batch.map(\.slot)
        let shape = StretchShape(peerMaxPDULength: channel.peerMaxPDULength)
        let index = self.index
        workers.run({
            jobs.map { job in
                Result { () throws(SubOperationFailure) -> LoadedInstance in
                    try InstanceLoader.load(job.instance, as: job.target, shape: shape, markingDamageIn: index)
                }
            }
        }, on: association.server.loop) { [self] (results: Result<[Result<LoadedInstance, SubOperationFailure>], Never>) in
            loaded(results.get(), into: slots)
        }
    }

    private struct SendPlanKey: Hashable {
        var sopClassUID: String
        var transferSyntaxUID: String
    }

    private struct SendPlan {
        var contextID: UInt8
        var target: TransferSyntax
    }

    /// The accepted context to send an instance of `key` on and the syntax to send it in, or
    /// why there is none (then each such instance is a failed sub-operation).
    private static func sendPlan(for key: SendPlanKey, contexts: [NegotiatedAssociation.Context],
                                 isMove: Bool) -> Result<SendPlan, SubOperationFailure> {
        guard let ts = InstanceLoader.choose(stored: key.transferSyntaxUID, offered: contexts.map(\.transferSyntax)),
              let context = contexts.first(where: { $0.transferSyntax == ts }) else {
            let reason = contexts.isEmpty
                ? (isMove ? "the destination accepted no context for SOP class \(key.sopClassUID)"
                          : "no accepted context with SCP role for SOP class \(key.sopClassUID)")
                : "no accepted transfer syntax can carry \(key.transferSyntaxUID) (offered: \(contexts.map(\.transferSyntax).joined(separator: ",")))"
            return .failure(SubOperationFailure(reason))
        }
        return .success(SendPlan(contextID: context.id, target: TransferSyntax(uid: ts)))
    }

    /// Files loaded ahead below which the window is refilled: low enough that refills load
    /// several files at once, high enough that the next file is loaded before it is due.
    static let refillLevel = maxFilesAhead / 2

    private func loaded(_ perSlot: [Result<LoadedInstance, SubOperationFailure>], into slots: [Slot]) {
        guard phase == .running else { return }
        for (slot, result) in zip(slots, perSlot) {
            // A slot no longer in the window was discarded (cancel, end): its bytes just go.
            guard window.contains(where: { $0 === slot }) else { continue }
            slot.result = result
            if case .success(let loaded) = result { windowBytes += loaded.heldBytes }
        }
        pump()
    }

    /// Sends the C-STORE-RQ for a loaded instance: whole, or its first stretch when from a file.
    private func send(_ loaded: LoadedInstance, of instance: IndexedInstance, contextID: UInt8,
                      on channel: any StoreChannel) {
        let id = nextMessageID()
        let command = CommandSet.cStoreRQ(
            messageID: id, affectedSOPClassUID: instance.sopClassUID,
            affectedSOPInstanceUID: instance.sopInstanceUID,
            moveOriginatorAETitle: kind.isMove ? association?.negotiated?.callingAETitle : nil,
            moveOriginatorMessageID: kind.isMove ? messageID : nil)
        current = instance
        currentMessageID = id
        earlyResponse = nil
        let shape = StretchShape(peerMaxPDULength: channel.peerMaxPDULength)
        switch loaded.payload {
        case .whole(let dataSet):
            let first = dataSet.prefix(shape.size)
            channel.sendStore(contextID: contextID, command: command, dataSet: .bytes(first),
                              isComplete: first.count == dataSet.count)
            streamRest(of: .memory(dataSet), from: first.endIndex, contextID: contextID, shape: shape)
        case .file(let file, let first):
            guard case .file(_, let offset, let length, _) = first else { preconditionFailure("a file's first stretch") }
            channel.sendStore(contextID: contextID, command: command, dataSet: first, isComplete: offset + length >= file.end)
            streamRest(of: .file(file), from: offset + length, contextID: contextID, shape: shape)
        }
        armResponseTimer()
    }

    /// After a data set's first stretch: the rest, if any, goes out stretch by stretch as the
    /// channel drains.
    private func streamRest(of source: StreamSource, from next: Int, contextID: UInt8, shape: StretchShape) {
        guard next < source.end, phase == .running else { return }
        lastStreamID += 1
        stream = OutgoingStream(source: source, contextID: contextID, shape: shape, id: lastStreamID, nextOffset: next)
        prepareNextStretch()
    }

    /// Readies the stream's next stretch, unless it is ready or on its way: a file's is paged in
    /// on the worker pool, an in-memory data set's is ready at once. At most one stretch beyond
    /// those queued is held, so memory stays bounded.
    private func prepareNextStretch() {
        guard var s = stream, s.ready == nil, !s.pagingIn, s.nextOffset < s.source.end,
              let association else { return }
        let file: StoredDataSetFile
        switch s.source {
        case .memory(let bytes):
            let end = min(s.nextOffset + s.shape.size, bytes.endIndex)
            s.ready = .bytes(bytes[s.nextOffset..<end])
            s.nextOffset = end
            stream = s
            return
        case .file(let stored):
            file = stored
        }
        s.pagingIn = true
        stream = s
        let (offset, shape, id) = (s.nextOffset, s.shape, s.id)
        workers.run({ file.residentStretch(at: offset, count: shape.size, peerMaxPDULength: shape.peerMaxPDULength) },
                    on: association.server.loop) { [self] (result: Result<DataSetStretch, Never>) in
            stretchResident(result.get(), streamID: id)
        }
    }

    private func stretchResident(_ part: DataSetStretch, streamID: Int) {
        // A stream dropped meanwhile (cancel, abort, end): the stretch just goes.
        guard phase == .running, var s = stream, s.id == streamID, case .file(_, _, let length, _) = part else { return }
        s.pagingIn = false
        s.ready = part
        // A file that got shorter still yields the stretch as planned: sending it reports that.
        s.nextOffset += length
        stream = s
        pump()
    }

    /// Streamed data set: queues the next resident stretch once the channel is below its
    /// low-water mark (the kernel takes it as fast as the peer reads) and readies the one after;
    /// the next call comes when the channel drains or a file's page-in is done.
    private func continueStream(_ channel: any StoreChannel) {
        while var s = stream, channel.pendingWriteBytes < channel.writeLowWaterMark {
            guard let part = s.ready else {
                prepareNextStretch()
                // An in-memory stretch is ready at once; a file's comes back from a worker.
                if stream?.ready != nil { continue }
                return
            }
            s.ready = nil
            let isLast = s.nextOffset >= s.source.end
            stream = isLast ? nil : s
            channel.sendStoreData(contextID: s.contextID, part, isLast: isLast)
            // Writing may have closed the connection (and stopped this operation) at once.
            guard phase == .running, stream != nil || isLast else { return }
            armResponseTimer()
            if isLast {
                if let early = earlyResponse {
                    earlyResponse = nil
                    subOperationDone(status: early.status, comment: early.comment)
                }
                return
            }
            // The socket now holds a whole stretch: ready the next one while it drains.
            prepareNextStretch()
        }
    }

    /// Bytes per stretch of a data set sent from a file: whole PDVs of the peer's size, about
    /// ``streamChunkTarget``, and at most ``maxFramesPerStretch`` of them.
    static func streamChunkSize(peerMaxPDULength: UInt32) -> Int {
        let fragment = DIMSEFragmenter.maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
        guard fragment < streamChunkTarget else { return streamChunkTarget }
        return min(streamChunkTarget / fragment, maxFramesPerStretch) * fragment
    }

    /// PDUs per stretch at most. A stretch's PDU headers are held while it is queued (12 bytes
    /// and a few iovecs each): a peer announcing a tiny Maximum Length (a few bytes of payload
    /// per PDU) would otherwise make an 8 MiB stretch hold millions of them. DCMTK's 16 KiB
    /// PDUs give 512 per stretch, so real peers are not limited by it.
    static let maxFramesPerStretch = 1024

    /// Releases every file loaded ahead; the instances go back to "not yet loaded".
    private func discardWindow() {
        if let first = window.first { nextToLoad = first.index }
        window.removeAll()
        windowBytes = 0
    }

    // MARK: Response timeout (C-GET)

    private func armResponseTimer() {
        guard !kind.isMove, let association, let timeout = association.server.configuration.idleTimeout else { return }
        cancelResponseTimer()
        responseTimer = association.server.loop.schedule(after: timeout) { [weak self] in
            self?.responseTimedOut(after: timeout)
        }
    }

    private func cancelResponseTimer() {
        if let responseTimer, let association { _ = association.server.loop.cancel(responseTimer) }
        responseTimer = nil
    }

    /// The requester neither answered the C-STORE-RQ nor took its data for the association
    /// timeout: abort, releasing everything loaded (the move destination has its own timer).
    private func responseTimedOut(after timeout: Duration) {
        responseTimer = nil
        guard phase == .running, let instance = current, let association else { return }
        let reason = "no C-STORE-RSP within \(timeout.components.seconds) s"
        logger.warning("C-GET: the requester stopped answering sub-operations, aborting the association", metadata: [
            "sop_instance_uid": "\(instance.sopInstanceUID)",
            "timeout_s": "\(timeout.components.seconds)",
            "completed": "\(completed)",
            "remaining": "\(remaining)",
        ])
        stop()
        association.abort(because: reason)
    }

    private func subOperationDone(status: DIMSEStatus, comment: String?) {
        guard let instance = current else { return }
        current = nil
        cancelResponseTimer()
        if status.isSuccess {
            completed += 1
        } else if status.isWarning {
            warning += 1
        } else {
            failed += 1
            failedUIDs.append(instance.sopInstanceUID)
            logSubOperationFailure(instance, reason: "C-STORE-RSP status \(status)" + (comment.map { ": \($0)" } ?? ""))
        }
        guard let connection = association?.connection, !kind.isMove else {
            sendProgress()
            pump()
            return
        }
        // C-GET: the pending response and the next C-STORE-RQ share the connection; one write.
        connection.holdingWrites {
            sendPending()
            pump()
        }
    }

    private func recordFailure(_ instance: IndexedInstance, reason: String) {
        failed += 1
        failedUIDs.append(instance.sopInstanceUID)
        logSubOperationFailure(instance, reason: reason)
        sendProgress()
    }

    /// A stored file found damaged (and marked so in the index by the loader): logged on its own
    /// so that an administrator finds it, and counted.
    private func noteDamagedFile(_ instance: IndexedInstance, reason: String) {
        association?.server.statistics.damagedFilesFound += 1
        logger.error("damaged file in the archive: not sent, marked damaged in the index", metadata: [
            "sop_instance_uid": "\(instance.sopInstanceUID)",
            "path": "\(instance.path)",
            "reason": "\(reason)",
        ])
    }

    private func logSubOperationFailure(_ instance: IndexedInstance, reason: String) {
        logger.warning("\(kind.commandName) sub-operation failed", metadata: [
            "sop_instance_uid": "\(instance.sopInstanceUID)",
            "path": "\(instance.path)",
            "reason": "\(reason)",
        ])
    }

    /// Counts every instance not yet attempted as failed (destination unusable).
    private func failRemaining(reason: String) {
        discardWindow()
        guard nextToLoad < instances.count else { return }
        for instance in instances[nextToLoad...] {
            failed += 1
            failedUIDs.append(instance.sopInstanceUID)
        }
        logger.warning("\(kind.commandName): \(instances.count - nextToLoad) sub-operations not attempted",
                       metadata: ["reason": "\(reason)"])
        nextToLoad = instances.count
    }

    private func nextMessageID() -> UInt16 {
        lastMessageID &+= 1
        if lastMessageID == messageID || lastMessageID == 0 { lastMessageID &+= 1 }
        return lastMessageID
    }

    private static func clamp(_ n: Int) -> UInt16 { UInt16(clamping: n) }

    private var remaining: Int { instances.count - completed - failed - warning }

    /// A pending response after a sub-operation: always for C-GET; for C-MOVE only once the
    /// configured interval has passed since the last one. Each pending C-MOVE-RSP wakes the
    /// requester on a connection of its own, a cost per instance that buys nothing when
    /// instances complete hundreds of times a second; the counts stay current to within the
    /// interval, and the final response has them exact.
    private func sendProgress() {
        if kind.isMove, let interval = association?.server.configuration.movePendingInterval, interval > .zero {
            let now = ContinuousClock.now
            guard now - lastPendingSent >= interval else { return }
            lastPendingSent = now
        }
        sendPending()
    }

    private func sendPending() {
        guard let association, association.isActive else { return }
        let counts = SubOperationCounts(remaining: Self.clamp(remaining), completed: Self.clamp(completed),
                                        failed: Self.clamp(failed), warning: Self.clamp(warning))
        let response = kind.response(respondingTo: messageID, sopClass: sopClassUID, status: .pending,
                                     counts: counts, hasIdentifier: false)
        association.sendMessage(contextID: contextID, command: response)
    }

    /// DM-11: 0000 when every sub-operation succeeded (or nothing matched), A702 when all
    /// failed, B000 otherwise.
    private var finalStatus: DIMSEStatus {
        if failed == 0 && warning == 0 { return .success }
        if completed == 0 && warning == 0 { return .outOfResourcesUnableToPerformSubOperations }
        return .warning
    }

    private func finish(_ status: DIMSEStatus, comment: String? = nil, offending: [Tag] = []) {
        guard phase != .finished else { return }
        phase = .finished
        discardWindow()
        stream = nil
        cancelResponseTimer()
        if let subAssociation {
            subAssociation.release()
            self.subAssociation = nil
        }
        channel = nil
        if let association, association.isActive {
            // Cancel: what was not sent is reported with the failures (DM-12).
            var uids = failedUIDs
            if status.isCancel, nextToLoad < instances.count {
                uids += instances[nextToLoad...].map(\.sopInstanceUID)
            }
            var counts = SubOperationCounts(completed: Self.clamp(completed), failed: Self.clamp(failed),
                                            warning: Self.clamp(warning))
            if status.isCancel { counts.remaining = Self.clamp(instances.count - nextToLoad) }
            var identifier: [UInt8]?
            if !uids.isEmpty, status.isCancel || status.isWarning || status.isFailure {
                var d = DataSet()
                d.set(RetrieveService.failedSOPInstanceUIDList, vr: .UI, strings: uids)
                identifier = try? DataSetWriter.write(d, transferSyntax: transferSyntax)
            }
            var response = kind.response(respondingTo: messageID, sopClass: sopClassUID, status: status,
                                         counts: counts, hasIdentifier: identifier != nil)
            if let comment { response.errorComment = String(comment.prefix(64)) }
            if !offending.isEmpty { response.offendingElements = offending.map(\.value) }
            if let identifier, let negotiated = association.negotiated,
               let pdu = FinalResponseFraming.singlePDU(contextID: contextID, command: response, identifier: identifier,
                                                        peerMaxPDULength: negotiated.peerMaxPDULength) {
                association.sendPData(pdu)
            } else {
                association.sendMessage(contextID: contextID, command: response, dataSet: identifier.map { [$0[...]] })
            }
            RetrieveService.logCompletion(
                on: association, kind: kind, status: status, model: request.model.rawValue,
                level: request.level.rawValue, matches: instances.count, completed: completed, failed: failed,
                warning: warning, started: started, comment: comment)
        }
        let onFinish = self.onFinish
        self.onFinish = nil
        onFinish?()
    }
}

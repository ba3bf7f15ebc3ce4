import Archive
import DICOM
import DICOMNetwork
import Logging
import Reactor

/// Where the C-STORE sub-operations of a retrieve go: the requesting association (C-GET) or an
/// association we open to the move destination (C-MOVE). Loop-confined.
protocol StoreChannel: AnyObject {
    /// Whether C-STORE-RQs can still be sent.
    var isOpen: Bool { get }
    /// Accepted contexts on which we may send a C-STORE-RQ for a SOP class, lowest ID first.
    func storeContexts(for sopClassUID: String) -> [NegotiatedAssociation.Context]
    func sendStore(contextID: UInt8, command: CommandSet, dataSet: ArraySlice<UInt8>)
}

/// One C-GET or C-MOVE in progress. Loop-confined.
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
        case idle, planning, connecting, loading, awaitingResponse(messageID: UInt16), waitingForWritable, finished
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
    private var next = 0
    private var current: IndexedInstance?
    private var completed = 0
    private var failed = 0
    private var warning = 0
    private var failedUIDs: [String] = []
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
        case .waitingForWritable, .connecting:
            finish(.cancel)
        default:
            break  // answered when the planning, load or C-STORE-RSP in progress comes back
        }
    }

    /// The originating association ended: send nothing more, abort the sub-association (QR-21).
    func stop() {
        guard phase != .finished else { return }
        phase = .finished
        onFinish = nil
        if let subAssociation {
            logger.notice("\(kind.commandName) stopped: the requesting association ended; aborting the sub-association")
            subAssociation.abort()
        }
        subAssociation = nil
        channel = nil
    }

    /// The requesting connection's output fell below the low-water mark.
    func connectionWritable() {
        guard phase == .waitingForWritable else { return }
        sendNext()
    }

    /// A C-STORE-RSP on the requesting association (C-GET).
    func storeResponse(_ message: DIMSEMessage) -> Bool {
        guard case .awaitingResponse(let id) = phase, message.command.messageIDBeingRespondedTo == id else {
            return false
        }
        subOperationDone(status: message.command.status ?? DIMSEStatus(0xFFFF), comment: message.command.errorComment)
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
            sendNext()
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
            if cancelRequested { finish(.cancel) } else { sendNext() }
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
        if let current {
            self.current = nil
            failed += 1
            failedUIDs.append(current.sopInstanceUID)
            logSubOperationFailure(current, reason: reason)
        }
        failRemaining(reason: reason)
        finish(cancelRequested ? .cancel : finalStatus, comment: reason)
    }

    /// Starts the next sub-operation, or finishes. Instances that cannot be attempted (no
    /// usable context) fail here without leaving the loop.
    private func sendNext() {
        while isAlive {
            if cancelRequested {
                finish(.cancel)
                return
            }
            guard next < instances.count else {
                finish(finalStatus)
                return
            }
            guard let association, let channel, channel.isOpen else {
                failRemaining(reason: "the \(kind.isMove ? "move destination" : "requesting") association is no longer open")
                finish(finalStatus, comment: "the association for the sub-operations closed")
                return
            }
            // Flow control: the next file only once the requester has taken most of what we sent.
            if association.connection.pendingWriteBytes >= association.connection.writeLowWaterMark {
                phase = .waitingForWritable
                return
            }
            let instance = instances[next]
            next += 1
            let contexts = channel.storeContexts(for: instance.sopClassUID)
            guard let ts = InstanceLoader.choose(stored: instance.transferSyntaxUID,
                                                 offered: contexts.map(\.transferSyntax)),
                  let context = contexts.first(where: { $0.transferSyntax == ts }) else {
                let reason = contexts.isEmpty
                    ? (kind.isMove ? "the destination accepted no context for SOP class \(instance.sopClassUID)"
                                   : "no accepted context with SCP role for SOP class \(instance.sopClassUID)")
                    : "no accepted transfer syntax can carry \(instance.transferSyntaxUID) (offered: \(contexts.map(\.transferSyntax).joined(separator: ",")))"
                recordFailure(instance, reason: reason)
                continue
            }
            phase = .loading
            current = instance
            workers.run({ try InstanceLoader.load(instance, as: TransferSyntax(uid: ts)) }, on: association.server.loop) { [self] result in
                loaded(result, instance: instance, contextID: context.id)
            }
            return
        }
    }

    private func loaded(_ result: Result<LoadedInstance, Error>, instance: IndexedInstance, contextID: UInt8) {
        guard phase == .loading, isAlive else { return }
        if cancelRequested {
            // Not started on the wire yet: reported as not sent.
            current = nil
            next -= 1
            finish(.cancel)
            return
        }
        switch result {
        case .failure(let error):
            current = nil
            recordFailure(instance, reason: "\(error)")
            sendNext()
        case .success(let loaded):
            guard let channel, channel.isOpen else {
                current = nil
                recordFailure(instance, reason: "association closed")
                sendNext()
                return
            }
            let id = nextMessageID()
            let command = CommandSet.cStoreRQ(
                messageID: id, affectedSOPClassUID: instance.sopClassUID,
                affectedSOPInstanceUID: instance.sopInstanceUID,
                moveOriginatorAETitle: kind.isMove ? association?.negotiated?.callingAETitle : nil,
                moveOriginatorMessageID: kind.isMove ? messageID : nil)
            phase = .awaitingResponse(messageID: id)
            channel.sendStore(contextID: contextID, command: command, dataSet: loaded.dataSet)
        }
    }

    private func subOperationDone(status: DIMSEStatus, comment: String?) {
        guard let instance = current else { return }
        current = nil
        if status.isSuccess {
            completed += 1
        } else if status.isWarning {
            warning += 1
        } else {
            failed += 1
            failedUIDs.append(instance.sopInstanceUID)
            logSubOperationFailure(instance, reason: "C-STORE-RSP status \(status)" + (comment.map { ": \($0)" } ?? ""))
        }
        sendPending()
        sendNext()
    }

    private func recordFailure(_ instance: IndexedInstance, reason: String) {
        failed += 1
        failedUIDs.append(instance.sopInstanceUID)
        logSubOperationFailure(instance, reason: reason)
        sendPending()
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
        guard next < instances.count else { return }
        for instance in instances[next...] {
            failed += 1
            failedUIDs.append(instance.sopInstanceUID)
        }
        logger.warning("\(kind.commandName): \(instances.count - next) sub-operations not attempted",
                       metadata: ["reason": "\(reason)"])
        next = instances.count
    }

    private func nextMessageID() -> UInt16 {
        lastMessageID &+= 1
        if lastMessageID == messageID || lastMessageID == 0 { lastMessageID &+= 1 }
        return lastMessageID
    }

    private static func clamp(_ n: Int) -> UInt16 { UInt16(clamping: n) }

    private var remaining: Int { instances.count - completed - failed - warning }

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
        if let subAssociation {
            subAssociation.release()
            self.subAssociation = nil
        }
        channel = nil
        if let association, association.isActive {
            // Cancel: what was not sent is reported with the failures (DM-12).
            var uids = failedUIDs
            if status.isCancel, next < instances.count {
                uids += instances[next...].map(\.sopInstanceUID)
            }
            var counts = SubOperationCounts(completed: Self.clamp(completed), failed: Self.clamp(failed),
                                            warning: Self.clamp(warning))
            if status.isCancel { counts.remaining = Self.clamp(instances.count - next) }
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
            association.sendMessage(contextID: contextID, command: response, dataSet: identifier.map { [$0[...]] })
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

/// C-GET: the sub-operations go back over the requesting association, on contexts for which the
/// requester took the SCP role (QR-23).
final class GetStoreChannel: StoreChannel {
    private weak var association: Association?

    init(association: Association) { self.association = association }

    var isOpen: Bool { association?.isActive ?? false }

    func storeContexts(for sopClassUID: String) -> [NegotiatedAssociation.Context] {
        guard let negotiated = association?.negotiated else { return [] }
        return negotiated.contexts.values
            .filter { $0.abstractSyntax == sopClassUID && $0.requestorIsSCP }
            .sorted { $0.id < $1.id }
    }

    func sendStore(contextID: UInt8, command: CommandSet, dataSet: ArraySlice<UInt8>) {
        association?.sendMessage(contextID: contextID, command: command, dataSet: [dataSet])
    }
}

// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Reactor

/// The read-ahead window: instances loaded on the worker pool ahead of the sub-operation on the wire,
/// and the send plan (context and transfer syntax) of each kind of instance.
extension RetrieveOperation {
    /// How far ahead of the sub-operation on the wire files are loaded: at most this many files
    /// and, once reached, no new load beyond this many bytes held. A file sent unchanged holds
    /// only an open descriptor; a converted one holds its data set.
    static let maxFilesAhead = 4
    static let maxBytesAhead = 16 * 1024 * 1024

    /// One instance in the read-ahead window: its load is in flight (`result` nil) or done.
    final class Slot {
        let index: Int
        let instance: IndexedInstance
        let contextID: UInt8
        var result: Result<LoadedInstance, SubOperationFailure>?

        init(
            index: Int, instance: IndexedInstance, contextID: UInt8,
            result: Result<LoadedInstance, SubOperationFailure>? = nil
        ) {
            self.index = index
            self.instance = instance
            self.contextID = contextID
            self.result = result
        }
    }

    /// Starts loads on the worker pool until the window is full, once it has drained to
    /// ``refillLevel``: the files of one refill are loaded by one job and come back together,
    /// so a retrieve of many small files costs a worker wake-up and a loop wake-up per refill
    /// rather than per file.
    func fillWindow(_ channel: any StoreChannel) {
        guard let host, window.count <= Self.refillLevel else { return }
        var batch: [(slot: Slot, target: TransferSyntax)] = []
        while !cancelRequested, nextToLoad < instances.count, window.count < Self.maxFilesAhead,
            windowBytes < Self.maxBytesAhead
        {
            let index = nextToLoad
            let instance = instances[index]
            nextToLoad += 1
            let key = SendPlanKey(sopClassUID: instance.sopClassUID, transferSyntaxUID: instance.transferSyntaxUID)
            let plan =
                sendPlans[key]
                ?? {
                    let plan = Self.sendPlan(
                        for: key, contexts: channel.storeContexts(for: key.sopClassUID), isMove: kind.isMove)
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
        workers.run(
            {
                jobs.map { job in
                    Result { () throws(SubOperationFailure) -> LoadedInstance in
                        try InstanceLoader.load(job.instance, as: job.target, shape: shape, markingDamageIn: index)
                    }
                }
            }, on: host.loop
        ) { [self] (results: Result<[Result<LoadedInstance, SubOperationFailure>], Never>) in
            loaded(results.get(), into: slots)
        }
    }

    struct SendPlanKey: Hashable {
        var sopClassUID: String
        var transferSyntaxUID: String
    }

    struct SendPlan {
        var contextID: UInt8
        var target: TransferSyntax
    }

    /// The accepted context to send an instance of `key` on and the syntax to send it in, or
    /// why there is none (then each such instance is a failed sub-operation).
    private static func sendPlan(
        for key: SendPlanKey, contexts: [NegotiatedAssociation.Context],
        isMove: Bool
    ) -> Result<SendPlan, SubOperationFailure> {
        guard let ts = InstanceLoader.choose(stored: key.transferSyntaxUID, offered: contexts.map(\.transferSyntax)),
            let context = contexts.first(where: { $0.transferSyntax == ts })
        else {
            let reason =
                contexts.isEmpty
                ? (isMove
                    ? "the destination accepted no context for SOP class \(key.sopClassUID)"
                    : "no accepted context with SCP role for SOP class \(key.sopClassUID)")
                : "no accepted transfer syntax can carry \(key.transferSyntaxUID) (offered: \(contexts.map(\.transferSyntax).joined(separator: ",")))"
            return .failure(SubOperationFailure(reason))
        }
        return .success(SendPlan(contextID: context.id, target: TransferSyntax(uid: ts)))
    }

    /// Files loaded ahead below which the window is refilled: low enough that refills load
    /// several files at once, high enough that the next file is loaded before it is due.
    private static let refillLevel = maxFilesAhead / 2

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

    /// Releases every file loaded ahead; the instances go back to "not yet loaded".
    func discardWindow() {
        if let first = window.first { nextToLoad = first.index }
        window.removeAll()
        windowBytes = 0
    }
}

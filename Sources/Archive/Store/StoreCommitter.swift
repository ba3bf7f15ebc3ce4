// SPDX-License-Identifier: Apache-2.0
import DICOM
import Dispatch
import Synchronization

/// Group commit of received objects across associations (C-STORE ingest).
///
/// Each association's lane writes its object's bytes and hands the complete object to
/// ``submit(_:completion:)``, which stages it (header parsed and checked, on the caller's
/// thread) and passes it to the committer's own threads:
///
/// 1. *data*: ``IncomingObject/syncData()`` — the object's fdatasync, at once, on one of
///    ``syncWidth`` sync threads: concurrent fsyncs are served by shared device flushes, and
///    no object waits for another's;
/// 2. *place*: ``StoreWriter/place(_:dataFailures:)`` — for every object whose data is
///    durable by the time the stage is free: renames, one fsync per distinct directory, all
///    index rows in one transaction; then every object of the group is completed, in the
///    order the objects were submitted.
///
/// Neither stage runs on the submitting thread: that is a worker of the shared pool, and a
/// worker blocked in fsync would stall every other association whose lane it also serves
/// (with a pool as wide as the cores, two or more associations share each worker) — their
/// fragments would wait unwritten behind someone else's commit. There is no timer and no
/// waiting for a group to fill: a lone object goes through at once.
///
/// Each completion runs after its group's place stage, so an object is reported stored only
/// once its own data, its name in its directory and its index row are durable (the row as
/// durable as the index's `synchronous` setting makes it).
public final class StoreCommitter: Sendable {
    /// Called once per submitted object, on the thread that ran its group's place stage
    /// (the submitting thread when the object failed staging).
    public typealias Completion = @Sendable (Result<StoreOutcome, StoreFailure>) -> Void

    /// Figures for logs and tests.
    public struct Statistics: Sendable, Hashable {
        /// Groups placed (renamed, directory-synced, indexed and completed together).
        public var batches = 0
        /// Objects placed (whatever their outcome).
        public var objects = 0
        /// Largest group placed.
        public var largestBatch = 0
    }

    public let writer: StoreWriter
    /// Most objects per group (bounds the open temporary files a group holds).
    public let maxBatch: Int
    /// Threads issuing data syncs; more objects than this wait for a free one.
    public static let syncWidth = 8

    struct Pending: Sendable {
        var object: IncomingObject
        var completion: Completion
        /// Submission order, so that a group completes its objects in the order they came.
        var sequence: UInt64
    }

    struct Synced: Sendable {
        var pending: Pending
        var failure: StoreFailure?
    }

    /// The data-sync threads (see ``SyncFanOut`` for why they are not the worker pool's).
    private let dataSync: SyncFanOut
    private let nextSync = Atomic<UInt64>(0)
    private let placeStage: GroupStage<Synced>
    private final class Counters: Sendable {
        let value = Mutex(Statistics())
    }

    private let counters = Counters()

    public init(writer: StoreWriter, maxBatch: Int = 64, label: String = "qrscpd.store-commit") {
        precondition(maxBatch > 0, "maxBatch must be positive")
        self.writer = writer
        self.maxBatch = maxBatch
        self.dataSync = SyncFanOut(width: Self.syncWidth, label: label + ".data")
        let counters = self.counters
        self.placeStage = GroupStage<Synced>(label: label + ".place", maxGroup: maxBatch) { arrived in
            let group = arrived.sorted { $0.pending.sequence < $1.pending.sequence }
            counters.value.withLock { s in
                s.batches += 1
                s.objects += group.count
                s.largestBatch = max(s.largestBatch, group.count)
            }
            let results = writer.place(group.map(\.pending.object), dataFailures: group.map(\.failure))
            for (entry, result) in zip(group, results) { entry.pending.completion(result) }
        }
    }

    public var statistics: Statistics { counters.value.withLock { $0 } }

    /// Objects whose data sync is done, queued for the next place group (for tests).
    var waitingForPlacement: Int { placeStage.queued }

    /// Stages `object` (on the calling thread) and starts its data sync; it joins the next
    /// place group once that is done. A failure found while staging (unparsable data set,
    /// UIDs disagreeing with the command or not valid under `uidPolicy`, an earlier write
    /// error) completes at once, before this returns; a write error on an instance already
    /// stored gets the duplicate policy's answer (``StoreWriter/settle(_:of:)``). The object
    /// must not be touched by the caller afterwards (``IncomingObject/discard()`` is then a
    /// no-op).
    public func submit(_ object: IncomingObject, uidPolicy: UIDPolicy = .strict, completion: @escaping Completion) {
        if let failure = object.stage() ?? object.refuseInvalidUIDs(policy: uidPolicy) {
            completion(writer.settle(failure, of: object))
            return
        }
        let sequence = nextSync.wrappingAdd(1, ordering: .relaxed).oldValue
        let pending = Pending(object: object, completion: completion, sequence: sequence)
        let placeStage = self.placeStage
        let writer = self.writer
        dataSync.async(sequence) {
            let failure = writer.syncData([pending.object])[0]
            placeStage.add([Synced(pending: pending, failure: failure)])
        }
    }
}

/// Items handled in groups, in order, on a serial queue of their own: whatever is queued
/// when the stage becomes free is taken at once (up to `maxGroup`).
final class GroupStage<Item: Sendable>: Sendable {
    private let queue: DispatchQueue
    private let maxGroup: Int
    private let handle: @Sendable ([Item]) -> Void
    private let state = Mutex<(items: [Item], draining: Bool)>(([], false))

    init(label: String, maxGroup: Int, handle: @escaping @Sendable ([Item]) -> Void) {
        self.queue = DispatchQueue(label: label)
        self.maxGroup = maxGroup
        self.handle = handle
    }

    /// Queues `items`. An idle stage handles the first group on the caller's thread (one of
    /// the committer's own): a lone object then costs no further thread hand-over (each is a
    /// scheduler wake-up, milliseconds on a busy machine). Whatever arrives meanwhile is
    /// handled on the stage's own queue.
    func add(_ items: [Item]) {
        let inline = state.withLock { s in
            s.items.append(contentsOf: items)
            if s.draining { return false }
            s.draining = true
            return true
        }
        guard inline, let group = nextGroup() else { return }
        handle(group)
        let more = state.withLock { s in
            if s.items.isEmpty {
                s.draining = false
                return false
            }
            return true
        }
        if more { queue.async { self.drain() } }
    }

    /// Items queued and not yet taken into a group.
    var queued: Int { state.withLock { $0.items.count } }

    private func nextGroup() -> [Item]? {
        state.withLock { s in
            if s.items.isEmpty {
                s.draining = false
                return nil
            }
            let n = min(maxGroup, s.items.count)
            let group = Array(s.items.prefix(n))
            s.items.removeFirst(n)
            return group
        }
    }

    private func drain() {
        while let group = nextGroup() { handle(group) }
    }
}

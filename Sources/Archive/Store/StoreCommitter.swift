import Dispatch
import Synchronization

/// Group commit of received objects across associations (C-STORE ingest).
///
/// Each association's lane writes its object's bytes and hands the complete object to
/// ``submit(_:completion:)``, which stages it (header parsed and checked, on the caller's
/// thread) and queues it. The commit then runs in two stages, each taking everything
/// queued for it at once:
///
/// 1. *data*: ``StoreWriter/syncData(_:)`` — one fdatasync per file;
/// 2. *place*: ``StoreWriter/place(_:dataFailures:)`` — renames, one fsync per distinct
///    directory, all index rows in one transaction; then every object of the group is
///    completed.
///
/// Both stages wait mostly for journal commits of the file system. Running them on two
/// queues lets the data sync of one group and the directory fsync of the previous group
/// wait for the *same* journal commit, and the objects arriving meanwhile form the next
/// group, so fsyncs and index commits are shared by as many objects as arrive during one
/// commit. There is no timer and no waiting for a group to fill: a lone object goes through
/// at once.
///
/// Each completion runs after its group's place stage, so an object is reported stored only
/// once its own data, its name in its directory and its index row are durable (the row as
/// durable as the index's `synchronous` setting makes it).
///
/// An idle stage handles a group on the submitting thread (the association's lane), so a
/// lone object is committed without any thread hand-over, as before group commit. Objects
/// that arrive while a stage is busy are handled on that stage's own queue rather than on
/// workers of the pool: the stages block in fsync, and on a shared worker they would hold
/// up the lanes of the associations that should be receiving their next object meanwhile.
public final class StoreCommitter: Sendable {
    /// Called once per submitted object, on the thread that ran its group's place stage
    /// (the submitting thread when the committer was idle or the object failed staging).
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

    struct Pending: Sendable {
        var object: IncomingObject
        var completion: Completion
    }

    struct Synced: Sendable {
        var pending: Pending
        var failure: StoreFailure?
    }

    private let dataStage: GroupStage<Pending>
    private let placeStage: GroupStage<Synced>
    private final class Counters: Sendable {
        let value = Mutex(Statistics())
    }

    private let counters = Counters()

    public init(writer: StoreWriter, maxBatch: Int = 64, label: String = "qrscpd.store-commit") {
        precondition(maxBatch > 0, "maxBatch must be positive")
        self.writer = writer
        self.maxBatch = maxBatch
        let counters = self.counters
        let placeStage = GroupStage<Synced>(label: label + ".place", maxGroup: maxBatch) { group in
            counters.value.withLock { s in
                s.batches += 1
                s.objects += group.count
                s.largestBatch = max(s.largestBatch, group.count)
            }
            let results = writer.place(group.map(\.pending.object), dataFailures: group.map(\.failure))
            for (entry, result) in zip(group, results) { entry.pending.completion(result) }
        }
        self.placeStage = placeStage
        self.dataStage = GroupStage<Pending>(label: label + ".data", maxGroup: maxBatch) { group in
            let failures = writer.syncData(group.map(\.object))
            placeStage.add(zip(group, failures).map { Synced(pending: $0, failure: $1) })
        }
    }

    public var statistics: Statistics { counters.value.withLock { $0 } }

    /// Stages `object` (on the calling thread) and queues it for the next group. A failure
    /// found while staging (unparsable data set, UIDs disagreeing with the command, an
    /// earlier write error) completes at once, before this returns. The object must not be
    /// touched by the caller afterwards (``IncomingObject/discard()`` is then a no-op).
    public func submit(_ object: IncomingObject, completion: @escaping Completion) {
        if let failure = object.stage() {
            completion(.failure(failure))
            return
        }
        dataStage.add([Pending(object: object, completion: completion)])
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

    /// Queues `items`. An idle stage handles the first group on the caller's thread: a lone
    /// object then costs no thread hand-over (each is a scheduler wake-up, milliseconds on
    /// a busy machine). Whatever arrives meanwhile is handled on the stage's own queue.
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

// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Synchronization

/// Issues blocking sync calls (fdatasync, directory fsync) on threads of their own: one commit
/// group's calls at the same time (``map(_:_:)``), or one call handed off (``async(_:_:)``).
///
/// Several fsyncs waiting together are served by one journal commit and one device cache
/// flush (the kernel merges concurrent flushes); issued one after the other, each after the
/// first still waits for a flush of its own. The calls run on a fixed set of serial queues:
/// each gets a thread of its own when it blocks (unlike `concurrentPerform`, whose width is
/// the core count).
///
/// Why Archive's blocking work (these queues, the committer's place stage ``GroupStage``, the
/// scanner's writer queue) does not run on the worker pool's lanes: Archive sits below Reactor
/// and does not depend on it; and the pool is as wide as the cores, so a worker blocked in fsync
/// would stall every association whose lane it also serves, while fsyncs merge only when many
/// are blocked at once, more than the pool has threads. These queues only ever wait for the
/// disk; everything that computes stays on the pool.
final class SyncFanOut: Sendable {
    private let queues: [DispatchQueue]

    init(width: Int = 8, label: String = "qrscpd.store-sync") {
        queues = (0..<max(1, width)).map { DispatchQueue(label: "\(label).\($0)") }
    }

    /// `body(index)` for every index in 0..<count, concurrently; returns the results in order.
    func map<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        if count == 1 { return [body(0)] }
        let results = Mutex([T?](repeating: nil, count: count))
        let group = DispatchGroup()
        for index in 0..<count {
            queues[index % queues.count].async(group: group) {
                let result = body(index)
                results.withLock { $0[index] = result }
            }
        }
        group.wait()
        return results.withLock { $0.map { $0! } }
    }

    /// Runs `body` on the queue `sequence` falls to (round robin), without waiting.
    func async(_ sequence: UInt64, _ body: @escaping @Sendable () -> Void) {
        queues[Int(sequence % UInt64(queues.count))].async(execute: body)
    }
}

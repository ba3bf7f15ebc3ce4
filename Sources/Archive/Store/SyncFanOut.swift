import Dispatch
import Synchronization

/// Issues blocking sync calls (fdatasync, directory fsync) of one commit group at the same
/// time and waits for all of them.
///
/// Several fsyncs waiting together are served by one journal commit and one device cache
/// flush (the kernel merges concurrent flushes); issued one after the other, each after the
/// first still waits for a flush of its own. The calls run on a fixed set of serial queues:
/// each gets a thread of its own when it blocks (unlike `concurrentPerform`, whose width is
/// the core count).
final class SyncFanOut: Sendable {
    private let queues: [DispatchQueue]

    init(width: Int = 8, label: String = "qrscpd.store-sync") {
        queues = (0..<max(1, width)).map { DispatchQueue(label: "\(label).\($0)") }
    }

    /// `body(i)` for every i in 0..<count, concurrently; returns the results in order.
    func map<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        if count == 1 { return [body(0)] }
        let results = Mutex([T?](repeating: nil, count: count))
        let group = DispatchGroup()
        for i in 0..<count {
            queues[i % queues.count].async(group: group) {
                let r = body(i)
                results.withLock { $0[i] = r }
            }
        }
        group.wait()
        return results.withLock { $0.map { $0! } }
    }
}

// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Runs blocking jobs (disk, SQLite, DNS) off the loop and hands results back to it.
///
/// The pool is a fixed set of serial Dispatch queues, one per core by default. Fixed width matters:
/// jobs block, and a plain concurrent queue would keep adding threads while they do. Jobs with the
/// same `serialKey` always land on the same queue, so they run in submission order.
public final class WorkerPool: Sendable {
    private let queues: [DispatchQueue]
    private let nextQueue = Atomic<Int>(0)
    private let waiting = Atomic<Int>(0)

    /// Jobs submitted and not yet started (a gauge for /metrics).
    public var queuedJobs: Int { waiting.load(ordering: .relaxed) }

    /// Number of worker queues.
    public var width: Int { queues.count }

    /// Creates a pool of `width` workers (defaults to the number of online cores).
    public init(width: Int = WorkerPool.defaultWidth, label: String = "qrscpd.worker") {
        precondition(width > 0, "WorkerPool width must be positive")
        queues = (0..<width).map { DispatchQueue(label: "\(label).\($0)", qos: Self.qos) }
    }

    /// Quality of service of the workers: the default class, which libdispatch on Linux maps to
    /// nice 0. It sets that nice value with setpriority(2) on every worker thread it starts;
    /// a higher class would lower the nice value, which needs CAP_SYS_NICE, and the systemd
    /// unit's system call filter (systemd/qrscpd.service) allows setpriority for this call only.
    public static let qos = DispatchQoS.default

    /// Online CPU count, at least 1.
    public static var defaultWidth: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Runs `job` on a worker, then `then` with its result on `loop`'s thread.
    ///
    /// Call from the loop thread (or before it starts): `then` may capture loop-confined state.
    /// - Parameters:
    ///   - job: blocking work; runs on a worker thread.
    ///   - loop: the loop that receives the result.
    ///   - serialKey: jobs sharing a key run one at a time in submission order (e.g. one
    ///     association's file writes); nil spreads jobs over all workers.
    ///   - then: called on the loop thread with the job's value or error (a job that cannot
    ///     fail gives a `Result<T, Never>`).
    public func run<T: Sendable, E: Error>(
        _ job: @escaping @Sendable () throws(E) -> T,
        on loop: EventLoop,
        serialKey: (any Hashable & Sendable)? = nil,
        then: @escaping (Result<T, E>) -> Void
    ) {
        let completion = LoopBound(then, loop: loop)
        waiting.wrappingAdd(1, ordering: .relaxed)
        queue(for: serialKey).async { [self] in
            self.waiting.wrappingSubtract(1, ordering: .relaxed)
            let result = Result { () throws(E) -> T in try job() }
            loop.submit { completion.value(result) }
        }
    }

    /// Runs `job` on a worker without a result hand-back (fire and forget).
    public func run(serialKey: (any Hashable & Sendable)? = nil, _ job: @escaping @Sendable () -> Void) {
        waiting.wrappingAdd(1, ordering: .relaxed)
        queue(for: serialKey).async { [self] in
            self.waiting.wrappingSubtract(1, ordering: .relaxed)
            job()
        }
    }

    private func queue(for key: (any Hashable & Sendable)?) -> DispatchQueue {
        if let key {
            var hasher = Hasher()
            hasher.combine(AnyHashable(key))
            let hash = hasher.finalize()
            return queues[Int(UInt(bitPattern: hash) % UInt(queues.count))]
        }
        let index = nextQueue.wrappingAdd(1, ordering: .relaxed).oldValue
        return queues[Int(UInt(bitPattern: index) % UInt(queues.count))]
    }
}

/// Jobs that must run one at a time in order (e.g. one association's stores), on a ``WorkerPool``.
public struct SerialWorkQueue: Sendable {
    /// The pool running the jobs.
    public let pool: WorkerPool
    private let key: UInt64

    private static let nextKey = Atomic<UInt64>(1)

    /// A new ordered lane on `pool`.
    public init(pool: WorkerPool) {
        self.pool = pool
        self.key = Self.nextKey.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Like ``WorkerPool/run(_:on:serialKey:then:)``, ordered after earlier jobs of this queue.
    public func run<T: Sendable, E: Error>(
        _ job: @escaping @Sendable () throws(E) -> T,
        on loop: EventLoop,
        then: @escaping (Result<T, E>) -> Void
    ) {
        pool.run(job, on: loop, serialKey: key, then: then)
    }
}

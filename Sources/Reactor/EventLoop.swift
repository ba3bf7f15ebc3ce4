// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A single-threaded epoll reactor.
///
/// One thread runs the loop; all I/O objects created by the loop (``Connection``,
/// ``TCPListener``, timers, signal handlers) are confined to it and need no locks. Other threads talk
/// to the loop only through ``submit(_:)``, which queues a closure and wakes the loop through an
/// eventfd. The loop blocks only in `epoll_wait`.
///
/// Loop-confined methods may also be called before the loop has started (set-up on the creating
/// thread); after that they must be called on the loop thread.
///
/// Open connections and listeners are kept alive by the loop's registrations (and keep the loop
/// alive) until they are closed; close them before ``stop()`` for an orderly shutdown.
public final class EventLoop: @unchecked Sendable {
    // Thread-safe state.
    private let submitted = Mutex<[@Sendable () -> Void]>([])
    private let loopThread = Atomic<UInt>(0)
    private let stopRequested = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let threadHandle = Mutex<pthread_t?>(nil)

    // Kernel objects, fixed for the loop's lifetime.
    let epollFD: Int32
    private let wakeFD: Int32
    let timerFD: Int32

    // Loop-confined state.
    var registrations = RegistrationTable()
    private var deferred: [() -> Void] = []
    var timers = TimerQueue()
    /// The deadline the timerfd is armed for (nanoseconds, CLOCK_MONOTONIC), nil when disarmed.
    var armedDeadline: UInt64?
    /// How often the timerfd was re-armed; lets tests check that arming happens only when needed.
    var timerArmCount = 0
    var signalFDs: [Int32] = []
    /// Where connections copy file output for a transport that cannot take it zero-copy.
    lazy var outputStaging = OutputStaging()

    private static let maxEvents = 256
    private let eventData = UnsafeMutablePointer<UInt64>.allocate(capacity: EventLoop.maxEvents)
    private let eventMasks = UnsafeMutablePointer<UInt32>.allocate(capacity: EventLoop.maxEvents)

    /// Creates the epoll, eventfd and timerfd descriptors. Also ignores `SIGPIPE` process-wide, so a
    /// write to a closed peer fails with `EPIPE` instead of killing the daemon.
    public init() throws {
        _ = qrs_ignore_sigpipe()
        epollFD = try Epoll.create()
        do {
            wakeFD = try syscallValue("eventfd") { qrs_eventfd_create() }
        } catch {
            closeDescriptor(epollFD)
            throw error
        }
        do {
            timerFD = try syscallValue("timerfd_create") { qrs_timerfd_create() }
        } catch {
            closeDescriptor(epollFD)
            closeDescriptor(wakeFD)
            throw error
        }
        try register(fd: wakeFD, interest: .readable, handler: FDHandler { [unowned self] _ in self.drainWakeups() })
        try register(fd: timerFD, interest: .readable, handler: FDHandler { [unowned self] _ in self.timerFired() })
    }

    deinit {
        for fd in signalFDs { closeDescriptor(fd) }
        closeDescriptor(timerFD)
        closeDescriptor(wakeFD)
        closeDescriptor(epollFD)
        eventData.deallocate()
        eventMasks.deallocate()
    }

    /// Whether the caller runs on this loop's thread.
    public var isInLoop: Bool {
        let id = loopThread.load(ordering: .acquiring)
        return id != 0 && pthread_equal(pthread_self(), pthread_t(id)) != 0
    }

    /// Traps unless the caller is on the loop thread, or the loop has not started yet.
    func preconditionInLoop(_ what: @autoclosure () -> String = #function) {
        precondition(isInLoop || !started.load(ordering: .acquiring), "\(what()) must be called on the loop thread")
    }

    // MARK: Lifecycle

    /// Spawns the loop thread and runs the loop on it. Returns immediately.
    public func start() {
        let body = ThreadBody { [self] in
            qrs_set_thread_name("qrs-eventloop")
            self.run()
        }
        let context = Unmanaged.passRetained(body).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { arg in
                let body = Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue()
                body.run()
                return nil
            }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        threadHandle.withLock { $0 = thread }
    }

    /// Runs the loop on the calling thread (e.g. `main`) until ``stop()``.
    public func run() {
        precondition(!started.exchange(true, ordering: .acquiringAndReleasing), "EventLoop run twice")
        loopThread.store(UInt(pthread_self()), ordering: .releasing)
        qrs_mark_loop_thread(1)
        defer { qrs_mark_loop_thread(0) }
        while !stopRequested.load(ordering: .acquiring) {
            let timeout: Int32 = deferred.isEmpty ? -1 : 0
            let count: Int32
            do {
                count = try syscallValue("epoll_wait") {
                    qrs_epoll_wait(epollFD, eventData, eventMasks, Int32(Self.maxEvents), timeout)
                }
            } catch {
                preconditionFailure("epoll_wait failed: \(error)")
            }
            for i in 0..<Int(count) {
                dispatch(data: EpollUserData(rawValue: eventData[i]), events: EpollEvents(rawValue: eventMasks[i]))
            }
            runDeferred()
            runSubmitted()
        }
        // Work that arrived during shutdown still runs, so completions are never silently lost.
        runDeferred()
        runSubmitted()
        loopThread.store(0, ordering: .releasing)
    }

    /// Asks the loop to exit after the current iteration. Thread-safe.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    /// Waits for the thread spawned by ``start()`` to finish. Must not be called on the loop thread.
    public func join() {
        precondition(!isInLoop, "join() on the loop thread would deadlock")
        let thread = threadHandle.withLock { handle -> pthread_t? in
            defer { handle = nil }
            return handle
        }
        if let thread { pthread_join(thread, nil) }
    }

    // MARK: Work

    /// Queues `work` to run on the loop thread, in submission order. Thread-safe.
    ///
    /// The eventfd is written only when the queue goes from empty to non-empty, so a burst of
    /// submissions costs one wake-up.
    public func submit(_ work: @escaping @Sendable () -> Void) {
        let wasEmpty = submitted.withLock { queue in
            queue.append(work)
            return queue.count == 1
        }
        if wasEmpty { wake() }
    }

    /// Runs `work` on the loop thread after the current event has been handled. Loop thread only;
    /// `work` may capture loop-confined (non-Sendable) state.
    public func execute(_ work: @escaping () -> Void) {
        preconditionInLoop()
        deferred.append(work)
    }

    private func wake() {
        if qrs_eventfd_write(wakeFD, 1) != 0 {
            // EAGAIN means the counter is saturated: the loop is awake already.
            let err = qrs_errno()
            precondition(err == EAGAIN || err == EINTR, "eventfd write: \(SystemError(errno: err, call: "write"))")
        }
    }

    private func drainWakeups() {
        var value: UInt64 = 0
        _ = qrs_eventfd_read(wakeFD, &value)
    }

    private func runSubmitted() {
        // Swap the queue out so work submitted while running goes to the next round and the lock
        // is never held while user code runs.
        let batch = submitted.withLock { queue -> [@Sendable () -> Void] in
            let batch = queue
            queue = []
            return batch
        }
        for work in batch { work() }
    }

    private func runDeferred() {
        var rounds = 0
        while !deferred.isEmpty && rounds < 16 {
            let batch = deferred
            deferred = []
            for work in batch { work() }
            rounds += 1
        }
    }

    // MARK: Registrations

    /// Registers `fd` with `interest`. Loop-confined.
    func register(fd: Int32, interest: EpollEvents, handler: any EpollHandler) throws(SystemError) {
        let data = registrations.add(fd: fd, interest: interest, handler: handler)
        do {
            try Epoll.add(epfd: epollFD, fd: fd, events: interest, data: data)
        } catch {
            registrations.remove(fd: fd)
            throw error
        }
    }

    /// Changes the interest set of a registered fd; no syscall when it is unchanged.
    func reregister(fd: Int32, interest: EpollEvents) throws(SystemError) {
        guard registrations.interest(fd: fd) != interest else { return }
        let data = registrations.setInterest(fd: fd, interest)
        try Epoll.modify(epfd: epollFD, fd: fd, events: interest, data: data)
    }

    /// Removes the registration; events already fetched for it are dropped. Call before `close(fd)`.
    func deregister(fd: Int32) {
        guard registrations.remove(fd: fd) != nil else { return }
        do {
            try Epoll.delete(epfd: epollFD, fd: fd)
        } catch {
            // ENOENT/EPERM only arise from our own book-keeping going wrong.
            assertionFailure("epoll_ctl(DEL) for fd \(fd): \(error)")
        }
    }

    private func isRegistered(fd: Int32) -> Bool { registrations.interest(fd: fd) != nil }

    private func dispatch(data: EpollUserData, events: EpollEvents) {
        guard let entry = registrations.lookup(data) else { return }
        // Errors and hang-ups are always reported; the rest only when still wanted, because the
        // interest may have changed earlier in this batch.
        let relevant = events.intersection(entry.interest.union([.error, .hangup]))
        guard !relevant.isEmpty else { return }
        entry.handler.handleEvents(relevant)
    }

    /// The pthread of the loop (for tests that direct a signal at it), or nil when not running.
    var loopPthread: pthread_t? {
        let id = loopThread.load(ordering: .acquiring)
        return id == 0 ? nil : pthread_t(id)
    }
}

/// Adapts a closure to ``EpollHandler`` for the loop's own descriptors.
final class FDHandler: EpollHandler {
    let body: (EpollEvents) -> Void
    init(_ body: @escaping (EpollEvents) -> Void) { self.body = body }
    func handleEvents(_ events: EpollEvents) { body(events) }
}

private final class ThreadBody: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

// SPDX-License-Identifier: Apache-2.0
import CSystemShims

extension Duration {
    /// Whole nanoseconds, clamped at zero (a negative delay means "as soon as possible").
    var clampedNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds < 0) { return 0 }
        let (ns, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return UInt64.max / 2 }
        return ns + UInt64(attoseconds / 1_000_000_000)
    }
}

extension EventLoop {
    /// Monotonic clock reading in nanoseconds (CLOCK_MONOTONIC, the timerfd's clock).
    private static var nowNanoseconds: UInt64 { qrs_monotonic_now_ns() }

    /// Calls `callback` on the loop thread once `delay` has elapsed. Loop-confined.
    ///
    /// Timers share one timerfd armed for the earliest deadline.
    /// - Returns: an ID for ``cancel(_:)``.
    @discardableResult
    public func schedule(after delay: Duration, _ callback: @escaping () -> Void) -> TimerID {
        preconditionInLoop()
        let deadline = Self.nowNanoseconds &+ delay.clampedNanoseconds
        let id = timers.insert(deadline: deadline, callback)
        rearmTimer()
        return id
    }

    /// Cancels a pending timer; a timer that already fired or was cancelled is ignored. Loop-confined.
    ///
    /// - Returns: whether a pending timer was cancelled.
    @discardableResult
    public func cancel(_ id: TimerID) -> Bool {
        preconditionInLoop()
        // The timerfd stays armed; a wake-up for a cancelled timer re-arms for the next live one.
        return timers.cancel(id)
    }

    /// Number of pending timers (for tests and statistics).
    public var pendingTimerCount: Int { timers.count }

    func timerFired() {
        var expirations: UInt64 = 0
        _ = qrs_timerfd_read(timerFD, &expirations)
        armedDeadline = nil
        let due = timers.popExpired(now: Self.nowNanoseconds)
        for callback in due { callback() }
        rearmTimer()
    }

    /// Arms the timerfd for the earliest deadline, only when that differs from what is armed:
    /// timerfd_settime is a comparatively expensive syscall.
    private func rearmTimer() {
        guard let earliest = timers.earliestDeadline() else { return }
        if let armed = armedDeadline, armed <= earliest { return }
        // 0 would disarm the timer; an absolute deadline of 1 ns is long past and fires at once.
        let rc = qrs_timerfd_settime_abs(timerFD, max(earliest, 1))
        precondition(rc == 0, "timerfd_settime: \(SystemError(errno: qrs_errno(), call: "timerfd_settime"))")
        armedDeadline = earliest
        timerArmCount += 1
    }
}

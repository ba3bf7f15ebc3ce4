// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Logging
import Reactor

/// Operations in progress, the release that waits for them, and the idle timer (progress on the
/// association). ARTIM is the driver's.
extension Association {
    /// Marks the start and end of an operation that answers asynchronously.
    func operationStarted() { operationsInProgress += 1 }
    func operationFinished() {
        operationsInProgress -= 1
        if !isClosed { restartIdleTimer() }
        answerReleaseIfIdle()
    }

    func answerReleaseIfIdle() {
        guard releaseRequested, operationsInProgress == 0 else { return }
        releaseRequested = false
        logger.info("association released")
        driver.releaseResponse()
    }

    // MARK: - Idle timer

    /// Progress on the association: a complete PDU arrived or an operation ended. Bytes of a
    /// PDU still incomplete are not progress, so a peer dripping a PDU cannot hold its buffer
    /// (or the association) for longer than the idle timeout. The timer is armed once and,
    /// when it fires, re-armed for what is left since the last progress, rather than
    /// rescheduled on every PDU.
    func restartIdleTimer() {
        lastProgress = .now
        guard idleTimer == nil, let timeout = server.configuration.idleTimeout else { return }
        armIdleTimer(after: timeout)
    }

    private func armIdleTimer(after delay: Duration) {
        idleTimer = server.loop.schedule(after: delay) { [weak self] in
            guard let self else { return }
            idleTimer = nil
            idleTimerFired()
        }
    }

    /// No progress for the idle timeout: an association waiting for its peer (nothing under way,
    /// or a PDU or a data set the peer started and did not finish) is aborted; one whose
    /// operations are under way on our side (a query running, a C-GET streaming out with its
    /// own response timer, C-STORE data being written) is busy, not idle, and is checked again
    /// after another timeout.
    private func idleTimerFired() {
        guard !isClosed, let timeout = server.configuration.idleTimeout else { return }
        let quiet = ContinuousClock.now - lastProgress
        if quiet < timeout {
            armIdleTimer(after: timeout - quiet)
            return
        }
        guard driver.state == .sta6 else { return }
        if let stall = peerStall {
            server.statistics.progressTimeouts += 1
            logger.notice(
                "no progress from the peer, aborting",
                metadata: [
                    "reason": "\(stall)", "idle_timeout_s": "\(timeout.components.seconds)",
                ])
            driver.abort()
        } else if operationsInProgress > 0 {
            armIdleTimer(after: timeout)
        } else {
            logger.notice("association idle, aborting", metadata: ["idle_timeout_s": "\(timeout.components.seconds)"])
            driver.abort()
        }
    }

    /// What the association is waiting for from its peer, if anything was started and left
    /// unfinished; nil while reading is paused (the wait is then on us).
    private var peerStall: String? {
        guard !connection.isReadingPaused else { return nil }
        if connection.bufferedInputBytes > 0 {
            return "a PDU left incomplete (\(connection.bufferedInputBytes) bytes received)"
        }
        if !stores.isEmpty || driver.isAccumulatingDataSet { return "a data set left incomplete" }
        return nil
    }

    func cancel(_ timer: inout TimerID?) {
        if let id = timer { _ = server.loop.cancel(id) }
        timer = nil
    }
}

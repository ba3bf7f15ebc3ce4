// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import QRServer

/// The bookkeeping behind `limits.max_unassociated` and the rate-limited admission log lines.
@Suite("Admission bookkeeping")
struct AdmissionTests {
    @Test("Connections leave the waiting list when they associate or close; the oldest still waiting is taken first")
    func oldestFirst() {
        var waiting = UnassociatedConnections()
        for id in 1...5 { waiting.insert(id) }
        waiting.remove(1)  // associated
        waiting.remove(3)  // closed
        #expect(waiting.count == 3)
        #expect(waiting.popOldest() == 2)
        #expect(waiting.popOldest() == 4)
        waiting.insert(6)
        #expect(waiting.popOldest() == 5)
        #expect(waiting.popOldest() == 6)
        #expect(waiting.popOldest() == nil)
        #expect(waiting.count == 0)
    }

    @Test("Many connections that associate at once do not grow the list")
    func churn() {
        var waiting = UnassociatedConnections()
        waiting.insert(0)
        for id in 1...10_000 {
            waiting.insert(id)
            waiting.remove(id)
        }
        #expect(waiting.count == 1)
        #expect(waiting.popOldest() == 0)
        #expect(waiting.popOldest() == nil)
    }

    @Test("One line per interval; the next one counts those held back")
    func rateLimit() {
        var limiter = LogRateLimiter(interval: .seconds(10))
        let start = ContinuousClock.now
        #expect(limiter.admit(now: start) == 0)
        #expect(limiter.admit(now: start + .seconds(1)) == nil)
        #expect(limiter.admit(now: start + .seconds(9)) == nil)
        #expect(limiter.admit(now: start + .seconds(10)) == 2)
        #expect(limiter.admit(now: start + .seconds(11)) == nil)
        #expect(limiter.admit(now: start + .seconds(30)) == 1)
    }
}

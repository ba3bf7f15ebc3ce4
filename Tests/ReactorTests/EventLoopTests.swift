// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Dispatch
import ReactorTestSupport
import Testing

@testable import Reactor

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct EventLoopTests {
    @Test func submitFromManyThreadsRunsInOrderOnLoop() throws {
        try withRunningLoop { loop in
            let threads = 8
            let perThread = 1_000
            let seen = Locked<[[Int]]>(Array(repeating: [], count: threads))
            let offLoop = Locked(0)
            let done = Waiter()
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                for i in 0..<perThread {
                    loop.submit {
                        if !loop.isInLoop { offLoop.withLock { $0 += 1 } }
                        let total = seen.withLock { state -> Int in
                            state[t].append(i)
                            return state.reduce(0) { $0 + $1.count }
                        }
                        if total == threads * perThread { done.signal() }
                    }
                }
            }
            #expect(done.wait(seconds: 20))
            #expect(offLoop.value == 0)
            for list in seen.value { #expect(list == Array(0..<perThread)) }
        }
    }

    @Test func executeRunsOnLoopAfterCurrentWork() throws {
        try withRunningLoop { loop in
            let order = try onLoop(loop) { () -> [Int] in
                let box = LoopBound([Int](), loop: loop)
                loop.execute { box.value.append(2) }
                box.value.append(1)
                return box.value
            }
            #expect(order == [1])
            #expect(!loop.isInLoop)
        }
    }

    @Test func timersFireInDeadlineOrderAndCancelWorks() throws {
        try withRunningLoop { loop in
            let fired = Locked<[Int]>([])
            let done = Waiter()
            try onLoop(loop) {
                loop.schedule(after: .milliseconds(60)) {
                    fired.withLock { $0.append(60) }
                    done.signal()
                }
                loop.schedule(after: .milliseconds(20)) { fired.withLock { $0.append(20) } }
                let cancelled = loop.schedule(after: .milliseconds(30)) { fired.withLock { $0.append(30) } }
                loop.schedule(after: .milliseconds(40)) { fired.withLock { $0.append(40) } }
                loop.schedule(after: .zero) { fired.withLock { $0.append(0) } }
                #expect(loop.cancel(cancelled))
                #expect(!loop.cancel(cancelled))
            }
            #expect(done.wait(seconds: 5))
            #expect(fired.value == [0, 20, 40, 60])
            #expect(try onLoop(loop) { loop.pendingTimerCount } == 0)
        }
    }

    @Test func earlierTimerRearmsLaterOneDoesNot() throws {
        try withRunningLoop { loop in
            let done = Waiter()
            let (armCounts, deadlines) = try onLoop(loop) { () -> ([Int], [UInt64?]) in
                var counts: [Int] = []
                var deadlines: [UInt64?] = []
                let late = loop.schedule(after: .seconds(30)) {}
                counts.append(loop.timerArmCount)
                deadlines.append(loop.armedDeadline)
                loop.schedule(after: .milliseconds(20)) { done.signal() }
                counts.append(loop.timerArmCount)
                deadlines.append(loop.armedDeadline)
                loop.schedule(after: .seconds(60)) {}
                counts.append(loop.timerArmCount)
                deadlines.append(loop.armedDeadline)
                loop.cancel(late)
                return (counts, deadlines)
            }
            #expect(armCounts[1] == armCounts[0] + 1)
            #expect(armCounts[2] == armCounts[1])
            #expect(deadlines[1]! < deadlines[0]!)
            #expect(deadlines[2] == deadlines[1])
            #expect(done.wait(seconds: 5))
        }
    }

    @Test func signalReachesHandlerOnLoopThread() throws {
        try withRunningLoop { loop in
            let received = Locked<[Int32]>([])
            let onLoopThread = Locked(false)
            let done = Waiter()
            let thread = try onLoop(loop) { () -> UInt in
                try loop.onSignals([SIGHUP]) { signo in
                    received.withLock { $0.append(signo) }
                    onLoopThread.withLock { $0 = loop.isInLoop }
                    done.signal()
                }
                return UInt(loop.loopPthread!)
            }
            // Directed at the loop thread, which blocks SIGHUP: the test runner's other threads do
            // not, so a process-directed kill(getpid(), SIGHUP) could hit one of them and end the run.
            #expect(pthread_kill(pthread_t(thread), SIGHUP) == 0)
            #expect(done.wait(seconds: 5))
            #expect(received.value == [SIGHUP])
            #expect(onLoopThread.value)
        }
    }

    @Test func stopFromLoopThreadEndsRun() throws {
        let loop = try EventLoop()
        let done = Waiter()
        loop.submit { loop.stop() }
        DispatchQueue.global().async {
            loop.run()
            done.signal()
        }
        #expect(done.wait(seconds: 5))
    }
}

@Suite struct RegistrationTests {
    @Test func userDataPacksFDAndRegistrationID() {
        let data = EpollUserData(fd: 0x7FFF_FFF0, registrationID: 0xDEAD_BEEF)
        #expect(EpollUserData(rawValue: data.rawValue) == data)
        #expect(data.rawValue == 0xDEAD_BEEF_7FFF_FFF0)
        let zero = EpollUserData(fd: 3, registrationID: 1)
        #expect(EpollUserData(rawValue: zero.rawValue) == zero)
    }

    @Test func staleRegistrationIsDropped() {
        final class Sink: EpollHandler { func handleEvents(_ events: EpollEvents) {} }
        var table = RegistrationTable()
        let first = table.add(fd: 9, interest: .readable, handler: Sink())
        #expect(table.lookup(first) != nil)
        table.remove(fd: 9)
        #expect(table.lookup(first) == nil)
        let second = table.add(fd: 9, interest: .readable, handler: Sink())
        #expect(second.fd == first.fd)
        #expect(second.registrationID != first.registrationID)
        #expect(table.lookup(first) == nil)
        #expect(table.lookup(second) != nil)
    }

    /// Two readable eventfds land in one epoll batch; whichever is handled first closes the other and
    /// takes its fd number for a new registration. The other's queued event must reach nobody.
    @Test func staleEventInSameBatchIsDropped() throws {
        try withRunningLoop { loop in
            let log = Locked<[String]>([])
            try onLoop(loop) {
                let a = qrs_eventfd_create()
                let b = qrs_eventfd_create()
                _ = qrs_eventfd_write(a, 1)
                _ = qrs_eventfd_write(b, 1)
                let handled = LoopBound(false, loop: loop)
                func makeHandler(own: Int32, other: Int32) -> FDHandler {
                    FDHandler { _ in
                        log.withLock { $0.append("fired \(own)") }
                        guard !handled.value else { return }
                        handled.value = true
                        var value: UInt64 = 0
                        _ = qrs_eventfd_read(own, &value)
                        loop.deregister(fd: other)
                        close(other)
                        let reused = qrs_eventfd_create()
                        log.withLock { $0.append(reused == other ? "reused" : "not reused") }
                        try! loop.register(
                            fd: reused, interest: .readable,
                            handler: FDHandler { _ in
                                log.withLock { $0.append("new registration fired") }
                            })
                        loop.execute {
                            loop.deregister(fd: reused)
                            close(reused)
                            loop.deregister(fd: own)
                            close(own)
                        }
                    }
                }
                try loop.register(fd: a, interest: .readable, handler: makeHandler(own: a, other: b))
                try loop.register(fd: b, interest: .readable, handler: makeHandler(own: b, other: a))
            }
            // One more round trip so the batch and the deferred clean-up have run.
            try onLoop(loop) {}
            let entries = log.value
            #expect(entries.count == 2, "\(entries)")
            #expect(entries.first?.hasPrefix("fired") == true)
            #expect(!entries.contains("new registration fired"))
            if entries.contains("not reused") {
                // Another test took the fd number first; the guard was not exercised by reuse.
                print("staleEventInSameBatchIsDropped: fd number not reused")
            }
        }
    }
}

@Suite struct WorkerPoolTests {
    struct JobFailed: Error, Equatable {}

    @Test func jobsRunOffLoopAndResultsComeBackOnLoop() throws {
        try withRunningLoop { loop in
            let pool = WorkerPool()
            let jobsOnLoop = Locked(0)
            let completionsOffLoop = Locked(0)
            let sum = Locked(0)
            let errors = Locked(0)
            let done = Waiter()
            let total = 1_000
            try onLoop(loop) {
                let finished = LoopBound(0, loop: loop)
                for i in 0..<total {
                    pool.run(
                        { () throws -> Int in
                            if loop.isInLoop { jobsOnLoop.withLock { $0 += 1 } }
                            if i % 100 == 99 { throw JobFailed() }
                            return i
                        }, on: loop
                    ) { result in
                        if !loop.isInLoop { completionsOffLoop.withLock { $0 += 1 } }
                        switch result {
                        case .success(let value): sum.withLock { $0 += value }
                        case .failure(let error):
                            #expect(error as? JobFailed == JobFailed())
                            errors.withLock { $0 += 1 }
                        }
                        finished.value += 1
                        if finished.value == total { done.signal() }
                    }
                }
            }
            #expect(done.wait(seconds: 20))
            #expect(jobsOnLoop.value == 0)
            #expect(completionsOffLoop.value == 0)
            #expect(errors.value == 10)
            let failedSum = (0..<total).filter { $0 % 100 == 99 }.reduce(0, +)
            #expect(sum.value == (0..<total).reduce(0, +) - failedSum)
        }
    }

    @Test func serialQueueKeepsOrder() throws {
        try withRunningLoop { loop in
            let pool = WorkerPool(width: 4)
            let order = Locked<[Int]>([])
            let done = Waiter()
            try onLoop(loop) {
                let lane = SerialWorkQueue(pool: pool)
                for i in 0..<500 {
                    lane.run({ order.withLock { $0.append(i) } }, on: loop) { _ in
                        if i == 499 { done.signal() }
                    }
                }
            }
            #expect(done.wait(seconds: 20))
            #expect(order.value == Array(0..<500))
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Reactor
import Synchronization

/// Thread-safe mutable box for results the loop thread records and the test thread reads.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    public init(_ value: Value) { mutex = Mutex(value) }
    public func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    public var value: Value { mutex.withLock { $0 } }
}

/// A one-shot signal with a bounded wait.
public final class Waiter: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    public init() {}
    public func signal() { semaphore.signal() }
    /// Waits at most `seconds`; returns false on timeout.
    public func wait(seconds: Double = 10) -> Bool {
        semaphore.wait(timeout: .now() + seconds) == .success
    }
}

/// A bounded wait that ran out.
public struct TestTimeout: Error, CustomStringConvertible {
    public var what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out: \(what)" }
}

/// Runs `body` with a started loop, then stops and joins it.
public func withRunningLoop<R>(_ body: (EventLoop) throws -> R) throws -> R {
    let loop = try EventLoop()
    loop.start()
    defer {
        loop.stop()
        loop.join()
    }
    return try body(loop)
}

/// Runs `body` on the loop thread and waits (at most `timeout` seconds) for its result.
public func onLoop<T: Sendable>(
    _ loop: EventLoop, timeout: Double = 10, _ body: @escaping @Sendable () throws -> T
) throws -> T {
    let result = Locked<Result<T, Error>?>(nil)
    let waiter = Waiter()
    loop.submit {
        let r = Result { try body() }
        result.withLock { $0 = r }
        waiter.signal()
    }
    guard waiter.wait(seconds: timeout) else { throw TestTimeout(what: "onLoop") }
    return try result.value!.get()
}

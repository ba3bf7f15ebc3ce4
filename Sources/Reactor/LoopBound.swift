// SPDX-License-Identifier: Apache-2.0

/// Carries a loop-confined (non-Sendable) value through `@Sendable` closures, e.g. a
/// ``Connection`` into ``EventLoop/submit(_:)``.
///
/// Safe because the value is only ever touched on its loop's thread, which ``value`` checks.
public final class LoopBound<Value>: @unchecked Sendable {
    /// The loop whose thread may touch the value.
    public let loop: EventLoop
    private var _value: Value

    /// Wraps `value`; create it on the loop thread (or before the loop starts).
    public init(_ value: Value, loop: EventLoop) {
        loop.preconditionInLoop()
        self.loop = loop
        self._value = value
    }

    /// The value; traps unless called on the loop thread.
    public var value: Value {
        get {
            loop.preconditionInLoop()
            return _value
        }
        set {
            loop.preconditionInLoop()
            _value = newValue
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Outcome of a non-blocking system call.
public enum IOResult<T> {
    /// The call completed with a value.
    case processed(T)
    /// The call would have blocked (EAGAIN/EWOULDBLOCK); retry when the fd is ready.
    case wouldBlock
}

/// Runs a libc call that reports failure as -1 with `errno`, with the project's error policy.
///
/// - Retries on `EINTR`, because a signal interrupting a call is never a failure of that call.
/// - Maps `EAGAIN`/`EWOULDBLOCK` to `.wouldBlock` when `blocking` is true (the fd is non-blocking and
///   the caller wants to wait for readiness instead of failing).
/// - Traps on `EBADF` and `EFAULT`: they mean our own bookkeeping is wrong (a closed or reused fd, a
///   bad pointer), and carrying on would corrupt some other descriptor.
/// - Throws ``SystemError`` carrying `name` for everything else.
@inlinable
@inline(never)
public func syscall<T: FixedWidthInteger>(
    _ name: @autoclosure () -> String,
    blocking: Bool = false,
    faultIsError: Bool = false,
    _ body: () -> T
) throws(SystemError) -> IOResult<T> {
    while true {
        let result = body()
        if result != -1 { return .processed(result) }
        let err = errno
        if blocking && (err == EAGAIN || err == EWOULDBLOCK) { return .wouldBlock }
        switch err {
        case EINTR:
            continue
        case EFAULT where faultIsError:
            // The caller passed memory that may legitimately fault (a file mapping whose file shrank).
            throw SystemError(errno: err, call: name())
        case EBADF, EFAULT:
            preconditionFailure("unacceptable errno \(err) from \(name()): \(SystemError(errno: err, call: name()))")
        default:
            throw SystemError(errno: err, call: name())
        }
    }
}

/// ``syscall(_:blocking:faultIsError:_:)`` for calls that must not report `EAGAIN`; returns the
/// value directly.
@inlinable
@inline(never)
public func syscallValue<T: FixedWidthInteger>(
    _ name: @autoclosure () -> String,
    _ body: () -> T
) throws(SystemError) -> T {
    switch try syscall(name(), blocking: false, body) {
    case .processed(let value): return value
    case .wouldBlock: preconditionFailure("unreachable: wouldBlock from a non-blocking-mode syscall")
    }
}

/// Closes `fd`. `EINTR` is ignored because Linux always releases the descriptor even when `close`
/// is interrupted; retrying could close a descriptor another thread has just been given.
public func closeDescriptor(_ fd: Int32) {
    if close(fd) == -1 {
        let err = errno
        precondition(err != EBADF, "close(\(fd)): EBADF, the descriptor was already closed")
    }
}

/// The system's page size (mappings, page-cache accounting).
public let systemPageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

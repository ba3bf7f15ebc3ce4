// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Readiness a transport waits for on its own account: a TLS handshake step that must write while
/// the connection only wants to read, or a TLS read that needs the socket writable.
public struct TransportInterest: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Call the transport again when the socket is readable.
    public static let readable = TransportInterest(rawValue: 1)
    /// Call the transport again when the socket is writable.
    public static let writable = TransportInterest(rawValue: 2)
}

/// How a ``Connection`` moves bytes over its socket: plain TCP (``PlainTCPTransport``) or a
/// security layer over it (TLS). The connection keeps the queue, epoll interest, back-pressure
/// and timers; the transport does only the byte moves. Loop-confined, like the connection.
///
/// The contract:
/// - Until ``isEstablished`` is true (a handshake) the connection neither reads nor writes
///   application bytes: on every readiness event for ``interest`` it calls ``establish()``,
///   and drops the connection when ``establishTimeout`` passes first.
/// - ``read(into:chunkSize:)`` and ``write(_:count:moreFollows:)`` do what the socket allows
///   now. After `.wouldBlock` the connection waits for the socket's usual readiness (readable
///   for reads, writable for writes) plus whatever ``interest`` then holds.
/// - A write that returned `.wouldBlock` is offered again with the same bytes from the same
///   start (possibly more after them, possibly from another address).
/// - When ``sendsFilesZeroCopy`` is true the connection also writes to the socket itself with
///   `sendfile` and `vmsplice`/`splice` (file regions, framed mappings): whatever the kernel
///   receives on the socket must reach the peer as it is. Otherwise it reads files into a
///   bounded buffer (`pread`) and hands that to ``write(_:count:moreFollows:)``.
public protocol ByteTransport: AnyObject {
    /// Whether application bytes may flow (true from the start for plain TCP).
    var isEstablished: Bool { get }
    /// Readiness the transport waits for besides the connection's own: the handshake's next
    /// step while not established; afterwards, e.g. writable for a read that needs to write.
    var interest: TransportInterest { get }
    /// How long establishing may take before the connection is dropped; nil for no limit.
    var establishTimeout: Duration? { get }
    /// Advances establishing as far as the socket allows; true once established.
    /// - Throws: why it cannot be established (the connection closes with that error).
    func establish() throws -> Bool
    /// Reads once into a new chunk of `buffer` of at most `chunkSize` bytes: `.processed(0)` at
    /// the end of the stream.
    func read(into buffer: inout ByteBuffer, chunkSize: Int) throws -> IOResult<Int>
    /// Whether input is held inside the transport that epoll cannot signal (decrypted bytes).
    var hasBufferedInput: Bool { get }
    /// Writes what the socket takes of the `count` buffers at `iovecs`; `moreFollows` says that
    /// more output follows at once (a PDU header before its payload).
    func write(_ iovecs: UnsafePointer<iovec>, count: Int, moreFollows: Bool) throws -> IOResult<Int>
    /// Whether file regions and framed mappings may go to the socket with `sendfile` and `splice`.
    var sendsFilesZeroCopy: Bool { get }
    /// Ends the stream in an orderly way before the connection closes the socket (TLS:
    /// close_notify); does not block, and gives up when the socket does not take it now.
    func shutdown()
}

/// Makes the transport of each connection a listener accepts (or a connect opens): plain TCP,
/// or TLS with the context current at that moment. Loop-confined.
public struct TransportFactory {
    /// Wraps a connected non-blocking socket; throw to refuse the connection (the socket is
    /// then closed by the caller).
    public let make: (_ socket: Int32, _ loop: EventLoop) throws -> any ByteTransport

    /// A factory from `make`.
    public init(_ make: @escaping (_ socket: Int32, _ loop: EventLoop) throws -> any ByteTransport) {
        self.make = make
    }

    /// Plain TCP: ``PlainTCPTransport``.
    public static var plainTCP: TransportFactory {
        TransportFactory { socket, _ in PlainTCPTransport(socket: socket) }
    }
}

/// Establishing the transport failed (a TLS handshake refused) or did not finish in time; the
/// connection was closed with this error.
public struct TransportEstablishError: Error, CustomStringConvertible, Sendable {
    /// The peer (``Connection/peerAddress``).
    public var peer: String
    /// Why: the transport's reason, or the time limit that passed.
    public var reason: String
    /// Whether the limit passed (``ByteTransport/establishTimeout``) rather than a refusal.
    public var timedOut: Bool

    public var description: String { "\(peer): \(reason)" }
}

/// A gathered write to a socket: `sendmsg` with `MSG_MORE` when more output follows at once,
/// `writev` otherwise. Shared by every transport that writes the socket directly.
@inline(__always)
public func gatheredSocketWrite(
    _ socket: Int32, _ iovecs: UnsafePointer<iovec>, count: Int, moreFollows: Bool
) throws(SystemError) -> IOResult<Int> {
    if moreFollows {
        var message = msghdr()
        message.msg_iov = UnsafeMutablePointer(mutating: iovecs)
        message.msg_iovlen = count
        return try syscall("sendmsg", blocking: true, { sendmsg(socket, &message, Int32(MSG_MORE)) })
    }
    return try syscall("writev", blocking: true, { qrs_writev(socket, iovecs, Int32(count)) })
}

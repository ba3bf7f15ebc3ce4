// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Plain TCP: reads and gathered writes straight on the socket, established from the start,
/// file regions and framed mappings zero-copy (`sendfile`, `splice`).
public final class PlainTCPTransport: ByteTransport {
    /// The connected socket (owned by the connection).
    public let socket: Int32

    /// Transport over `socket`, a connected non-blocking TCP socket.
    public init(socket: Int32) {
        self.socket = socket
    }

    public var isEstablished: Bool { true }
    public var interest: TransportInterest { [] }
    public var establishTimeout: Duration? { nil }
    public func establish() throws -> Bool { true }

    public func read(into buffer: inout ByteBuffer, chunkSize: Int) throws -> IOResult<Int> {
        try buffer.read(from: socket, chunkSize: chunkSize)
    }

    public var hasBufferedInput: Bool { false }

    public func write(_ iovecs: UnsafePointer<iovec>, count: Int, moreFollows: Bool) throws -> IOResult<Int> {
        try gatheredSocketWrite(socket, iovecs, count: count, moreFollows: moreFollows)
    }

    public var sendsFilesZeroCopy: Bool { true }

    /// Nothing to end above TCP: the connection's `close` does it.
    public func shutdown() {}
}

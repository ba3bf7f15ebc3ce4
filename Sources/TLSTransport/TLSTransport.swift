// SPDX-License-Identifier: Apache-2.0
import Reactor
import TLS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// DICOM over TLS (PS3.15 Annex B) as a ``ByteTransport``: a ``TLSSession`` driven by the
/// connection's readiness events. Loop-confined, like the connection that owns it.
///
/// - **Handshake**: non-blocking; each step says whether it waits for the socket readable or
///   writable (``interest``), and the connection re-arms epoll for it. Nothing else is read or
///   written until it is done; a handshake still running after ``establishTimeout`` (the ACSE
///   timeout) or refused by either side closes the connection with a
///   `TransportEstablishError` whose reason is OpenSSL's (a plaintext peer: "wrong version
///   number"; a certificate: its verification error and subject).
/// - **Reading**: `SSL_read` until the chunk is full or OpenSSL wants more from the socket;
///   plaintext OpenSSL still holds (``hasBufferedInput``, `SSL_pending`) is read without
///   waiting for epoll, which cannot see it.
/// - **Writing**: when the kernel took the send keys (kTLS, `BIO_get_ktls_send`), the socket is
///   written directly and files go zero-copy (`sendfile`, `splice`), as over plain TCP; otherwise
///   everything goes through `SSL_write`, files copied by the connection into its bounded
///   staging buffer (``sendPath`` says which, once established).
/// - **Shutdown**: close_notify when the connection ends in order; a peer closing without one
///   is an end of stream too (`SSL_OP_IGNORE_UNEXPECTED_EOF`, set by ``TLSContext``).
public final class TLSTransport: ByteTransport {
    /// How application bytes leave: decided at the end of the handshake.
    public enum SendPath: String, Sendable, Equatable {
        /// The kernel encrypts (kTLS send offload): gathered writes, `sendfile` and `splice`
        /// on the socket as over plain TCP.
        case kernelTLS = "kTLS"
        /// OpenSSL encrypts: `SSL_write`, files read into a bounded buffer first.
        case userSpace = "SSL_write"
    }

    /// The TLS session (peer certificate, protocol version, cipher).
    public let session: TLSSession
    public let establishTimeout: Duration?
    public private(set) var isEstablished = false
    /// How application bytes leave; nil until the handshake is done.
    public private(set) var sendPath: SendPath?
    public private(set) var interest: TransportInterest
    private var shutDown = false
    /// Whether the last read filled its chunk: only then may OpenSSL hold more plaintext. After
    /// a read that ran dry, what it holds is an incomplete record that only the socket can finish.
    private var lastReadFilledChunk = false

    /// A transport over `session`, whose handshake must finish within `handshakeTimeout`
    /// (nil: no limit).
    public init(session: TLSSession, handshakeTimeout: Duration?) {
        self.session = session
        establishTimeout = handshakeTimeout
        // A client speaks first; a server waits for the ClientHello.
        interest = session.context.role == .client ? .writable : .readable
    }

    public func establish() throws -> Bool {
        switch session.handshake() {
        case .done:
            isEstablished = true
            interest = []
            sendPath = session.isKernelTLSSend ? .kernelTLS : .userSpace
            return true
        case .wantRead:
            interest = .readable
            return false
        case .wantWrite:
            interest = .writable
            return false
        case .failed(let reason):
            throw TLSTransportError(reason: "TLS handshake failed: \(reason)")
        }
    }

    public func read(into buffer: inout ByteBuffer, chunkSize: Int) throws -> IOResult<Int> {
        interest = []
        let session = self.session
        var wantsWrite = false
        let result = try buffer.read(chunkSize: chunkSize) { (chunk) throws(TLSTransportError) -> IOResult<Int> in
            switch session.read(into: UnsafeMutableRawBufferPointer(chunk)) {
            case .bytes(let count): return .processed(count)
            case .wantRead: return .wouldBlock
            case .wantWrite:
                wantsWrite = true
                return .wouldBlock
            case .closed: return .processed(0)
            case .failed(let reason): throw TLSTransportError(reason: "TLS read failed: \(reason)")
            }
        }
        if wantsWrite { interest = .writable }
        if case .processed(let count) = result, count == chunkSize {
            lastReadFilledChunk = true
        } else {
            lastReadFilledChunk = false
        }
        return result
    }

    public var hasBufferedInput: Bool { lastReadFilledChunk && session.hasBufferedPlaintext }

    public func write(_ iovecs: UnsafePointer<iovec>, count: Int, moreFollows: Bool) throws -> IOResult<Int> {
        if sendPath == .kernelTLS {
            return try gatheredSocketWrite(session.socket, iovecs, count: count, moreFollows: moreFollows)
        }
        interest = []
        var total = 0
        for index in 0..<count {
            let buffer = UnsafeRawBufferPointer(start: iovecs[index].iov_base, count: iovecs[index].iov_len)
            var offset = 0
            // With partial writes on, SSL_write returns after each record: go on until the socket
            // is full, or the connection would wait for a writability it already has.
            while offset < buffer.count {
                switch session.write(UnsafeRawBufferPointer(rebasing: buffer[offset...])) {
                case .written(let written):
                    offset += written
                    total += written
                case .wantWrite:
                    return total > 0 ? .processed(total) : .wouldBlock
                case .wantRead:
                    if total > 0 { return .processed(total) }
                    interest = .readable
                    return .wouldBlock
                case .failed(let reason):
                    throw TLSTransportError(reason: "TLS write failed: \(reason)")
                }
            }
        }
        return .processed(total)
    }

    public var sendsFilesZeroCopy: Bool { sendPath == .kernelTLS }

    /// Sends close_notify once, if the socket takes it now.
    public func shutdown() {
        guard isEstablished, !shutDown else { return }
        shutDown = true
        _ = session.shutdown()
    }
}

/// What went wrong in a TLS connection, in OpenSSL's words.
public struct TLSTransportError: Error, CustomStringConvertible, Sendable {
    /// What failed and why.
    public var reason: String
    public var description: String { reason }
}

extension TransportFactory {
    /// TLS over every connection: a listener's accepted sockets (a ``TLSContext`` with role
    /// `.server`) or a connect's socket (role `.client`, verifying the server as `serverName`,
    /// a DNS name or IP address, also sent as SNI when it is a name).
    ///
    /// Each connection gets a ``TLSTransport`` (read it back with
    /// `connection.transport as? TLSTransport` for the peer certificate and ``TLSTransport/sendPath``)
    /// and must finish its handshake within `handshakeTimeout`. The context is captured: to
    /// take a reloaded context, give the listener a new factory; open connections keep theirs.
    ///
    /// ```swift
    /// let listener = try loop.listen(host: "0.0.0.0", port: 2762,
    ///                                transport: .tls(serverContext, handshakeTimeout: .seconds(30))) { connection in
    ///     // connection.isEstablished is false here; connection.onEstablished fires after the handshake.
    /// }
    /// listener.transportFactory = .tls(reloadedContext, handshakeTimeout: .seconds(30))
    /// ```
    public static func tls(
        _ context: TLSContext, serverName: String? = nil, handshakeTimeout: Duration?
    ) -> TransportFactory {
        TransportFactory { socket, _ in
            TLSTransport(
                session: try TLSSession(context: context, socket: socket, serverName: serverName),
                handshakeTimeout: handshakeTimeout)
        }
    }
}

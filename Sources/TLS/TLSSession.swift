// SPDX-License-Identifier: Apache-2.0
import CLibssl
import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// One TLS connection over a non-blocking socket, driven by the caller's readiness.
///
/// The session never blocks and never waits: every call does what the socket allows now and says
/// what it needs next (`wantRead`: call again when the socket is readable; `wantWrite`: when it
/// is writable). OpenSSL reads and writes the socket itself (`SSL_set_fd`), which is what lets it
/// hand the keys to the kernel (kTLS) after the handshake. The caller owns the descriptor and
/// closes it after the session is done. Confined to one thread (the reactor's).
public final class TLSSession {
    /// The outcome of one handshake step.
    public enum HandshakeResult: Equatable, Sendable {
        /// The handshake is complete; application data may flow.
        case done
        case wantRead
        case wantWrite
        /// The handshake failed; the reason names the certificate problem where there is one.
        case failed(String)
    }

    /// The outcome of ``read(into:)``.
    public enum ReadResult: Equatable, Sendable {
        /// This many plaintext bytes were stored at the start of the buffer.
        case bytes(Int)
        case wantRead
        case wantWrite
        /// The peer ended the stream (close_notify, or a TCP close without it).
        case closed
        case failed(String)
    }

    /// The outcome of ``write(_:)``.
    public enum WriteResult: Equatable, Sendable {
        /// This many bytes from the start of the input were taken (whole records).
        case written(Int)
        case wantRead
        case wantWrite
        case failed(String)
    }

    /// The outcome of ``shutdown()``.
    public enum ShutdownResult: Equatable, Sendable {
        /// Our close_notify is sent; the descriptor may be closed.
        case done
        case wantRead
        case wantWrite
        case failed(String)
    }

    /// The context the session was made from (kept alive for the session's life).
    public let context: TLSContext
    /// The socket, owned by the caller.
    public let socket: Int32
    let ssl: OpaquePointer
    private var handshakeDone = false
    /// An end or failure met after some bytes were read; reported by the next read.
    private var deferredEnding: ReadResult?
    /// The subject of a certificate that failed verification, filled in by OpenSSL's callback.
    private let verifyNote: UnsafeMutablePointer<qrs_verify_note>

    /// Prepares a session over `socket`, a connected non-blocking TCP socket.
    ///
    /// - Parameter serverName: for a client, the name the server's certificate must carry (DNS
    ///   name or IP address); it is also sent as SNI when it is a name. Ignored for a server.
    public init(context: TLSContext, socket: Int32, serverName: String? = nil) throws(TLSError) {
        OpenSSLErrors.clear()
        guard let ssl = SSL_new(context.context) else {
            throw .library(call: "SSL_new", openSSL: OpenSSLErrors.drain())
        }
        self.ssl = ssl
        self.context = context
        self.socket = socket
        verifyNote = .allocate(capacity: 1)
        verifyNote.initialize(to: qrs_verify_note())
        _ = qrs_ssl_set_verify_note(ssl, verifyNote)
        guard SSL_set_fd(ssl, socket) == 1 else {
            throw .library(call: "SSL_set_fd", openSSL: OpenSSLErrors.drain())
        }
        switch context.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let serverName { try expectServer(named: serverName) }
        }
    }

    deinit {
        SSL_free(ssl)
        verifyNote.deallocate()
    }

    private func expectServer(named name: String) throws(TLSError) {
        var address = in6_addr()
        let isAddress = inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
        if isAddress {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 else {
                throw .library(call: "X509_VERIFY_PARAM_set1_ip_asc", openSSL: OpenSSLErrors.drain())
            }
        } else {
            guard SSL_set1_host(ssl, name) == 1, qrs_ssl_set_tlsext_host_name(ssl, name) == 1 else {
                throw .library(call: "SSL_set1_host", openSSL: OpenSSLErrors.drain())
            }
        }
    }

    /// Whether the handshake has completed.
    public var isHandshakeComplete: Bool { handshakeDone }

    /// Advances the handshake as far as the socket allows.
    public func handshake() -> HandshakeResult {
        if handshakeDone { return .done }
        OpenSSLErrors.clear()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            handshakeDone = true
            return .done
        }
        switch classify(result) {
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .closed: return .failed("the peer closed the connection during the handshake")
        case .failed(let reason): return .failed(reason)
        }
    }

    /// Reads plaintext into `buffer` until it is full or the socket has nothing more.
    ///
    /// Epoll does not see plaintext OpenSSL already holds, so a caller that got `.bytes` with a
    /// full buffer calls again before waiting for readiness (``hasBufferedPlaintext`` says whether
    /// any is left).
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        if let ending = deferredEnding { return ending }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .bytes(0) }
        var total = 0
        while total < buffer.count {
            OpenSSLErrors.clear()
            var count = 0
            if SSL_read_ex(ssl, base + total, buffer.count - total, &count) == 1 {
                total += count
                continue
            }
            let ending: ReadResult
            switch classify(0) {
            case .wantRead: ending = .wantRead
            case .wantWrite: ending = .wantWrite
            case .closed: ending = .closed
            case .failed(let reason): ending = .failed(reason)
            }
            guard total > 0 else { return ending }
            // The bytes first; an end or failure (with its reason) is kept for the next call.
            if ending != .wantRead && ending != .wantWrite { deferredEnding = ending }
            return .bytes(total)
        }
        return .bytes(total)
    }

    /// Whether plaintext (or a received record) is held inside OpenSSL, which epoll cannot signal.
    public var hasBufferedPlaintext: Bool { SSL_pending(ssl) > 0 || SSL_has_pending(ssl) == 1 }

    /// Encrypts and sends what the socket takes of `bytes`. After `.wantRead`/`.wantWrite` the
    /// caller must retry with the same bytes (same content; the buffer may move).
    public func write(_ bytes: UnsafeRawBufferPointer) -> WriteResult {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .written(0) }
        OpenSSLErrors.clear()
        var written = 0
        if SSL_write_ex(ssl, base, bytes.count, &written) == 1 { return .written(written) }
        switch classify(0) {
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .closed: return .failed("the peer closed the connection")
        case .failed(let reason): return .failed(reason)
        }
    }

    /// Sends our close_notify. `.done` as soon as it is sent: we do not wait for the peer's.
    public func shutdown() -> ShutdownResult {
        OpenSSLErrors.clear()
        let result = SSL_shutdown(ssl)
        if result >= 0 { return .done }
        switch classify(result) {
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .closed: return .done
        case .failed(let reason): return .failed(reason)
        }
    }

    /// True when the kernel encrypts what is written to the socket (kTLS send offload): plain
    /// `write`, `writev` and `sendfile` on the socket are then encrypted by the kernel.
    public var isKernelTLSSend: Bool { qrs_bio_get_ktls_send(SSL_get_wbio(ssl)) == 1 }

    /// True when the kernel decrypts what is read from the socket (kTLS receive offload).
    public var isKernelTLSReceive: Bool { qrs_bio_get_ktls_recv(SSL_get_rbio(ssl)) == 1 }

    private enum Outcome {
        case wantRead, wantWrite, closed
        case failed(String)
    }

    /// Turns a failed call's `SSL_get_error` into what the caller does next.
    private func classify(_ result: Int32) -> Outcome {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            let error = errno
            let queue = OpenSSLErrors.drain()
            if error == 0 && queue == "no further detail" { return .closed }
            return .failed(error != 0 ? String(cString: strerror(error)) : queue)
        default:
            return .failed(failureReason())
        }
    }

    /// OpenSSL's reason, led by the certificate verification error when that is what failed.
    private func failureReason() -> String {
        let queue = OpenSSLErrors.drain()
        let verify = SSL_get_verify_result(ssl)
        guard verify != X509_V_OK else { return queue }
        let text = X509_verify_cert_error_string(verify).map { String(cString: $0) } ?? "error \(verify)"
        var reason = "certificate verification failed: \(text)"
        if let subject = qrs_verify_note_subject(verifyNote).map({ String(cString: $0) }) ?? peerCertificate?.subject {
            reason += " (subject \(subject))"
        }
        return reason + "; " + queue
    }
}

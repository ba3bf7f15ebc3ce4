// SPDX-License-Identifier: Apache-2.0
import CLibssl
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The benchmark client's optional TLS (`--tls CA CERT KEY` anywhere on the command line): one
/// OpenSSL client context for the process, and a blocking session over each connected socket.
/// Blocking `SSL_connect`/`SSL_read_ex`/`SSL_write_ex` keep the client as simple as its plain
/// sockets, so plain and TLS runs differ only by the encryption.
enum BenchTLS {
    /// The command line without `--tls CA CERT KEY`.
    static let positionalArguments: [String] = split(CommandLine.arguments).positional

    /// The client context when `--tls` was given; nil for plain TCP. A certificate or key that does
    /// not load ends the program with OpenSSL's reason.
    static let context: ClientTLSContext? = {
        guard let paths = split(CommandLine.arguments).tls else { return nil }
        do {
            return try ClientTLSContext(caPath: paths[0], certificatePath: paths[1], keyPath: paths[2])
        } catch {
            FileHandle.standardError.write(Data("tls: \(error)\n".utf8))
            exit(1)
        }
    }()

    private static func split(_ arguments: [String]) -> (positional: [String], tls: [String]?) {
        guard let index = arguments.firstIndex(of: "--tls") else { return (arguments, nil) }
        guard index + 3 < arguments.count else {
            FileHandle.standardError.write(Data("usage: --tls CA_PEM CERT_PEM KEY_PEM\n".utf8))
            exit(1)
        }
        var positional = arguments
        positional.removeSubrange(index...index + 3)
        return (positional, Array(arguments[index + 1...index + 3]))
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var negotiated: String?

    /// Protocol and cipher of the last handshake (e.g. "TLSv1.3 TLS_AES_128_GCM_SHA256"), for the report.
    static var lastNegotiated: String? {
        lock.lock()
        defer { lock.unlock() }
        return negotiated
    }

    fileprivate static func record(_ description: String) {
        lock.lock()
        negotiated = description
        lock.unlock()
    }
}

/// OpenSSL's most recent queued error as text, and the queue emptied.
private func openSSLReason() -> String {
    let code = ERR_get_error()
    ERR_clear_error()
    guard code != 0 else { return "no OpenSSL reason" }
    var text = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &text, text.count)
    return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// An OpenSSL client context that verifies the server against `caPath` and presents
/// `certificatePath`/`keyPath`. OpenSSL contexts are safe to share between threads once set up.
final class ClientTLSContext: @unchecked Sendable {
    private let context: OpaquePointer

    init(caPath: String, certificatePath: String, keyPath: String) throws {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw BenchError("SSL_CTX_new: \(openSSLReason())")
        }
        self.context = context
        guard SSL_CTX_load_verify_locations(context, caPath, nil) == 1 else {
            throw BenchError("CA \(caPath): \(openSSLReason())")
        }
        guard SSL_CTX_use_certificate_chain_file(context, certificatePath) == 1 else {
            throw BenchError("certificate \(certificatePath): \(openSSLReason())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyPath, SSL_FILETYPE_PEM) == 1 else {
            throw BenchError("key \(keyPath): \(openSSLReason())")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        // Read ahead into a buffer of several records: one recv for many records instead of two
        // (header, body) per record, so the client's system calls do not limit a bulk transfer.
        SSL_CTX_ctrl(context, SSL_CTRL_SET_READ_AHEAD, 1, nil)
        SSL_CTX_set_default_read_buffer_len(context, 256 * 1024)
    }

    deinit { SSL_CTX_free(context) }

    /// Runs the handshake over the connected blocking socket `fd` (which stays the caller's).
    func connect(fd: Int32) throws -> ClientTLSSession {
        guard let ssl = SSL_new(context) else { throw BenchError("SSL_new: \(openSSLReason())") }
        guard SSL_set_fd(ssl, fd) == 1, SSL_connect(ssl) == 1 else {
            let reason = openSSLReason()
            SSL_free(ssl)
            throw BenchError("TLS handshake: \(reason)")
        }
        let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "?"
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "?"
        BenchTLS.record("\(version) \(cipher)")
        return ClientTLSSession(ssl: ssl)
    }
}

/// One blocking TLS session: `send`/`receive` return like `send(2)`/`recv(2)` (bytes moved,
/// 0 at the end of the stream, -1 on error).
final class ClientTLSSession {
    private var ssl: OpaquePointer?

    fileprivate init(ssl: OpaquePointer) { self.ssl = ssl }

    deinit { close() }

    func send(_ base: UnsafeRawPointer, _ count: Int) -> Int {
        var written = 0
        return SSL_write_ex(ssl, base, count, &written) == 1 ? written : -1
    }

    func receive(_ base: UnsafeMutableRawPointer, _ count: Int) -> Int {
        var read = 0
        if SSL_read_ex(ssl, base, count, &read) == 1 { return read }
        return SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN ? 0 : -1
    }

    /// Sends close_notify (without waiting for the peer's) and frees the session; the socket
    /// is closed by its owner afterwards.
    func close() {
        guard let ssl else { return }
        SSL_shutdown(ssl)
        SSL_free(ssl)
        self.ssl = nil
    }
}

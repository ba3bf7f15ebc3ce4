// SPDX-License-Identifier: Apache-2.0
import Logging
import Reactor
import TLS
import TLSTransport

/// HTTPS: the same listener over the TLS transport DICOM over TLS uses (`TransportFactory.tls`),
/// with a context of its own (`http.tls_client_auth`, ALPN `http/1.1`). The handshake must end
/// within the header timeout; its outcome is logged and counted like the DICOM listener's.
extension HTTPServer {
    /// Serves HTTPS with `context`: before ``start()`` for the listener's first connections, and
    /// again on reload. Connections accepted from now on use it; open ones keep theirs.
    public func useTLS(_ context: TLSContext) {
        tlsContext = context
        listener?.transportFactory = transportFactory
    }

    /// Whether the listener serves HTTPS.
    public var servesTLS: Bool { tlsContext != nil }

    var transportFactory: TransportFactory {
        guard let tlsContext else { return .plainTCP }
        return .tls(tlsContext, handshakeTimeout: configuration.headerTimeout)
    }

    /// Wraps the callbacks `served` set in `start()` to count and log what its handshake did.
    func recordHandshake(of served: HTTPServerConnection) {
        let connection = served.connection
        let established = connection.onEstablished
        connection.onEstablished = { [unowned self, unowned connection] in
            handshakeCompleted(connection)
            established?()
        }
        let closed = connection.onClose
        connection.onClose = { [unowned self] error in
            if let error = error as? TransportEstablishError { handshakeFailed(error) }
            closed?(error)
        }
    }

    private func handshakeCompleted(_ connection: Connection) {
        metrics.tlsHandshake(completed: true)
        guard let transport = connection.transport as? TLSTransport else { return }
        let session = transport.session
        var metadata: Logger.Metadata = [
            "peer": "\(connection.peerAddress)",
            "tls_protocol": "\(session.protocolVersion)",
            "tls_cipher": "\(session.cipher ?? "?")",
            "tls_send_path": "\(transport.sendPath == .kernelTLS ? "ktls" : "ssl_write")",
        ]
        if let certificate = session.peerCertificate { metadata["certificate_subject"] = "\(certificate.subject)" }
        logger.info("HTTPS handshake done", metadata: metadata)
    }

    private func handshakeFailed(_ error: TransportEstablishError) {
        metrics.tlsHandshake(completed: false)
        logger.notice(
            "HTTPS handshake failed",
            metadata: ["peer": "\(error.peer)", "reason": "\(error.reason)", "timed_out": "\(error.timedOut)"])
    }
}

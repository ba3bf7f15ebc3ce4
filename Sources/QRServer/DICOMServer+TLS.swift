// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Logging
import Reactor
import TLS
import TLSTransport

/// What one TLS connection's handshake established, kept while the connection is open.
struct TLSPeer {
    /// The verified client certificate, if the client sent one.
    var certificate: PeerCertificate?
    var protocolVersion: String
    var cipher: String?
    /// The kernel encrypts this connection's output (kTLS), so `sendfile` and `splice` stay.
    var kernelSend: Bool
}

/// DICOM over TLS (PS3.15 Annex B): the second listener, its contexts and their reload.
/// Plain and TLS associations share the loop, the association limit and every service.
extension DICOMServer {
    /// Binds ``ServerConfiguration/tlsPort`` on the configured address.
    public func startTLS() throws {
        guard let port = configuration.tlsPort else { return }
        let factory = try tlsServerFactory()
        let listener = try loop.listen(host: configuration.bindAddress, port: port, transport: factory) {
            [unowned self] connection in
            acceptTLS(connection)
        }
        installAdmission(on: listener)
        tlsListener = listener
    }

    /// Serves an already-listening socket for TLS (socket activation, `FileDescriptorName=dicom-tls`).
    public func startTLS(listeningOn fd: Int32) throws {
        let listener = try loop.listen(fd: fd, transport: try tlsServerFactory()) { [unowned self] connection in
            acceptTLS(connection)
        }
        installAdmission(on: listener)
        tlsListener = listener
    }

    /// The port the TLS listener bound; nil without one.
    public var localTLSPort: Int? { tlsListener?.localPort }

    /// Takes contexts built from reloaded files: connections accepted (or opened for C-MOVE)
    /// from now on use them; open ones keep the contexts they started with.
    public func replaceTLSContexts(_ contexts: TLSContexts) {
        tlsContexts = contexts
        if let tlsListener, let server = contexts.server {
            tlsListener.transportFactory = .tls(server, handshakeTimeout: configuration.artimTimeout)
        }
    }

    private func tlsServerFactory() throws -> TransportFactory {
        guard let context = tlsContexts.server else { throw TLSError.missingSetting("certificate") }
        return .tls(context, handshakeTimeout: configuration.artimTimeout)
    }

    private func acceptTLS(_ connection: Connection) {
        let association = accept(connection)
        let id = association.id
        // The association set its callbacks in start(); the TLS bookkeeping wraps them.
        let established = connection.onEstablished
        connection.onEstablished = { [unowned self] in
            tlsEstablished(association, connection)
            established?()
        }
        let closed = connection.onClose
        connection.onClose = { [unowned self] error in
            if let error = error as? TransportEstablishError { tlsHandshakeFailed(association, error) }
            tlsPeers[id] = nil
            closed?(error)
        }
    }

    private func tlsEstablished(_ association: Association, _ connection: Connection) {
        guard let transport = connection.transport as? TLSTransport else { return }
        let session = transport.session
        let peer = TLSPeer(
            certificate: session.peerCertificate, protocolVersion: session.protocolVersion,
            cipher: session.cipher, kernelSend: transport.sendPath == .kernelTLS
        )
        tlsPeers[association.id] = peer
        statistics.tlsHandshakes += 1
        if peer.kernelSend { statistics.tlsKernelSend += 1 } else { statistics.tlsLibrarySend += 1 }
        var metadata: Logger.Metadata = [
            "tls_protocol": "\(peer.protocolVersion)",
            "tls_cipher": "\(peer.cipher ?? "?")",
            // Once per connection: whether file output keeps sendfile/splice (kernel TLS) or is
            // encrypted by OpenSSL from bounded buffers.
            "tls_send_path": "\(peer.kernelSend ? "ktls" : "ssl_write")",
        ]
        if let certificate = peer.certificate { metadata["certificate_subject"] = "\(certificate.subject)" }
        association.logger[metadataKey: "tls"] = "\(peer.protocolVersion)"
        association.logger.info("TLS handshake done", metadata: metadata)
    }

    private func tlsHandshakeFailed(_ association: Association, _ error: TransportEstablishError) {
        statistics.tlsHandshakeFailures += 1
        association.logger.notice(
            "TLS handshake failed",
            metadata: [
                "reason": "\(error.reason)",
                "timed_out": "\(error.timedOut)",
            ])
    }

    /// Why `association` may not call as `callingAETitle` on its certificate
    /// (``ServerConfiguration/certificateIdentities``), or nil: always nil on the plain port.
    func certificateRefusal(for association: Association, callingAETitle: String) -> (reason: String, subject: String)?
    {
        guard let peer = tlsPeers[association.id] else { return nil }
        switch configuration.certificateIdentities.check(callingAETitle: callingAETitle, certificate: peer.certificate)
        {
        case .accepted: return nil
        case .refused(let reason): return (reason, peer.certificate?.subject ?? "(no certificate)")
        }
    }

    /// Counts an association accepted over TLS.
    func tlsAssociationAccepted(_ association: Association) {
        if tlsPeers[association.id] != nil { statistics.tlsAssociations += 1 }
    }

    /// The transport for an outgoing association to `peer`: TLS with the client context when the
    /// peer is marked `tls: true`, plain TCP otherwise; nil when TLS is asked for without a context.
    func outboundTransport(to peer: PeerAddress) -> TransportFactory? {
        guard peer.tls else { return .plainTCP }
        guard let context = tlsContexts.client else { return nil }
        return .tls(context, serverName: peer.host, handshakeTimeout: configuration.artimTimeout)
    }
}

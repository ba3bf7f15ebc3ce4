// SPDX-License-Identifier: Apache-2.0
import CLibssl
import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// An OpenSSL `SSL_CTX` built from a ``TLSConfiguration``, for one role. Immutable once built and
/// safe to share: sessions take a reference, so a reload can build a new context while open
/// associations keep the one they started with.
public final class TLSContext: @unchecked Sendable {
    /// Which side of the handshake the sessions of this context play.
    public enum Role: Sendable {
        /// Accepts connections (the archive's listener).
        case server
        /// Opens connections (C-MOVE to a peer marked `tls: true`).
        case client
    }

    /// The role given at creation.
    public let role: Role
    /// The configuration the context was built from.
    public let configuration: TLSConfiguration
    let context: OpaquePointer
    /// How many certificates were read from a trust anchor directory or, for a client without
    /// anchors of its own, from the system's store; 0 for a single trust anchor file (which
    /// OpenSSL reads whole itself) and when no anchors are needed.
    public private(set) var trustAnchorCount = 0
    /// Files among the trust anchors that held no usable certificate and were passed over, for
    /// the log (a directory with at least one certificate still loads).
    public private(set) var skippedTrustAnchorFiles: [SkippedTrustAnchorFile] = []

    /// Builds a context, checking every file the configuration names.
    ///
    /// Every file is read here, trust anchor directories included, so that handshakes never
    /// touch the disk.
    ///
    /// - Parameter environment: where `$CREDENTIALS_DIRECTORY` is looked up for the key
    ///   (``TLSConfiguration/resolveKeyPath(_:environment:)``), and `SSL_CERT_FILE` and
    ///   `SSL_CERT_DIR` for a client's system trust anchors (the process environment otherwise).
    /// - Throws: ``TLSError`` naming the file or setting at fault, with OpenSSL's reason.
    public init(
        _ configuration: TLSConfiguration,
        role: Role,
        environment: [String: String] = [:]
    ) throws(TLSError) {
        OpenSSLErrors.clear()
        guard let context = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw .library(call: "SSL_CTX_new", openSSL: OpenSSLErrors.drain())
        }
        self.context = context
        self.role = role
        self.configuration = configuration
        try configureProtocol()
        try loadIdentity(environment: environment)
        try loadTrustAnchors(environment: environment)
    }

    deinit {
        SSL_CTX_free(context)
    }

    private func configureProtocol() throws(TLSError) {
        let floor = configuration.minimumVersion == .tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION
        guard qrs_ssl_ctx_set_min_proto_version(context, floor) == 1,
            qrs_ssl_ctx_set_max_proto_version(context, TLS1_3_VERSION) == 1
        else {
            throw .library(call: "SSL_CTX_set_min_proto_version", openSSL: OpenSSLErrors.drain())
        }
        _ = qrs_ssl_ctx_set_qrscpd_options(context, role == .server ? 1 : 0)
        qrs_ssl_ctx_set_nonblocking_modes(context)
        guard SSL_CTX_set_cipher_list(context, configuration.ciphers) == 1 else {
            throw .badCiphers(setting: "ciphers", value: configuration.ciphers, openSSL: OpenSSLErrors.drain())
        }
        guard SSL_CTX_set_ciphersuites(context, configuration.cipherSuites) == 1 else {
            let reason = OpenSSLErrors.drain()
            throw .badCiphers(setting: "cipher suites", value: configuration.cipherSuites, openSSL: reason)
        }
        if role == .server {
            // Sessions resumed with a client certificate need an id context, or OpenSSL refuses them.
            let id = Array("qrscpd".utf8)
            _ = SSL_CTX_set_session_id_context(context, id, UInt32(id.count))
            if configuration.selectsHTTP11 { qrs_ssl_ctx_select_alpn_http11(context) }
        }
    }

    private func loadIdentity(environment: [String: String]) throws(TLSError) {
        guard let chain = configuration.certificateChainPath else {
            if role == .server { throw .missingSetting("certificate") }
            return
        }
        guard let keySetting = configuration.privateKeyPath else { throw .missingSetting("key") }
        let key = TLSConfiguration.resolveKeyPath(keySetting, environment: environment)
        try Self.checkReadable(chain, setting: "certificate", directory: false)
        try Self.checkReadable(key, setting: "key", directory: false)
        guard SSL_CTX_use_certificate_chain_file(context, chain) == 1 else {
            throw .badCertificate(path: chain, openSSL: OpenSSLErrors.drain())
        }
        guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
            let reason = OpenSSLErrors.drain()
            // OpenSSL checks the pair while loading the key and reports a mismatch there.
            if reason.contains("values mismatch") || reason.contains("key mismatch") {
                throw .keyMismatch(certificate: chain, key: key, openSSL: reason)
            }
            throw .badKey(path: key, openSSL: reason)
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw .keyMismatch(certificate: chain, key: key, openSSL: OpenSSLErrors.drain())
        }
    }

    private func loadTrustAnchors(environment: [String: String]) throws(TLSError) {
        let mode = verifyMode()
        qrs_ssl_ctx_set_verify(context, mode)
        guard let store = SSL_CTX_get_cert_store(context) else {
            throw .library(call: "SSL_CTX_get_cert_store", openSSL: OpenSSLErrors.drain())
        }
        var loader = TrustAnchorLoader(store: store)
        defer {
            trustAnchorCount = loader.loaded
            skippedTrustAnchorFiles = loader.skipped
        }
        guard let anchors = configuration.trustAnchorsPath else {
            // A client with no anchors of its own verifies servers against the system's store,
            // read now rather than through OpenSSL's lazy default paths.
            guard role == .client else { return }
            let searched = loader.loadSystemDefaults(environment: environment)
            guard loader.loaded > 0 else {
                throw .badTrustAnchors(path: searched, openSSL: Self.nothingUsable(loader.skipped))
            }
            return
        }
        var status = stat()
        guard stat(anchors, &status) == 0 else {
            throw .fileUnreadable(setting: "ca", path: anchors, reason: String(cString: strerror(errno)))
        }
        let isDirectory = status.st_mode & S_IFMT == S_IFDIR
        try Self.checkReadable(anchors, setting: "ca", directory: isDirectory)
        if isDirectory {
            loader.loadDirectory(anchors)
            guard loader.loaded > 0 else {
                throw .badTrustAnchors(path: anchors, openSSL: Self.nothingUsable(loader.skipped))
            }
        } else {
            guard SSL_CTX_load_verify_file(context, anchors) == 1 else {
                throw .badTrustAnchors(path: anchors, openSSL: OpenSSLErrors.drain())
            }
        }
        if role == .server, mode & SSL_VERIFY_PEER != 0 {
            // Name the acceptable issuers in the CertificateRequest (every anchor's subject, from
            // the store just filled, file or directory alike), so clients pick the right certificate.
            guard qrs_ssl_ctx_set_client_ca_list_from_store(context) >= 0 else {
                throw .library(call: "SSL_CTX_set_client_CA_list", openSSL: OpenSSLErrors.drain())
            }
        }
    }

    /// The reason for a trust anchor setting that yielded no certificate at all.
    private static func nothingUsable(_ skipped: [SkippedTrustAnchorFile]) -> String {
        let shown = skipped.prefix(5).map(\.description).joined(separator: "; ")
        let more = skipped.count > 5 ? "; and \(skipped.count - 5) more" : ""
        return skipped.isEmpty ? "no certificate files found" : "no usable certificate: \(shown)\(more)"
    }

    private func verifyMode() -> Int32 {
        switch role {
        case .client:
            return SSL_VERIFY_PEER
        case .server:
            switch configuration.effectiveClientAuthentication {
            case .required: return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
            case .optional: return SSL_VERIFY_PEER
            case .none: return SSL_VERIFY_NONE
            }
        }
    }

    /// A clear error for a missing or unreadable file, before OpenSSL's less direct one.
    private static func checkReadable(_ path: String, setting: String, directory: Bool) throws(TLSError) {
        guard access(path, R_OK | (directory ? X_OK : 0)) == 0 else {
            throw .fileUnreadable(setting: setting, path: path, reason: String(cString: strerror(errno)))
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
// swift-format-ignore-file: AlwaysUseLowerCamelCase

/// What a TLS context is built from: certificate chain, key, trust anchors, client-certificate
/// policy, protocol floor and cipher lists. A plain value; ``TLSContext`` turns it into OpenSSL
/// state and reports what is wrong with the files.
///
/// The defaults follow BCP 195 (RFC 9325) as DICOM PS3.15 Annex B's current profiles require:
/// TLS 1.2 and 1.3 only, and for TLS 1.2 only ECDHE key exchange with AEAD ciphers.
public struct TLSConfiguration: Equatable, Sendable {
    /// Whether a server asks for and checks client certificates.
    public enum ClientAuthentication: String, Equatable, Sendable, CaseIterable {
        /// A client without a certificate trusted by the anchors is refused.
        case required
        /// A client may present no certificate; one it presents must verify.
        case optional
        /// No certificate is asked for.
        case none
    }

    /// The lowest protocol version accepted; the highest is always TLS 1.3.
    public enum MinimumVersion: String, Equatable, Sendable, CaseIterable {
        case tls1_2 = "1.2"
        case tls1_3 = "1.3"
    }

    /// TLS 1.2 cipher list (OpenSSL syntax): ECDHE key exchange, AEAD ciphers only.
    public static let defaultCiphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    /// TLS 1.3 cipher suites (all three are AEAD with ephemeral key exchange).
    public static let defaultCipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    /// PEM file with our certificate first, then its intermediates. Required for a server; a
    /// client without one presents no certificate.
    public var certificateChainPath: String?
    /// PEM file with the private key of the first certificate (see ``resolveKeyPath(_:environment:)``).
    public var privateKeyPath: String?
    /// PEM file of trusted certificates, or a directory prepared with `openssl rehash`.
    public var trustAnchorsPath: String?
    /// Client-certificate policy for a server; `nil` means the default: ``ClientAuthentication/required``
    /// when trust anchors are set, ``ClientAuthentication/none`` otherwise.
    public var clientAuthentication: ClientAuthentication?
    /// The protocol floor.
    public var minimumVersion: MinimumVersion
    /// TLS 1.2 cipher list.
    public var ciphers: String
    /// TLS 1.3 cipher suites.
    public var cipherSuites: String
    /// A server answers ALPN (RFC 7301) with `http/1.1` when the client offers it (the HTTPS
    /// listener); otherwise no protocol is negotiated. Clients offer nothing either way.
    public var selectsHTTP11 = false

    /// Creates a configuration; every setting not given takes the BCP 195 default.
    public init(
        certificateChainPath: String? = nil,
        privateKeyPath: String? = nil,
        trustAnchorsPath: String? = nil,
        clientAuthentication: ClientAuthentication? = nil,
        minimumVersion: MinimumVersion = .tls1_2,
        ciphers: String = TLSConfiguration.defaultCiphers,
        cipherSuites: String = TLSConfiguration.defaultCipherSuites
    ) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.trustAnchorsPath = trustAnchorsPath
        self.clientAuthentication = clientAuthentication
        self.minimumVersion = minimumVersion
        self.ciphers = ciphers
        self.cipherSuites = cipherSuites
    }

    /// The client-certificate policy in force, with the default applied.
    public var effectiveClientAuthentication: ClientAuthentication {
        clientAuthentication ?? (trustAnchorsPath == nil ? .none : .required)
    }

    /// Where the private key is read from. A bare name (no `/`) is a systemd credential when the
    /// service runs with `LoadCredential=` (`$CREDENTIALS_DIRECTORY/<name>`), so that the key file
    /// need not be readable by the service user; anything else is a path as given.
    public static func resolveKeyPath(_ path: String, environment: [String: String]) -> String {
        guard !path.contains("/"), let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
            return path
        }
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }
}

// SPDX-License-Identifier: Apache-2.0
import TLS

/// The `tls:` block: the second listener (DICOM over TLS, PS3.15 Annex B) and what its
/// context is built from. Off unless a port is given; every other key takes the BCP 195
/// defaults of ``TLSConfiguration``.
public struct TLSSettings: Sendable, Equatable {
    /// The TLS port (2762 is registered as dicom-tls); nil: no TLS listener.
    public var port: Int?
    /// PEM chain: our certificate first, then intermediates.
    public var certificate: String?
    /// PEM private key; a bare name is read from `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`).
    public var key: String?
    /// Trust anchors: a PEM file or an `openssl rehash`ed directory.
    public var ca: String?
    /// nil: `required` when `ca` is set, otherwise `none`.
    public var clientAuthentication: TLSConfiguration.ClientAuthentication?
    public var minimumVersion: TLSConfiguration.MinimumVersion = .tls1_2
    /// TLS 1.2 cipher list; nil: ``TLSConfiguration/defaultCiphers``.
    public var ciphers: String?
    /// Certificate identity (subject CN or subjectAltName) → calling AE titles it may use
    /// (`tls.identities`, file only); empty: no binding.
    public var identities: [String: [String]] = [:]

    public init() {}

    /// Whether the daemon listens for TLS.
    public var isEnabled: Bool { port != nil }

    /// What the server and client contexts are built from.
    public var configuration: TLSConfiguration {
        TLSConfiguration(
            certificateChainPath: certificate,
            privateKeyPath: key,
            trustAnchorsPath: ca,
            clientAuthentication: clientAuthentication,
            minimumVersion: minimumVersion,
            ciphers: ciphers ?? TLSConfiguration.defaultCiphers
        )
    }

    /// The identity bindings the listener checks at A-ASSOCIATE-RQ.
    public var identityBinding: CertificateIdentityBinding { CertificateIdentityBinding(identities) }
}

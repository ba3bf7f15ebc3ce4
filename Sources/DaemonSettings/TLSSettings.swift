// SPDX-License-Identifier: Apache-2.0
import TLS

/// The `tls:` block: the second listener (DICOM over TLS, PS3.15 Annex B) and what its
/// context is built from. The listener is on when a port is given, or when systemd passes a
/// socket named `dicom-tls` (which then replaces the port); either way it needs a certificate
/// and a key. Every other key takes the BCP 195 defaults of ``TLSConfiguration``.
public struct TLSSettings: Sendable, Equatable {
    /// The TLS port (2762 is registered as dicom-tls); nil: no TLS listener of our own binding
    /// (a `dicom-tls` socket from systemd still turns one on).
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

    /// Whether the daemon binds a TLS port (systemd may pass it one instead).
    public var isEnabled: Bool { port != nil }

    /// The settings a TLS listener needs that are not set, each with its flag and variable
    /// (for an error message); empty when certificate and key are both given.
    public var missingListenerSettings: [String] {
        var missing: [String] = []
        if certificate == nil { missing.append("tls.certificate (--tls-certificate, QRSCPD_TLS_CERTIFICATE)") }
        if key == nil { missing.append("tls.key (--tls-key, QRSCPD_TLS_KEY)") }
        return missing
    }

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

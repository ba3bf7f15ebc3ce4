// SPDX-License-Identifier: Apache-2.0
/// The names of the `tls:` settings, kept apart from ``SettingsKeys``'s main table.
extension SettingsKeys {
    public static let tlsSection = "tls"
    public static let tlsPort = "tls.port"
    public static let tlsCertificate = "tls.certificate"
    public static let tlsKey = "tls.key"
    public static let tlsCA = "tls.ca"
    public static let tlsClientAuth = "tls.client_auth"
    public static let tlsMinVersion = "tls.min_version"
    public static let tlsCiphers = "tls.ciphers"
    /// `tls.identities.<identity>`: a list of calling AE titles (file only).
    public static let tlsIdentities = "tls.identities"

    static let tlsScalars: [String] = [
        tlsPort, tlsCertificate, tlsKey, tlsCA, tlsClientAuth, tlsMinVersion, tlsCiphers,
    ]

    static let tlsEnvironmentVariables: [String: String] = [
        tlsPort: "QRSCPD_TLS_PORT",
        tlsCertificate: "QRSCPD_TLS_CERTIFICATE",
        tlsKey: "QRSCPD_TLS_KEY",
        tlsCA: "QRSCPD_TLS_CA",
        tlsClientAuth: "QRSCPD_TLS_CLIENT_AUTH",
        tlsMinVersion: "QRSCPD_TLS_MIN_VERSION",
        tlsCiphers: "QRSCPD_TLS_CIPHERS",
    ]

    static let tlsOptions: [String: String] = [
        tlsPort: "--tls-port",
        tlsCertificate: "--tls-certificate",
        tlsKey: "--tls-key",
        tlsCA: "--tls-ca",
        tlsClientAuth: "--tls-client-auth",
    ]
}

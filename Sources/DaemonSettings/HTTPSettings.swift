// SPDX-License-Identifier: Apache-2.0
import TLS

/// The HTTP listener's settings (`http.*`): DICOMweb and /metrics. Off unless a port is set.
public struct HTTPSettings: Sendable, Equatable {
    /// `http.port` / `--http-port` / `QRSCPD_HTTP_PORT`; nil = no HTTP listener.
    public var port: Int?
    /// `http.bind` / `QRSCPD_HTTP_BIND`; nil = the DICOM listener's `bind`.
    public var bindAddress: String?
    /// `http.cors_origins`: browser origins allowed to read responses ("*" = any).
    public var corsOrigins: [String] = []

    // HTTPS and the request limits (`HTTPSettings+Serving.swift`).
    /// `http.tls` / `--http-tls` / `QRSCPD_HTTP_TLS`: serve HTTPS with the `tls:` certificate and key.
    public var tls = false
    /// `http.tls_client_auth`: client certificates on the HTTPS port (browsers usually have none).
    public var tlsClientAuthentication: TLSConfiguration.ClientAuthentication = .none
    /// `http.max_header_bytes`; nil = the server's default (431 beyond).
    public var maxHeaderBytes: Int?
    /// `http.max_body_bytes`; nil = the server's default (413 beyond).
    public var maxBodyBytes: Int?
    /// `http.idle_timeout`, seconds; nil = the server's default.
    public var idleTimeout: Int?
    /// `http.header_timeout`, seconds (408 after it; also bounds the TLS handshake); nil = the server's default.
    public var headerTimeout: Int?

    public init() {}
}

extension SettingsKeys {
    public static let httpPort = "http.port"
    public static let httpBind = "http.bind"
    public static let httpCORSOrigins = "http.cors_origins"
}

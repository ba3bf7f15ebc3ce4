// SPDX-License-Identifier: Apache-2.0
/// The HTTP listener's settings (`http.*`): DICOMweb and /metrics. Off unless a port is set.
public struct HTTPSettings: Sendable, Equatable {
    /// `http.port` / `--http-port` / `QRSCPD_HTTP_PORT`; nil = no HTTP listener.
    public var port: Int?
    /// `http.bind` / `QRSCPD_HTTP_BIND`; nil = the DICOM listener's `bind`.
    public var bindAddress: String?
    /// `http.cors_origins`: browser origins allowed to read responses ("*" = any).
    public var corsOrigins: [String] = []

    public init() {}
}

extension SettingsKeys {
    public static let httpPort = "http.port"
    public static let httpBind = "http.bind"
    public static let httpCORSOrigins = "http.cors_origins"
}

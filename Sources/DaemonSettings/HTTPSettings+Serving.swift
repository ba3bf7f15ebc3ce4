// SPDX-License-Identifier: Apache-2.0
import Configuration
import TLS

/// HTTPS and the HTTP request limits: `http.tls`, `http.tls_client_auth`, `http.max_header_bytes`,
/// `http.max_body_bytes`, `http.idle_timeout`, `http.header_timeout`.
extension SettingsKeys {
    public static let httpTLS = "http.tls"
    public static let httpTLSClientAuth = "http.tls_client_auth"
    public static let httpMaxHeaderBytes = "http.max_header_bytes"
    public static let httpMaxBodyBytes = "http.max_body_bytes"
    public static let httpIdleTimeout = "http.idle_timeout"
    public static let httpHeaderTimeout = "http.header_timeout"

    static let httpServingScalars: [String] = [
        httpTLS, httpTLSClientAuth, httpMaxHeaderBytes, httpMaxBodyBytes, httpIdleTimeout, httpHeaderTimeout,
    ]

    static let httpServingEnvironmentVariables: [String: String] = [
        httpTLS: "QRSCPD_HTTP_TLS",
        httpTLSClientAuth: "QRSCPD_HTTP_TLS_CLIENT_AUTH",
        httpMaxHeaderBytes: "QRSCPD_HTTP_MAX_HEADER_BYTES",
        httpMaxBodyBytes: "QRSCPD_HTTP_MAX_BODY_BYTES",
        httpIdleTimeout: "QRSCPD_HTTP_IDLE_TIMEOUT",
        httpHeaderTimeout: "QRSCPD_HTTP_HEADER_TIMEOUT",
    ]

    static let httpServingOptions: [String: String] = [httpTLS: "--http-tls"]
}

extension HTTPSettings {
    /// The ranges the limits accept: a header section must hold a browser's usual fields, and a
    /// body limit of 1 TiB is as good as none.
    public enum Ranges {
        public static let maxHeaderBytes = 1024...(1 << 20)
        public static let maxBodyBytes = 1024...(1 << 40)
        public static let idleTimeout = 1...3600
        public static let headerTimeout = 1...600
    }
}

extension DaemonSettings {
    /// What the HTTPS listener's context is built from: the `tls:` certificate, key, trust
    /// anchors, protocol floor and ciphers, with `http.tls_client_auth` for client certificates
    /// and ALPN `http/1.1`; nil when `http.tls` is off.
    public var httpsConfiguration: TLSConfiguration? {
        guard http.tls else { return nil }
        var configuration = tls.configuration
        configuration.clientAuthentication = http.tlsClientAuthentication
        configuration.selectsHTTP11 = true
        return configuration
    }
}

extension SettingsResolver {
    /// Reads `http.tls`, `http.tls_client_auth` and the limits into `http`, checked: HTTPS needs
    /// `tls.certificate` and `tls.key` (`tls`, already resolved), client certificates need `tls.ca`.
    func httpServing(_ http: inout HTTPSettings, tls: TLSSettings) throws(SettingsError) {
        let enabled = try read(components(SettingsKeys.httpTLS), "must be true or false") { $0.bool(forKey: $1) }
        http.tls = enabled?.value ?? false
        let modes = TLSConfiguration.ClientAuthentication.allCases.map(\.rawValue).joined(separator: ", ")
        let clientAuth = try read(components(SettingsKeys.httpTLSClientAuth), "must be one of \(modes)") {
            $0.string(forKey: $1, as: TLSConfiguration.ClientAuthentication.self)
        }
        http.tlsClientAuthentication = clientAuth?.value ?? .none
        http.maxHeaderBytes = try int(SettingsKeys.httpMaxHeaderBytes, Self.within(HTTPSettings.Ranges.maxHeaderBytes))
        http.maxBodyBytes = try int(SettingsKeys.httpMaxBodyBytes, Self.within(HTTPSettings.Ranges.maxBodyBytes))
        http.idleTimeout = try int(SettingsKeys.httpIdleTimeout, Self.within(HTTPSettings.Ranges.idleTimeout))
        http.headerTimeout = try int(SettingsKeys.httpHeaderTimeout, Self.within(HTTPSettings.Ranges.headerTimeout))
        if let enabled, enabled.value {
            if tls.certificate == nil {
                throw enabled.source.error(
                    enabled.key,
                    "HTTPS needs tls.certificate (--tls-certificate, QRSCPD_TLS_CERTIFICATE) and tls.key as well")
            }
            if tls.key == nil {
                throw enabled.source.error(enabled.key, "HTTPS needs tls.key (--tls-key, QRSCPD_TLS_KEY) as well")
            }
        }
        if let clientAuth, clientAuth.value != .none, tls.ca == nil {
            throw clientAuth.source.error(
                clientAuth.key, "\(clientAuth.value.rawValue) needs trust anchors: tls.ca (--tls-ca, QRSCPD_TLS_CA)")
        }
    }

    private static func within(_ range: ClosedRange<Int>) -> (Int) throws(SettingsValidation.Failure) -> Int {
        { value throws(SettingsValidation.Failure) in
            guard range.contains(value) else {
                throw SettingsValidation.Failure(
                    "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            }
            return value
        }
    }
}

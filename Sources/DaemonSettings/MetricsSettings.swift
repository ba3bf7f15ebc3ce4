// SPDX-License-Identifier: Apache-2.0
/// The `metrics:` block: an admin listener that serves only `/metrics`. When its port is set,
/// `/metrics` is served there and no longer on the public HTTP port (which may then be off).
public struct MetricsSettings: Sendable, Equatable {
    /// `metrics.port` / `--metrics-port` / `QRSCPD_METRICS_PORT`; nil: /metrics is served on the
    /// HTTP port (when there is one).
    public var port: Int?
    /// `metrics.bind` / `QRSCPD_METRICS_BIND`: loopback unless set, so that only local scrapers
    /// (or a reverse proxy) reach it.
    public var bindAddress = Self.defaultBindAddress

    public static let defaultBindAddress = "127.0.0.1"

    public init() {}

    /// Whether /metrics has a listener of its own.
    public var hasOwnListener: Bool { port != nil }
}

/// The names of the `metrics:` settings, kept apart from ``SettingsKeys``'s main table.
extension SettingsKeys {
    public static let metricsPort = "metrics.port"
    public static let metricsBind = "metrics.bind"

    static let metricsScalars: [String] = [metricsPort, metricsBind]

    static let metricsEnvironmentVariables: [String: String] = [
        metricsPort: "QRSCPD_METRICS_PORT",
        metricsBind: "QRSCPD_METRICS_BIND",
    ]

    static let metricsOptions: [String: String] = [metricsPort: "--metrics-port"]
}

extension SettingsResolver {
    /// The `metrics:` block from every source; its port must differ from the HTTP port.
    func metrics(httpPort: Int?) throws(SettingsError) -> MetricsSettings {
        var metrics = MetricsSettings()
        let port = try read(components(SettingsKeys.metricsPort), "must be an integer") { $0.int(forKey: $1) }
        if let port {
            metrics.port = try check(port, SettingsValidation.port)
            if metrics.port == httpPort {
                throw port.source.error(port.key, "must differ from http.port (\(port.value))")
            }
        }
        metrics.bindAddress = try string(SettingsKeys.metricsBind, SettingsValidation.host) ?? metrics.bindAddress
        return metrics
    }
}

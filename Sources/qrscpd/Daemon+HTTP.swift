// SPDX-License-Identifier: Apache-2.0
import Archive
import DaemonSettings
import Logging
import QRServer
import Reactor
import TLS
import WebServer

/// The HTTP listener (DICOMweb, /metrics) beside the DICOM one, on the same loop.
extension Daemon {
    /// The web server for `settings`, routes installed (/metrics when `metrics` is given), not
    /// started; nil when `http.port` is unset and no `http` socket was passed.
    static func makeHTTPServer(
        settings: DaemonSettings, activatedSocket: Int32?, loop: EventLoop, logger: Logger,
        store: SQLiteIndexStore, workers: WorkerPool, dicom: DICOMServer?, metrics: MetricsSources?,
        tlsContext: TLSContext?
    ) -> HTTPServer? {
        guard settings.http.port != nil || activatedSocket != nil else { return nil }
        var configuration = HTTPServerConfiguration(
            port: settings.http.port ?? 0,
            bindAddress: settings.http.bindAddress ?? settings.bindAddress,
            corsOrigins: settings.http.corsOrigins
        )
        configuration.apply(settings.http)
        let server = HTTPServer(configuration: configuration, loop: loop, logger: logger)
        if let tlsContext { server.useTLS(tlsContext) }
        DICOMWebRoutes.install(on: server, store: store, workers: workers, dicom: dicom)
        if let metrics { DICOMWebRoutes.installMetrics(on: server, as: "http", sources: metrics) }
        return server
    }

    /// Starts `server` on the passed socket or the configured address.
    static func startHTTP(_ server: HTTPServer, activatedSocket: Int32?, logger: Logger) throws {
        try ActivatedListeners.start(
            activatedSocket, logging: "serving HTTP on the socket passed by systemd", logger: logger,
            listeningOn: server.start(listeningOn:), otherwise: { try server.start() })
        logger.notice(
            server.servesTLS ? "HTTPS listening" : "HTTP listening",
            metadata: [
                "http_port": "\(server.localPort)", "dicomweb": "\(DICOMWebRoutes.base)",
                "metrics":
                    "\(server.router.routes.contains { $0.name == "metrics" } ? "/metrics" : "off (metrics.port)")",
            ])
    }
}

extension HTTPServerConfiguration {
    /// Takes the limits `http` sets (`http.max_header_bytes`, `http.max_body_bytes`,
    /// `http.idle_timeout`, `http.header_timeout`); the others keep their defaults.
    mutating func apply(_ http: HTTPSettings) {
        if let bytes = http.maxHeaderBytes { limits.maxHeaderBytes = bytes }
        if let bytes = http.maxBodyBytes {
            limits.maxBodyLength = Int64(bytes)
            // A body a handler collects in memory stays within both bounds.
            maxCollectedBody = min(maxCollectedBody, bytes)
        }
        if let seconds = http.idleTimeout { idleTimeout = .seconds(seconds) }
        if let seconds = http.headerTimeout { headerTimeout = .seconds(seconds) }
    }
}

// SPDX-License-Identifier: Apache-2.0
import Archive
import DaemonSettings
import Logging
import QRServer
import Reactor
import WebServer

/// The HTTP listener (DICOMweb, /metrics) beside the DICOM one, on the same loop.
extension Daemon {
    /// The web server for `settings`, routes installed (/metrics when `metrics` is given), not
    /// started; nil when `http.port` is unset and no `http` socket was passed.
    static func makeHTTPServer(
        settings: DaemonSettings, activatedSocket: Int32?, loop: EventLoop, logger: Logger,
        store: SQLiteIndexStore, workers: WorkerPool, dicom: DICOMServer?, metrics: MetricsSources?
    ) -> HTTPServer? {
        guard settings.http.port != nil || activatedSocket != nil else { return nil }
        let configuration = HTTPServerConfiguration(
            port: settings.http.port ?? 0,
            bindAddress: settings.http.bindAddress ?? settings.bindAddress,
            corsOrigins: settings.http.corsOrigins
        )
        let server = HTTPServer(configuration: configuration, loop: loop, logger: logger)
        DICOMWebRoutes.install(on: server, store: store, workers: workers, dicom: dicom)
        if let metrics { DICOMWebRoutes.installMetrics(on: server, as: "http", sources: metrics) }
        return server
    }

    /// Starts `server` on the passed socket or the configured address.
    static func startHTTP(_ server: HTTPServer, activatedSocket: Int32?, logger: Logger) throws {
        if let activatedSocket {
            try server.start(listeningOn: activatedSocket)
            logger.info("serving HTTP on the socket passed by systemd", metadata: ["fd": "\(activatedSocket)"])
        } else {
            try server.start()
        }
        logger.notice(
            "HTTP listening",
            metadata: [
                "http_port": "\(server.localPort)", "dicomweb": "\(DICOMWebRoutes.base)",
                "metrics":
                    "\(server.router.routes.contains { $0.name == "metrics" } ? "/metrics" : "off (metrics.port)")",
            ])
    }
}

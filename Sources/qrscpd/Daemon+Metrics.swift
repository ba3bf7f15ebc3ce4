// SPDX-License-Identifier: Apache-2.0
import Archive
import DaemonSettings
import Logging
import QRServer
import Reactor
import TLS
import WebServer

/// /metrics: what it reports, and the admin listener that serves it alone (`metrics.port`, or a
/// socket named `metrics`), in which case the DICOMweb listener does not serve it.
extension Daemon {
    /// Starts the DICOMweb listener and the metrics admin listener, those configured; /metrics
    /// is served by the admin listener when there is one, otherwise by the DICOMweb listener.
    static func startWebListeners(
        settings: DaemonSettings, activated: (http: Int32?, metrics: Int32?), loop: EventLoop, logger: Logger,
        store: SQLiteIndexStore, workers: WorkerPool, dicom: DICOMServer, lastScan: ScanMetrics?,
        tlsContext: TLSContext?
    ) throws -> (http: HTTPServer?, metrics: HTTPServer?) {
        let metrics = metricsSources(store: store, workers: workers, dicom: dicom, lastScan: lastScan)
        let ownListener = hasMetricsListener(settings, activatedSocket: activated.metrics)
        let web = makeHTTPServer(
            settings: settings, activatedSocket: activated.http, loop: loop, logger: logger, store: store,
            workers: workers, dicom: dicom, metrics: ownListener ? nil : metrics, tlsContext: tlsContext)
        if let web { try startHTTP(web, activatedSocket: activated.http, logger: logger) }
        let admin = try startMetricsListener(
            settings: settings, activatedSocket: activated.metrics, loop: loop, logger: logger, sources: metrics,
            web: web)
        return (web, admin)
    }

    /// What /metrics reports; index totals are read on a worker at each scrape.
    static func metricsSources(
        store: SQLiteIndexStore, workers: WorkerPool, dicom: DICOMServer?, lastScan: ScanMetrics?
    ) -> MetricsSources {
        MetricsSources(
            dicom: dicom, workers: workers, indexTotals: { [store] in try store.totals() },
            lastScan: lastScan)
    }

    /// Whether /metrics has a listener of its own.
    static func hasMetricsListener(_ settings: DaemonSettings, activatedSocket: Int32?) -> Bool {
        settings.metrics.hasOwnListener || activatedSocket != nil
    }

    /// Starts the admin listener serving only /metrics (reporting `web`'s traffic too); nil when
    /// it is not configured.
    static func startMetricsListener(
        settings: DaemonSettings, activatedSocket: Int32?, loop: EventLoop, logger: Logger,
        sources: MetricsSources, web: HTTPServer?
    ) throws -> HTTPServer? {
        guard hasMetricsListener(settings, activatedSocket: activatedSocket) else { return nil }
        let configuration = HTTPServerConfiguration(
            port: settings.metrics.port ?? 0, bindAddress: settings.metrics.bindAddress, maxConnections: 16)
        let server = HTTPServer(configuration: configuration, loop: loop, logger: logger)
        DICOMWebRoutes.installMetrics(
            on: server, as: "metrics", sources: sources,
            others: web.map { [MetricsListener(name: "http", server: $0)] } ?? [])
        try ActivatedListeners.start(
            activatedSocket, logging: "serving /metrics on the socket passed by systemd", logger: logger,
            listeningOn: server.start(listeningOn:), otherwise: { try server.start() })
        logger.notice(
            "metrics listening",
            metadata: [
                "metrics_port": "\(server.localPort)",
                "bind": "\(activatedSocket == nil ? settings.metrics.bindAddress : "passed by systemd")",
            ])
        return server
    }

    /// A reload keeps the running `metrics:` settings (the listener is bound once).
    static func keepMetricsSettings(
        running: MetricsSettings, reloaded: MetricsSettings, logger: Logger
    ) -> MetricsSettings {
        if reloaded != running {
            logger.warning("metrics.* settings change only on restart; keeping the running values")
        }
        return running
    }
}

// SPDX-License-Identifier: Apache-2.0
import Archive
import QRServer
import Reactor

/// The routes the daemon serves. Each is one line: method, path pattern, a fixed name (the
/// metrics label and log field), and the handler.
public enum DICOMWebRoutes {
    /// The DICOMweb base path: the URL to give a viewer is `http://host:port/dicom-web`.
    public static let base = "/dicom-web"

    /// Adds the QIDO-RS searches and the WADO services (/metrics: ``installMetrics(on:as:sources:others:)``).
    public static func install(
        on server: HTTPServer, store: any IndexStore, workers: WorkerPool, dicom: DICOMServer?
    ) {
        let loop = server.loop
        func qido(_ level: QueryLevel) -> QIDOHandler {
            QIDOHandler(level: level, store: store, workers: workers, loop: loop)
        }
        server.add("GET", "\(base)/studies", name: "qido_studies", qido(.study))
        server.add("GET", "\(base)/studies/{study}/series", name: "qido_study_series", qido(.series))
        server.add(
            "GET", "\(base)/studies/{study}/series/{series}/instances", name: "qido_series_instances", qido(.image))
        server.add("GET", "\(base)/studies/{study}/instances", name: "qido_study_instances", qido(.image))
        server.add("GET", "\(base)/series", name: "qido_series", qido(.series))
        server.add("GET", "\(base)/instances", name: "qido_instances", qido(.image))
        installWADO(on: server, store: store, workers: workers, dicom: dicom)
    }

    /// Adds /metrics to `server`: on the DICOMweb listener, or alone on the admin listener.
    /// `listener` labels `server`'s own traffic; `others` are the other listeners reported.
    public static func installMetrics(
        on server: HTTPServer, as listener: String, sources: MetricsSources, others: [MetricsListener] = []
    ) {
        let listeners = [MetricsListener(name: listener, server: server)] + others
        server.add(
            "GET", "/metrics", name: "metrics",
            MetricsHandler(sources: sources, listeners: listeners, loop: server.loop))
    }
}

// SPDX-License-Identifier: Apache-2.0
import PrometheusText
import QRServer
import Reactor

/// `/metrics` in the Prometheus text format 0.0.4 (PrometheusText's writer: counters are plain
/// integers on the reactor thread, so counting allocates nothing; the text is made only when
/// scraped). Index counts are read on a worker; everything else on the loop.
///
/// Base units (seconds, bytes), `_total` counters, bounded labels (command, status class,
/// route name, HTTP status, listener).
public struct MetricsHandler: HTTPHandler {
    /// Index counts: patients, studies, series, instances (blocking; runs on a worker).
    public typealias IndexCounts = @Sendable () throws -> (patients: Int, studies: Int, series: Int, instances: Int)

    let dicom: DICOMServer?
    unowned let http: HTTPServer
    let workers: WorkerPool
    let indexCounts: IndexCounts?

    public init(dicom: DICOMServer?, http: HTTPServer, workers: WorkerPool, indexCounts: IndexCounts?) {
        self.dicom = dicom
        self.http = http
        self.workers = workers
        self.indexCounts = indexCounts
    }

    public func handle(_ request: HTTPRequest, _ response: HTTPResponse) {
        guard let indexCounts else {
            response.send(status: 200, contentType: PrometheusTextWriter.contentType, body: render(counts: nil))
            return
        }
        workers.run({ try indexCounts() }, on: http.loop) { [self] result in
            guard !response.isAborted else { return }
            response.send(
                status: 200, contentType: PrometheusTextWriter.contentType, body: render(counts: try? result.get()))
        }
    }

    typealias Label = PrometheusTextWriter.Label

    private func render(counts: (patients: Int, studies: Int, series: Int, instances: Int)?) -> [UInt8] {
        var w = PrometheusTextWriter(capacity: 16 * 1024)
        if let dicom { renderDICOM(dicom, into: &w) }
        renderHTTP(into: &w)
        if let counts {
            w.gauge(
                "qrscpd_index_entities", help: "Entities in the archive index, by level.",
                samples: [
                    ([("level", "patient")], Double(counts.patients)), ([("level", "study")], Double(counts.studies)),
                    ([("level", "series")], Double(counts.series)), ([("level", "instance")], Double(counts.instances)),
                ])
        }
        w.gauge(
            "qrscpd_worker_queue_depth", help: "Jobs waiting for a worker thread.",
            samples: [([], Double(workers.queuedJobs))])
        return w.bytes
    }

    private func renderDICOM(_ dicom: DICOMServer, into w: inout PrometheusTextWriter) {
        let s = dicom.statistics
        w.gauge(
            "qrscpd_associations_active", help: "DICOM associations established and not yet ended.",
            samples: [([], Double(dicom.activeAssociationCount))])
        w.counter(
            "qrscpd_associations", help: "DICOM associations by outcome (aborted ones were accepted first).",
            samples: [
                ([("result", "accepted")], UInt64(s.associationsAccepted)),
                ([("result", "rejected")], UInt64(s.associationsRejected)),
                ([("result", "aborted")], UInt64(s.associationsAborted)),
            ])
        w.counter(
            "qrscpd_tls_handshakes", help: "TLS handshakes by listener (DICOM over TLS, HTTPS) and result.",
            samples: [
                ([("listener", "dicom"), ("result", "completed")], UInt64(s.tlsHandshakes)),
                ([("listener", "dicom"), ("result", "failed")], UInt64(s.tlsHandshakeFailures)),
                ([("listener", "http"), ("result", "completed")], http.metrics.tlsHandshakes),
                ([("listener", "http"), ("result", "failed")], http.metrics.tlsHandshakeFailures),
            ])
        let m = dicom.metrics
        var operations: [(labels: [Label], value: UInt64)] = []
        for (c, command) in DIMSEMetrics.commands.enumerated() {
            for (k, status) in DIMSEMetrics.statusClasses.enumerated() {
                operations.append(([("command", command), ("status", status)], m.count(command: c, statusClass: k)))
            }
        }
        w.counter(
            "qrscpd_dimse_operations", help: "DIMSE operations answered, by command and final status class.",
            samples: operations)
        w.histogram(
            "qrscpd_dimse_operation_duration_seconds",
            help: "Time from a DIMSE request to its final response, by command.",
            series: DIMSEMetrics.commands.enumerated().map { ([("command", $0.element)], m.durations[$0.offset]) })
        w.histogram(
            "qrscpd_store_commit_duration_seconds",
            help: "C-STORE: from an object's last byte received to its durable, indexed commit.",
            series: [([], m.storeCommits)])
        w.counter(
            "qrscpd_instances_received", help: "Instances stored by C-STORE.", samples: [([], UInt64(s.storesReceived))]
        )
        w.counter(
            "qrscpd_instances_sent", help: "Instances sent by C-GET and C-MOVE.", samples: [([], UInt64(s.imagesSent))])
        let bytes = dicom.bytesTransferred
        let web = http.bytesTransferred
        w.counter(
            "qrscpd_received_bytes", help: "Bytes received, by listener.",
            samples: [
                ([("listener", "dicom")], UInt64(bytes.received)), ([("listener", "http")], web.received),
            ])
        w.counter(
            "qrscpd_sent_bytes", help: "Bytes sent, by listener.",
            samples: [
                ([("listener", "dicom")], UInt64(bytes.sent)), ([("listener", "http")], web.sent),
            ])
    }

    private func renderHTTP(into w: inout PrometheusTextWriter) {
        let m = http.metrics
        w.gauge(
            "qrscpd_http_connections_open", help: "HTTP connections open.",
            samples: [([], Double(http.openConnectionCount))])
        w.counter(
            "qrscpd_http_requests", help: "HTTP requests answered, by route and status code.",
            samples: m.requestCounts.map {
                ([("route", http.routeName($0.route)), ("code", String($0.status))], $0.count)
            })
        w.histogram(
            "qrscpd_http_request_duration_seconds",
            help: "Time from a request's head to the end of its response, by route.",
            series: m.durations.sorted { $0.key < $1.key }.map { ([("route", http.routeName($0.key))], $0.value) })
        w.counter(
            "qrscpd_http_requests_refused",
            help: "HTTP requests refused by a limit or as malformed (400, 408, 413, 414, 431).",
            samples: [([], m.refusedRequests)])
    }
}

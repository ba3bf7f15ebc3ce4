// SPDX-License-Identifier: Apache-2.0
import Archive
import PrometheusText
import QRServer
import Reactor

/// `/metrics` in the Prometheus text format 0.0.4 (PrometheusText's writer: counters are plain
/// integers on the reactor thread, so counting allocates nothing; the text is made only when
/// scraped). Index counts and stored bytes are read on a worker; everything else on the loop.
///
/// Base units (seconds, bytes), `_total` counters, bounded labels (command, status class,
/// route name, HTTP status, listener, level, outcome).
public struct MetricsHandler: HTTPHandler {
    let sources: MetricsSources
    /// The HTTP listeners reported: the one serving this route and, on the admin listener, the
    /// DICOMweb one.
    let listeners: [MetricsListener]
    let loop: EventLoop

    public init(sources: MetricsSources, listeners: [MetricsListener], loop: EventLoop) {
        self.sources = sources
        self.listeners = listeners
        self.loop = loop
    }

    public func handle(_ request: HTTPRequest, _ response: HTTPResponse) {
        guard let indexTotals = sources.indexTotals else {
            response.send(status: 200, contentType: PrometheusTextWriter.contentType, body: render(totals: nil))
            return
        }
        sources.workers.run({ try indexTotals() }, on: loop) { [self] result in
            guard !response.isAborted else { return }
            response.send(
                status: 200, contentType: PrometheusTextWriter.contentType, body: render(totals: try? result.get()))
        }
    }

    typealias Label = PrometheusTextWriter.Label

    private func render(totals: IndexTotals?) -> [UInt8] {
        var w = PrometheusTextWriter(capacity: 16 * 1024)
        if let dicom = sources.dicom { renderDICOM(dicom, into: &w) }
        renderTLSHandshakes(into: &w)
        renderBytes(into: &w)
        renderHTTP(into: &w)
        renderDICOMWeb(into: &w)
        if let totals { renderIndex(totals, into: &w) }
        if let scan = sources.lastScan { renderScan(scan, into: &w) }
        w.gauge(
            "qrscpd_worker_queue_depth", help: "Jobs waiting for a worker thread.",
            samples: [([], Double(sources.workers.queuedJobs))])
        return w.bytes
    }

    private func renderIndex(_ t: IndexTotals, into w: inout PrometheusTextWriter) {
        w.gauge(
            "qrscpd_index_entities", help: "Entities in the archive index, by level.",
            samples: [
                ([("level", "patient")], Double(t.patients)), ([("level", "study")], Double(t.studies)),
                ([("level", "series")], Double(t.series)), ([("level", "instance")], Double(t.instances)),
            ])
        w.gauge(
            "qrscpd_index_stored_bytes",
            help: "Bytes of the indexed instance files (their sizes as recorded when indexed).",
            samples: [([], Double(t.storedBytes))])
    }

    private func renderScan(_ scan: ScanMetrics, into w: inout PrometheusTextWriter) {
        w.gauge(
            "qrscpd_scan_duration_seconds", help: "Wall-clock time of the last storage directory scan.",
            samples: [([], scan.duration)])
        w.gauge(
            "qrscpd_scan_files", help: "Files the last storage directory scan found, by outcome.",
            samples: [
                ([("outcome", "indexed")], Double(scan.filesIndexed)),
                ([("outcome", "unchanged")], Double(scan.filesUnchanged)),
                ([("outcome", "skipped")], Double(scan.filesSkipped)),
            ])
        w.gauge(
            "qrscpd_scan_removed_instances",
            help: "Instances the last storage directory scan removed from the index (their file was gone).",
            samples: [([], Double(scan.instancesRemoved))])
    }

    /// Handshakes of the DICOM-over-TLS listener and of each HTTP listener (HTTPS when `http.tls`).
    private func renderTLSHandshakes(into w: inout PrometheusTextWriter) {
        var samples: [(labels: [Label], value: UInt64)] = []
        if let s = sources.dicom?.statistics {
            samples.append(([("listener", "dicom"), ("result", "completed")], UInt64(s.tlsHandshakes)))
            samples.append(([("listener", "dicom"), ("result", "failed")], UInt64(s.tlsHandshakeFailures)))
        }
        for listener in listeners {
            guard let server = listener.server else { continue }
            samples.append(([("listener", listener.name), ("result", "completed")], server.metrics.tlsHandshakes))
            samples.append(([("listener", listener.name), ("result", "failed")], server.metrics.tlsHandshakeFailures))
        }
        w.counter(
            "qrscpd_tls_handshakes", help: "TLS handshakes by listener (DICOM over TLS, HTTPS) and result.",
            samples: samples)
    }

    private func renderBytes(into w: inout PrometheusTextWriter) {
        var received: [(labels: [Label], value: UInt64)] = []
        var sent: [(labels: [Label], value: UInt64)] = []
        if let dicom = sources.dicom {
            let bytes = dicom.bytesTransferred
            received.append(([("listener", "dicom")], UInt64(bytes.received)))
            sent.append(([("listener", "dicom")], UInt64(bytes.sent)))
        }
        for listener in listeners {
            guard let server = listener.server else { continue }
            let bytes = server.bytesTransferred
            received.append(([("listener", listener.name)], bytes.received))
            sent.append(([("listener", listener.name)], bytes.sent))
        }
        w.counter("qrscpd_received_bytes", help: "Bytes received, by listener.", samples: received)
        w.counter("qrscpd_sent_bytes", help: "Bytes sent, by listener.", samples: sent)
    }

    /// Requests, durations and refusals of every listener, summed by route name (the admin
    /// listener's routes are "metrics" and "none", served by the DICOMweb listener only when
    /// there is no admin listener).
    private func renderHTTP(into w: inout PrometheusTextWriter) {
        var open = 0
        var requests: [String: [Int: UInt64]] = [:]
        var durations: [String: PrometheusHistogram] = [:]
        var refused: UInt64 = 0
        for listener in listeners {
            guard let server = listener.server else { continue }
            open += server.openConnectionCount
            for r in server.metrics.requestCounts {
                requests[server.routeName(r.route), default: [:]][r.status, default: 0] += r.count
            }
            for (route, histogram) in server.metrics.durations {
                let name = server.routeName(route)
                if durations[name] == nil { durations[name] = histogram } else { durations[name]!.add(histogram) }
            }
            refused += server.metrics.refusedRequests
        }
        w.gauge("qrscpd_http_connections_open", help: "HTTP connections open.", samples: [([], Double(open))])
        w.counter(
            "qrscpd_http_requests", help: "HTTP requests answered, by route and status code.",
            samples: requests.sorted { $0.key < $1.key }.flatMap { route, byStatus in
                byStatus.sorted { $0.key < $1.key }.map { ([("route", route), ("code", String($0.key))], $0.value) }
            })
        w.histogram(
            "qrscpd_http_request_duration_seconds",
            help: "Time from a request's head to the end of its response, by route.",
            series: durations.sorted { $0.key < $1.key }.map { ([("route", $0.key)], $0.value) })
        w.counter(
            "qrscpd_http_requests_refused",
            help: "HTTP requests refused by a limit or as malformed (400, 408, 413, 414, 431).",
            samples: [([], refused)])
    }
}

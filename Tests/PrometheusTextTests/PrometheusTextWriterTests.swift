// SPDX-License-Identifier: Apache-2.0
import Foundation
import PrometheusText
import TestSupport
import Testing

/// Parses `text` with prometheus-client's text parser and returns what it found as JSON:
/// [{"name", "type", "help", "samples": [[name, labels, value]]}]; nil (a failure under CI)
/// when prometheus-client is missing.
private func parsedByPrometheusClient(_ text: [UInt8]) throws -> [[String: Any]]? {
    let script = """
        import json, sys
        try:
            from prometheus_client.parser import text_string_to_metric_families
        except ImportError:
            sys.exit(3)
        out = []
        for f in text_string_to_metric_families(sys.stdin.read()):
            out.append({"name": f.name, "type": f.type, "help": f.documentation,
                        "samples": [[s.name, s.labels, s.value] for s in f.samples]})
        print(json.dumps(out))
        """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script]
    let input = Pipe()
    let output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    try p.run()
    input.fileHandleForWriting.write(Data(text))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if p.terminationStatus == 3 {
        if InteropPolicy.isCI {
            Issue.record("required Python module prometheus_client is not installed (run scripts/setup --test)")
        }
        return nil
    }
    #expect(p.terminationStatus == 0, "prometheus-client rejected the text")
    return try JSONSerialization.jsonObject(with: data) as? [[String: Any]]
}

@Suite("Prometheus text format writer")
struct PrometheusTextWriterTests {
    func sampleText() -> [UInt8] {
        var w = PrometheusTextWriter()
        w.counter(
            "qrscpd_associations", help: "Associations by result.\nSecond line \\ backslash",
            samples: [([("result", "accepted")], 3), ([("result", "rejected \"odd\"\\\nname")], 1)])
        w.gauge("qrscpd_index_studies", help: "Studies in the index.", samples: [([], 5000)])
        w.gauge("qrscpd_worker_queue_depth", help: "Jobs waiting.", samples: [([("queue", "0")], 0.5)])
        var h = PrometheusHistogram(upperBounds: [0.001, 0.01, 0.1, 1])
        for v in [0.0009765625, 0.00390625, 0.0078125, 0.0625, 0.5, 7] { h.observe(v) }  // exact in binary
        w.histogram(
            "qrscpd_dimse_duration_seconds", help: "DIMSE operation duration.",
            series: [([("command", "C-FIND")], h), ([("command", "C-GET")], PrometheusHistogram(upperBounds: [1]))])
        return w.bytes
    }

    @Test("byte exact: HELP/TYPE lines, _total, escaping, cumulative buckets, +Inf, _sum, _count")
    func exact() {
        let text = String(decoding: sampleText(), as: UTF8.self)
        #expect(
            text == """
                # HELP qrscpd_associations_total Associations by result.\\nSecond line \\\\ backslash
                # TYPE qrscpd_associations_total counter
                qrscpd_associations_total{result="accepted"} 3
                qrscpd_associations_total{result="rejected \\"odd\\"\\\\\\nname"} 1
                # HELP qrscpd_index_studies Studies in the index.
                # TYPE qrscpd_index_studies gauge
                qrscpd_index_studies 5000
                # HELP qrscpd_worker_queue_depth Jobs waiting.
                # TYPE qrscpd_worker_queue_depth gauge
                qrscpd_worker_queue_depth{queue="0"} 0.5
                # HELP qrscpd_dimse_duration_seconds DIMSE operation duration.
                # TYPE qrscpd_dimse_duration_seconds histogram
                qrscpd_dimse_duration_seconds_bucket{command="C-FIND",le="0.001"} 1
                qrscpd_dimse_duration_seconds_bucket{command="C-FIND",le="0.01"} 3
                qrscpd_dimse_duration_seconds_bucket{command="C-FIND",le="0.1"} 4
                qrscpd_dimse_duration_seconds_bucket{command="C-FIND",le="1"} 5
                qrscpd_dimse_duration_seconds_bucket{command="C-FIND",le="+Inf"} 6
                qrscpd_dimse_duration_seconds_sum{command="C-FIND"} 7.5751953125
                qrscpd_dimse_duration_seconds_count{command="C-FIND"} 6
                qrscpd_dimse_duration_seconds_bucket{command="C-GET",le="1"} 0
                qrscpd_dimse_duration_seconds_bucket{command="C-GET",le="+Inf"} 0
                qrscpd_dimse_duration_seconds_sum{command="C-GET"} 0
                qrscpd_dimse_duration_seconds_count{command="C-GET"} 0

                """)
    }

    @Test("adding a histogram adds its buckets, sum and count")
    func histogramAdd() {
        var a = PrometheusHistogram(upperBounds: [0.1, 1])
        var b = PrometheusHistogram(upperBounds: [0.1, 1])
        a.observe(0.05)
        a.observe(5)
        b.observe(0.5)
        b.observe(0.01)
        a.add(b)
        #expect(a.bucketCounts == [2, 1] && a.count == 4 && abs(a.sum - 5.56) < 1e-9)
    }

    @Test("prometheus-client's parser reads back every family, label value and sample")
    func parsedByClient() throws {
        guard let families = try parsedByPrometheusClient(sampleText()) else { return }
        #expect(
            families.map { $0["name"] as? String } == [
                "qrscpd_associations", "qrscpd_index_studies",
                "qrscpd_worker_queue_depth", "qrscpd_dimse_duration_seconds",
            ])
        #expect(families.map { $0["type"] as? String } == ["counter", "gauge", "gauge", "histogram"])
        #expect(families[0]["help"] as? String == "Associations by result.\nSecond line \\ backslash")
        let counter = try #require(families[0]["samples"] as? [[Any]])
        #expect(counter.count == 2)
        #expect(counter[1][0] as? String == "qrscpd_associations_total")
        #expect(counter[1][1] as? [String: String] == ["result": "rejected \"odd\"\\\nname"])
        #expect(counter[1][2] as? Double == 1)
        let histogram = try #require(families[3]["samples"] as? [[Any]])
        let find = histogram.filter { ($0[1] as? [String: String])?["command"] == "C-FIND" }
        #expect(
            find.map { $0[0] as? String } == Array(repeating: "qrscpd_dimse_duration_seconds_bucket", count: 5)
                + ["qrscpd_dimse_duration_seconds_sum", "qrscpd_dimse_duration_seconds_count"])
        #expect(find.map { $0[2] as? Double } == [1, 3, 4, 5, 6, 7.5751953125, 6])
        #expect(find.prefix(5).map { ($0[1] as? [String: String])?["le"] } == ["0.001", "0.01", "0.1", "1", "+Inf"])
    }
}

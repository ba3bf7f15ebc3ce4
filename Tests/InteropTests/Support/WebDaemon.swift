// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// The daemon with its HTTP listener on (`--http-port`, CORS for one origin from a config
/// file), optionally on the fixture archive and with the metrics admin listener
/// (`--metrics-port`), once the index holds `expectedInstances`.
final class WebDaemon {
    static let allowedOrigin = "http://viewer.example"

    let daemon: DaemonProcess
    let httpPort: Int
    /// The admin listener's port (serving only /metrics), when asked for.
    let metricsPort: Int?
    let config: URL

    /// Whether the web interop tests can run: curl and the Python clients, or CI (where a
    /// missing tool fails the test instead).
    static var enabled: Bool {
        InteropPolicy.isCI
            || (ExternalTool.interopEnabled && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")
                && ExternalTool.pythonHas("dicomweb_client") && ExternalTool.pythonHas("prometheus_client"))
    }

    init(
        storageDirectory: URL? = nil, expectedInstances: Int = 0, extraConfig: String = "",
        metricsListener: Bool = false
    ) throws {
        if InteropPolicy.isCI {
            _ = ExternalTool.require("/usr/bin/curl")
            _ = ExternalTool.require("/usr/bin/findscu")
            // Every web suite drives these modules: a missing one fails here, by name.
            let missing = ["dicomweb_client", "prometheus_client"].filter { !ExternalTool.requirePython($0) }
            if !missing.isEmpty { throw DaemonError("missing Python modules: \(missing.joined(separator: ", "))") }
        }
        config = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-web-\(UUID().uuidString).yaml")
        try "http:\n  cors_origins: [\"\(Self.allowedOrigin)\"]\n\(extraConfig)".write(
            to: config, atomically: true, encoding: .utf8)
        var lastError: Error = DaemonError("no attempt made")
        var started: (DaemonProcess, Int, Int?)?
        for _ in 0..<3 where started == nil {
            let port = try freeLoopbackPort()
            let metricsPort = metricsListener ? try freeLoopbackPort() : nil
            do {
                let daemon = try DaemonProcess(
                    arguments: ["--http-port", "\(port)", "--config", config.path]
                        + (metricsPort.map { ["--metrics-port", "\($0)"] } ?? []),
                    storageDirectory: storageDirectory)
                if Self.waitForMetrics(port: metricsPort ?? port, instances: expectedInstances) {
                    started = (daemon, port, metricsPort)
                } else {
                    lastError = DaemonError("HTTP listener not ready on \(port):\n\(daemon.log.suffix(3000))")
                }
            } catch {
                lastError = error
            }
        }
        guard let started else {
            try? FileManager.default.removeItem(at: config)
            throw lastError
        }
        (daemon, httpPort, metricsPort) = started
    }

    deinit {
        daemon.stop()
        try? FileManager.default.removeItem(at: config)
    }

    var base: String { "http://127.0.0.1:\(httpPort)" }
    var dicomWeb: String { "\(base)/dicom-web" }
    /// Where /metrics is served: the admin listener when there is one.
    var metricsBase: String { metricsPort.map { "http://127.0.0.1:\($0)" } ?? base }

    /// Polls /metrics on `port` (bounded) until it answers and the index holds `instances`.
    static func waitForMetrics(port: Int, instances: Int, timeout: TimeInterval = 90) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let r = ExternalTool.run(
                "/usr/bin/curl", ["-s", "-m", "5", "http://127.0.0.1:\(port)/metrics"], timeout: 10)
            if r.succeeded, r.stdout.contains("qrscpd_index_entities{level=\"instance\"} \(instances)\n") {
                return true
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return false
    }

    /// curl with a time limit; `-s` and the URL added.
    func curl(_ arguments: [String], path: String) -> ToolResult {
        ExternalTool.run("/usr/bin/curl", ["-s", "-m", "20"] + arguments + ["\(base)\(path)"], timeout: 30)
    }

    /// A QIDO search with dicomweb-client (Peers/dicomweb_search.py).
    func search(_ arguments: [String]) -> (ToolResult, [String: Any]?) {
        let (result, json) = ExternalTool.pythonPeer("dicomweb_search.py", [dicomWeb] + arguments)
        return (result, json as? [String: Any])
    }

    /// /metrics parsed by prometheus_client (Peers/metrics_scrape.py), from the admin listener
    /// when there is one.
    func scrape() throws -> MetricsSnapshot { try Self.scrape("\(metricsBase)/metrics") }

    /// `url` parsed by prometheus_client (Peers/metrics_scrape.py).
    static func scrape(_ url: String) throws -> MetricsSnapshot {
        let (result, json) = ExternalTool.pythonPeer("metrics_scrape.py", [url])
        guard let object = json as? [String: Any], let samples = object["samples"] as? [[Any]] else {
            throw DaemonError("metrics scrape failed: \(result.transcript)")
        }
        return MetricsSnapshot(
            samples: samples, types: object["types"] as? [String: String] ?? [:],
            contentType: object["content_type"] as? String ?? "")
    }
}

/// One scrape: sample values by name and labels.
struct MetricsSnapshot {
    var samples: [[Any]]
    var types: [String: String]
    var contentType: String

    /// The value of sample `name` with exactly `labels`, nil when absent.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        for s in samples where s.count == 3 {
            guard s[0] as? String == name, let l = s[1] as? [String: String], l == labels else { continue }
            return (s[2] as? NSNumber)?.doubleValue
        }
        return nil
    }
}

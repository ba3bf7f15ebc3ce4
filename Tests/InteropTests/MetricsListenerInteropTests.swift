// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// The metrics admin listener (`--metrics-port`): /metrics there, parsed by prometheus_client,
/// and no longer on the public HTTP port; also without any HTTP port.
@Suite(
    "/metrics on the admin listener (curl, prometheus_client)", .serialized, .enabled(if: WebDaemon.enabled),
    .timeLimit(.minutes(5)))
struct MetricsListenerInteropTests {
    @Test("the admin listener serves only /metrics; the DICOMweb port answers 404 for it")
    func adminListenerOnly() throws {
        let web = try WebDaemon(metricsListener: true)
        let admin = try #require(web.metricsPort)
        let publicMetrics = web.curl(["-o", "/dev/null", "-w", "%{http_code}"], path: "/metrics")
        #expect(publicMetrics.stdout == "404", "\(publicMetrics.transcript)")
        let search = web.curl(["-o", "/dev/null", "-w", "%{http_code}"], path: "/dicom-web/studies")
        #expect(search.stdout == "204", "DICOMweb stays on the public port: \(search.transcript)")
        let notHere = ExternalTool.run(
            "/usr/bin/curl",
            ["-s", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(admin)/dicom-web/studies"],
            timeout: 30)
        #expect(notHere.stdout == "404", "the admin listener serves nothing else: \(notHere.transcript)")

        let scrape = try web.scrape()
        #expect(scrape.contentType.hasPrefix("text/plain; version=0.0.4"))
        #expect(scrape.types["qrscpd_dimse_operations"] == "counter")
        #expect(scrape.types["qrscpd_index_stored_bytes"] == "gauge")
        #expect(scrape.value("qrscpd_index_entities", ["level": "instance"]) == 0)
        #expect(scrape.value("qrscpd_index_stored_bytes") == 0)
        // Both listeners' requests are counted: the public 404 and search, and this scrape.
        #expect(scrape.value("qrscpd_http_requests_total", ["route": "qido_studies", "code": "204"]) == 1)
        #expect(scrape.value("qrscpd_http_requests_total", ["route": "none", "code": "404"]) == 2)
        #expect(scrape.value("qrscpd_http_requests_total", ["route": "metrics", "code": "200"]) ?? 0 >= 1)
        #expect(scrape.value("qrscpd_received_bytes_total", ["listener": "http"]) ?? 0 > 0)
        #expect(scrape.value("qrscpd_received_bytes_total", ["listener": "metrics"]) ?? 0 > 0)
        #expect(web.daemon.log.contains("metrics listening"), "\(web.daemon.log.suffix(2000))")
    }

    @Test("with --metrics-port and no HTTP port, /metrics is served alone")
    func withoutHTTPPort() throws {
        let port = try freeLoopbackPort()
        let daemon = try DaemonProcess(arguments: ["--metrics-port", "\(port)"])
        defer { _ = daemon.stop() }
        #expect(
            WebDaemon.waitForMetrics(port: port, instances: 0), "metrics listener not ready: \(daemon.log.suffix(3000))"
        )
        #expect(daemon.echoWithDCMTK().succeeded)
        let scrape = try WebDaemon.scrape("http://127.0.0.1:\(port)/metrics")
        #expect(scrape.value("qrscpd_dimse_operations_total", ["command": "C-ECHO", "status": "success"]) == 1)
        #expect(scrape.value("qrscpd_scan_files", ["outcome": "indexed"]) == 0)
        #expect(scrape.value("qrscpd_sent_bytes_total", ["listener": "http"]) == nil, "no DICOMweb listener")
        #expect(!daemon.log.contains("HTTP listening"), "\(daemon.log.suffix(2000))")
    }

    @Test("socket activation: the socket named metrics serves /metrics alone, the one named http does not")
    func socketActivation() throws {
        let activate = "/usr/bin/systemd-socket-activate"
        guard ExternalTool.require(activate) else { return }
        let scratch = try LifecycleScratch()
        let ports = try (0..<3).map { _ in try freeLoopbackPort() }
        let daemon = try LaunchedDaemon(
            executable: activate,
            arguments: ports.flatMap { ["-l", "127.0.0.1:\($0)"] } + [
                "--fdname=dicom:http:metrics", PackagePaths.daemonBinary, "1", "QRSCPD", "--storage-dir",
                scratch.path + "/storage",
            ],
            environment: [:], scratch: scratch)
        defer { daemon.kill() }
        // systemd-socket-activate binds first and execs qrscpd on the first connection.
        let connected = daemon.firstConnection { try RawHTTPConnection(port: ports[2], timeout: 30) }
        let metrics = try #require(connected, "systemd-socket-activate did not listen\n\(daemon.output)")
        try metrics.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(metrics.readResponse()?.status == 200, "\(daemon.output)")
        let http = try RawHTTPConnection(port: ports[1], timeout: 30)
        try http.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(http.readResponse()?.status == 404, "\(daemon.output)")
        #expect(daemon.stderr.contains("serving /metrics on the socket passed by systemd"), "\(daemon.output)")
        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
    }
}

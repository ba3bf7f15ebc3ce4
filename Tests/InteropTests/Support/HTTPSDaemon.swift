// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport

/// qrscpd serving HTTPS on its HTTP port (`--http-tls`) with the test server certificate, copied
/// into a directory of its own so that a test may replace it and reload, optionally on the
/// fixture archive once the index holds `expectedInstances`. Clients trust the test CA.
final class HTTPSDaemon: LogWatching {
    let daemon: DaemonProcess
    let httpPort: Int
    let certificates: TestCertificates
    /// The daemon's certificate and key files (copies a test may overwrite).
    let certificatePath: String
    let keyPath: String
    private let directory: URL

    /// - Parameter httpConfig: lines added under `http:` in the config file (two-space indent).
    init(storageDirectory: URL? = nil, expectedInstances: Int = 0, httpConfig: String = "") throws {
        let copy = try ServerCertificateCopy(prefix: "qrscpd-https")
        (certificates, certificatePath, keyPath) = (copy.certificates, copy.certificatePath, copy.keyPath)
        let directory = copy.directory
        self.directory = directory
        var ready = false
        defer { if !ready { try? FileManager.default.removeItem(at: directory) } }
        let config = directory.appendingPathComponent("qrscpd.yaml").path
        try "http:\n  tls: true\n\(httpConfig)".write(toFile: config, atomically: true, encoding: .utf8)
        var lastError: Error = DaemonError("no attempt made")
        var started: (DaemonProcess, Int)?
        for _ in 0..<3 where started == nil {
            let port = try freeLoopbackPort()
            do {
                let daemon = try DaemonProcess(
                    arguments: [
                        "--bind", "127.0.0.1", "--http-port", "\(port)", "--tls-certificate", certificatePath,
                        "--tls-key", keyPath, "--tls-ca", certificates.ca, "--config", config,
                    ], storageDirectory: storageDirectory)
                if Self.waitForHTTPS(port: port, certificates: certificates, instances: expectedInstances) {
                    started = (daemon, port)
                } else {
                    lastError = DaemonError("HTTPS listener not ready on \(port):\n\(daemon.log.suffix(3000))")
                }
            } catch {
                lastError = error
            }
        }
        guard let started else { throw lastError }
        (daemon, httpPort) = started
        ready = true
    }

    deinit {
        daemon.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    var base: String { "https://127.0.0.1:\(httpPort)" }
    var dicomWeb: String { "\(base)/dicom-web" }
    var log: String { daemon.log }

    /// Polls /metrics over HTTPS (bounded) until it answers and the index holds `instances`; with
    /// the test client certificate, which curl sends only when the server asks for one.
    private static func waitForHTTPS(
        port: Int, certificates: TestCertificates, instances: Int, timeout: TimeInterval = 90
    ) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let trust = [
            "--cacert", certificates.ca, "--cert", certificates.clientCertificate, "--key", certificates.clientKey,
        ]
        while Date() < deadline {
            let r = ExternalTool.run(
                "/usr/bin/curl", ["-s", "-m", "5"] + trust + ["https://127.0.0.1:\(port)/metrics"], timeout: 10)
            if r.succeeded, r.stdout.contains("qrscpd_index_entities{level=\"instance\"} \(instances)\n") {
                return true
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return false
    }

    /// curl trusting the test CA, with a time limit; `-s` added, URLs given whole.
    func curl(_ arguments: [String]) -> ToolResult {
        ExternalTool.run("/usr/bin/curl", ["-s", "-m", "20", "--cacert", certificates.ca] + arguments, timeout: 30)
    }

    /// `openssl s_client` to the HTTPS port verifying the certificate as localhost, `input` (if
    /// any) written to it once connected; `extra` adds options.
    func sClient(_ extra: [String], input: String? = nil) -> ToolResult {
        let command =
            ["/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(httpPort)", "-CAfile", certificates.ca]
            + ["-verify_return_error", "-verify_hostname", "localhost"] + extra
        let quoted = command.map { "'\($0)'" }.joined(separator: " ")
        let feed = input.map { "printf '\($0)'" } ?? "true"
        return ExternalTool.run("/bin/sh", ["-c", "\(feed) | \(quoted) 2>&1"], timeout: 30)
    }

    /// The DICOMweb base and the CA file `Peers/https_dicomweb.py` takes first.
    var peerArguments: [String] { [dicomWeb, certificates.ca] }
}

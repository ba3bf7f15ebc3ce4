// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// qrscpd with a TLS listener on a second free loopback port, its certificate and key copied
/// into a directory of its own (so that a test may replace them and reload), trusting the test
/// CA. Stopped and cleaned up when the object goes away.
final class TLSDaemon: LogWatching {
    let daemon: DaemonProcess
    let tlsPort: Int
    let certificates: TestCertificates
    /// The daemon's certificate and key files (copies a test may overwrite).
    let certificatePath: String
    let keyPath: String
    private let directory: URL

    /// - Parameters:
    ///   - clientAuth: `--tls-client-auth`, or nil for the default (required, since a CA is given).
    ///   - config: YAML text for `--config` (the TLS options come from flags either way).
    ///   - arguments: further options.
    ///   - environment: extra environment variables for the daemon.
    ///   - trustAnchors: `--tls-ca`, the test CA's file unless given.
    init(
        clientAuth: String? = nil, config: String? = nil, arguments: [String] = [],
        environment: [String: String] = [:], trustAnchors: String? = nil
    ) throws {
        let copy = try ServerCertificateCopy(prefix: "qrscpd-tls-daemon")
        (certificates, certificatePath, keyPath) = (copy.certificates, copy.certificatePath, copy.keyPath)
        let directory = copy.directory
        self.directory = directory
        var ready = false
        defer { if !ready { try? FileManager.default.removeItem(at: directory) } }
        tlsPort = try freeLoopbackPort()
        var options = [
            "--bind", "127.0.0.1", "--tls-port", "\(tlsPort)", "--tls-certificate", certificatePath,
            "--tls-key", keyPath, "--tls-ca", trustAnchors ?? certificates.ca,
        ]
        if let clientAuth { options += ["--tls-client-auth", clientAuth] }
        if let config {
            let path = directory.appendingPathComponent("qrscpd.yaml").path
            try config.write(toFile: path, atomically: true, encoding: .utf8)
            options += ["--config", path]
        }
        daemon = try DaemonProcess(arguments: options + arguments, environment: environment)
        // "ready" is logged once both listeners are bound; probing the TLS port with a bare
        // connection would count as a failed handshake.
        guard waitForLog("ready") else { throw DaemonError("qrscpd did not log ready:\n\(daemon.log)") }
        ready = true
    }

    deinit {
        daemon.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    var log: String { daemon.log }

    /// Waits until one line of the log contains every string of `parts` (at most `timeout` seconds).
    func waitForLine(containing parts: [String], timeout: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        func found() -> Bool {
            log.split(separator: "\n").contains { line in parts.allSatisfy { line.contains($0) } }
        }
        while Date() < deadline {
            if found() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return found()
    }

    /// `openssl s_client` to the TLS port: handshake, then end of input; `extra` adds protocol
    /// and certificate options. Succeeds when the handshake (and the server's verdict on our
    /// certificate, for TLS 1.2) succeeded.
    func sClient(_ extra: [String]) -> ToolResult {
        ExternalTool.run(
            "/usr/bin/openssl",
            [
                "s_client", "-connect", "127.0.0.1:\(tlsPort)", "-CAfile", certificates.ca, "-verify_return_error",
                "-verify_hostname", "localhost", "-brief",
            ] + extra, timeout: 30)
    }

    /// The JSON spec `tls_peer.py` reads: this daemon, trusting the test CA, presenting the
    /// test client certificate unless `certificate` says otherwise.
    func peerSpec(calling: String = "TLSPEER", certificate: (String, String)? = nil, extra: [String: Any] = [:])
        -> String
    {
        let (cert, key) = certificate ?? certificates.client
        var spec: [String: Any] = [
            "host": "127.0.0.1", "port": tlsPort, "called": daemon.aeTitle, "ca": certificates.ca,
            "cert": cert, "key": key, "calling": calling,
        ]
        spec.merge(extra) { _, new in new }
        let data = (try? JSONSerialization.data(withJSONObject: spec)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

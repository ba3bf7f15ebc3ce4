// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The TLS listener from socket activation alone (qrscpd-tls.socket, `FileDescriptorName=dicom-tls`):
/// the socket takes the place of `tls.port`, certificate and key are all it needs.
@Suite("DICOM over TLS on a socket from systemd", .serialized, .enabled(if: ExternalTool.interopEnabled))
struct TLSSocketActivationTests {
    /// Debian's DCMTK leaves Nagle on unless asked (as ExternalTool.run sets it).
    static let dcmtkEnvironment = ProcessInfo.processInfo.environment.merging(["TCP_NODELAY": "1"]) { _, new in new }

    static let activate = "/usr/bin/systemd-socket-activate"

    /// systemd-socket-activate holding a plain and a `dicom-tls` socket, to exec qrscpd (with
    /// `options` and no `--tls-port`) on the first connection to either.
    static func launch(options: [String], scratch: LifecycleScratch) throws -> (LaunchedDaemon, plain: Int, tls: Int) {
        let plain = try freeLoopbackPort()
        let tls = try freeLoopbackPort()
        let daemon = try LaunchedDaemon(
            executable: activate,
            arguments: [
                "-l", "127.0.0.1:\(plain)", "-l", "127.0.0.1:\(tls)", "--fdname=dicom:dicom-tls",
                PackagePaths.daemonBinary, "1", "QRSCPD", "--storage-dir", scratch.path + "/storage",
            ] + options,
            environment: [:], scratch: scratch)
        // Wait for systemd-socket-activate to listen without connecting (a connection would start qrscpd).
        let listening = "Listening on 127.0.0.1:\(tls) as 4."
        let deadline = Date().addingTimeInterval(20)
        while !daemon.stderr.contains(listening) && Date() < deadline && daemon.isRunning {
            Thread.sleep(forTimeInterval: 0.02)
        }
        guard daemon.stderr.contains(listening) else {
            throw DaemonError("systemd-socket-activate did not listen\n\(daemon.output)")
        }
        return (daemon, plain, tls)
    }

    @Test("certificate and key without tls.port: the first TLS association starts the daemon and is answered")
    func servesTheSocketWithoutAPort() throws {
        for tool in [Self.activate, "/usr/bin/echoscu"] {
            guard ExternalTool.require(tool) else { return }
        }
        let certs = try TestCertificates.shared.get()
        let scratch = try LifecycleScratch()
        let (daemon, _, tlsPort) = try Self.launch(
            options: [
                "--tls-certificate", certs.serverCertificate, "--tls-key", certs.serverKey, "--tls-ca", certs.ca,
            ],
            scratch: scratch)
        defer { daemon.kill() }
        let echoArguments = [
            "+tls", certs.clientKey, certs.clientCertificate, "+cf", certs.ca, "-aec", "QRSCPD", "127.0.0.1",
            "\(tlsPort)",
        ]
        let echo = try runOutsideFoundation(["/usr/bin/echoscu"] + echoArguments, environment: Self.dcmtkEnvironment)
        #expect(echo.status == 0, "\(echo.output)\n--- daemon\n\(daemon.output)")
        #expect(daemon.stderr.contains("serving the TLS socket passed by systemd"), "\(daemon.output)")
        #expect(daemon.stderr.contains("TLS handshake done"), "\(daemon.output)")
        // SIGHUP rebuilds the server context for the socket too, and the next association uses it.
        let offset = daemon.stderr.count
        kill(daemon.pid, SIGHUP)
        #expect(
            daemon.waitForStderr(
                containing: "TLS certificate, key and trust anchors reloaded", after: offset, timeout: 20),
            "\(daemon.output)")
        let again = try runOutsideFoundation(["/usr/bin/echoscu"] + echoArguments, environment: Self.dcmtkEnvironment)
        #expect(again.status == 0, "\(again.output)\n--- daemon\n\(daemon.output)")
        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
        #expect(daemon.stderr.contains("tls_associations=2"), "\(daemon.output)")
    }

    @Test("a dicom-tls socket without certificate or key: the daemon exits 1 naming what is missing")
    func refusedWithoutCertificateOrKey() throws {
        guard ExternalTool.require(Self.activate) else { return }
        let certs = try TestCertificates.shared.get()
        let cases: [([String], [String], [String])] = [
            ([], ["tls.certificate (--tls-certificate", "and tls.key (--tls-key, QRSCPD_TLS_KEY)"], []),
            (["--tls-key", certs.serverKey], ["which needs tls.certificate (--tls-certificate"], ["tls.key"]),
        ]
        for (options, expected, absent) in cases {
            let scratch = try LifecycleScratch()
            let (daemon, _, tlsPort) = try Self.launch(options: options, scratch: scratch)
            defer { daemon.kill() }
            let socket = try RawDICOMSocket(port: tlsPort, timeout: 10)
            defer { socket.close() }
            #expect(daemon.waitForExit(timeout: 20) == 1, "\(options): \(daemon.output)")
            let message = daemon.stderr.split(separator: "\n").first { $0.hasPrefix("qrscpd: ") } ?? ""
            #expect(message.contains("systemd passed a socket named dicom-tls"), "\(options): \(daemon.output)")
            for text in expected { #expect(message.contains(text), "\(options): \(daemon.output)") }
            for text in absent { #expect(!message.contains(text), "\(options): \(daemon.output)") }
        }
    }
}

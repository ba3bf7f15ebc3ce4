// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// DICOMweb over HTTPS (`http.tls`) against the real daemon: curl (TLS 1.2 and 1.3, ALPN,
/// keep-alive, QIDO-RS, WADO-RS bytes equal to the stored file), dicomweb-client with a requests
/// session trusting the test CA, `openssl s_client`, plaintext and stalled peers, certificate reload;
/// and the HTTP limits set in the config file, answered by the running daemon.
@Suite("HTTPS (curl, dicomweb-client, openssl)", .serialized, .enabled(if: WebDaemon.enabled), .timeLimit(.minutes(5)))
struct HTTPSInteropTests {
    static let anySyntax = "multipart/related; type=\"application/dicom\"; transfer-syntax=*"

    /// The fixture archive served over HTTPS, and one of its instances (its path made absolute).
    static func fixtureDaemon() throws -> (HTTPSDaemon, FixtureTruth.Instance) {
        let truth = try FixtureArchive.truth()
        let archive = try FixtureArchive.master()
        let https = try HTTPSDaemon(storageDirectory: archive, expectedInstances: truth.instances.count)
        var instance = try #require(truth.instances.first)
        if !instance.path.hasPrefix("/") { instance.path = archive.appendingPathComponent(instance.path).path }
        return (https, instance)
    }

    /// Whether the server has closed `connection` (end of stream waiting), as opposed to a read
    /// that merely timed out on an open one.
    static func closedByServer(_ connection: RawHTTPConnection) -> Bool {
        var byte: UInt8 = 0
        return recv(connection.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0
    }

    /// The part bodies of a multipart/related body whose Content-Type is `contentType`.
    static func parts(_ body: Data, contentType: String) -> [Data] {
        guard let parameter = contentType.split(separator: ";").first(where: { $0.contains("boundary=") }) else {
            return []
        }
        let boundary = parameter.split(separator: "=", maxSplits: 1)[1].trimmingCharacters(in: CharacterSet(["\""]))
        let delimiter = Data("\r\n--\(boundary)".utf8)
        var rest = Data("\r\n".utf8) + body
        var parts: [Data] = []
        while let start = rest.range(of: delimiter) {
            rest = rest[start.upperBound...]
            if rest.starts(with: Data("--".utf8)) { break }
            guard let headEnd = rest.range(of: Data("\r\n\r\n".utf8)),
                let next = rest.range(of: delimiter, in: headEnd.upperBound..<rest.endIndex)
            else { break }
            parts.append(Data(rest[headEnd.upperBound..<next.lowerBound]))
            rest = rest[next.lowerBound...]
        }
        return parts
    }

    @Test("curl: TLS 1.2 and 1.3 with ALPN http/1.1, two requests on one connection, QIDO-RS, WADO-RS bytes")
    func curlOverHTTPS() throws {
        let (https, instance) = try Self.fixtureDaemon()
        for (version, name) in [("1.2", "TLSv1.2"), ("1.3", "TLSv1.3")] {
            let r = https.curl([
                "-v", "--tlsv\(version)", "--tls-max", version, "-o", "/dev/null", "-o", "/dev/null",
                "-w", "%{http_code} %{num_connects}\\n", "\(https.base)/metrics",
                "\(https.dicomWeb)/studies?StudyInstanceUID=\(instance.StudyInstanceUID)",
            ])
            #expect(r.succeeded, "\(r.transcript)")
            #expect(r.stdout.split(separator: "\n") == ["200 1", "200 0"], "keep-alive over \(name): \(r.transcript)")
            #expect(r.stderr.contains("SSL connection using \(name)"), "\(r.stderr)")
            #expect(r.stderr.contains("ALPN: server accepted http/1.1"), "\(r.stderr)")
        }
        #expect(https.count("HTTPS handshake done") >= 2)
        #expect(https.log.contains("tls_protocol=TLSv1.2") && https.log.contains("tls_protocol=TLSv1.3"))

        let qido = https.curl([
            "\(https.dicomWeb)/studies/\(instance.StudyInstanceUID)/series/\(instance.SeriesInstanceUID)/instances"
        ])
        let found = try #require(
            try JSONSerialization.jsonObject(with: Data(qido.stdout.utf8)) as? [[String: Any]], "\(qido.transcript)")
        let uids = found.compactMap { (($0["00080018"] as? [String: Any])?["Value"] as? [String])?.first }
        #expect(uids.contains(instance.SOPInstanceUID), "\(qido.stdout.prefix(2000))")

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-https-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let path =
            "/studies/\(instance.StudyInstanceUID)/series/\(instance.SeriesInstanceUID)/instances/\(instance.SOPInstanceUID)"
        let wado = https.curl([
            "-H", "Accept: \(Self.anySyntax)", "-o", scratch.path, "-w", "%{http_code}\\n%{content_type}",
            "\(https.dicomWeb)\(path)",
        ])
        let lines = wado.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "200", "\(wado.transcript)")
        let stored = try Data(contentsOf: URL(fileURLWithPath: instance.path))
        let parts = Self.parts(try Data(contentsOf: scratch), contentType: lines.last ?? "")
        #expect(parts.count == 1 && parts.first == stored, "parts \(parts.map(\.count)), stored \(stored.count)")
    }

    @Test("dicomweb-client over HTTPS (requests session trusting the test CA): search and retrieve")
    func dicomwebClientOverHTTPS() throws {
        let (https, instance) = try Self.fixtureDaemon()
        let (result, json) = ExternalTool.pythonPeer(
            "https_dicomweb.py",
            https.peerArguments + [
                instance.StudyInstanceUID, instance.SeriesInstanceUID, instance.SOPInstanceUID, instance.path,
            ], timeout: 120)
        let object = try #require(json as? [String: Any], "\(result.transcript)")
        let checks = try #require(object["checks"] as? [String: Bool], "\(result.transcript)")
        for name in [
            "search_studies", "search_studies_filtered", "search_instances", "retrieve_instance",
            "retrieve_bytes_equal_file", "series_metadata", "untrusted_refused",
        ] {
            #expect(checks[name] == true, "\(name): \(object["details"] ?? "")")
        }
        // The refused verification never got past the handshake; it is logged as such.
        #expect(https.waitForLog("HTTPS handshake failed"), "\(https.log.suffix(2000))")
    }

    @Test("plaintext HTTP to the HTTPS port and a stalled handshake are dropped and logged; TLS 1.1 refused")
    func badPeers() throws {
        let https = try HTTPSDaemon(httpConfig: "  header_timeout: 2\n")
        let plain = try RawHTTPConnection(port: https.httpPort, timeout: 20)
        try plain.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(plain.readResponse() == nil, "no HTTP answer in the clear")
        #expect(Self.closedByServer(plain))
        #expect(https.waitForLog("http request"), "OpenSSL's reason is logged: \(https.log.suffix(2000))")

        // A peer that connects and sends nothing: dropped after the header timeout.
        let stalled = try RawHTTPConnection(port: https.httpPort, timeout: 30)
        #expect(https.waitForLog("timed_out=true", timeout: 30), "\(https.log.suffix(2000))")
        #expect(stalled.readResponse() == nil && Self.closedByServer(stalled), "the stalled connection is closed")

        // The client must be allowed to offer TLS 1.1 (OpenSSL's default level forbids it).
        let old = https.sClient(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        #expect(!old.succeeded, "\(old.transcript)")
        let request = "GET /metrics HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n"
        let good = https.sClient(["-alpn", "http/1.1", "-ign_eof"], input: request)
        #expect(good.stdout.contains("ALPN protocol: http/1.1"), "\(good.transcript)")
        #expect(good.stdout.contains("HTTP/1.1 200 OK"), "\(good.transcript)")

        // Still serving, and every handshake counted by result.
        let metrics = https.curl(["\(https.base)/metrics"])
        #expect(metrics.stdout.contains("qrscpd_tls_handshakes_total{listener=\"http\",result=\"failed\"} 3"))
        #expect(metrics.stdout.contains("qrscpd_tls_handshakes_total{listener=\"dicom\",result=\"failed\"} 0"))
        let completed = metrics.stdout.split(separator: "\n").first {
            $0.hasPrefix("qrscpd_tls_handshakes_total{listener=\"http\",result=\"completed\"}")
        }
        #expect(completed.flatMap { Int($0.split(separator: " ").last ?? "") }.map { $0 >= 2 } == true, "\(metrics)")
        #expect(https.daemon.stop() == 0, "\(https.log.suffix(3000))")
        #expect(https.log.contains("https_handshake_failures=3"), "the stop statistics: \(https.log.suffix(3000))")
    }

    @Test("client certificates on HTTPS: none by default even with anchors, required with http.tls_client_auth")
    func clientCertificates() throws {
        let open = try HTTPSDaemon()
        let anonymous = open.curl(["-o", "/dev/null", "-w", "%{http_code}", "\(open.base)/metrics"])
        #expect(anonymous.stdout == "200", "tls.ca is set, yet a browser needs no certificate: \(anonymous.transcript)")

        let strict = try HTTPSDaemon(httpConfig: "  tls_client_auth: required\n")
        let refused = strict.curl(["-o", "/dev/null", "-w", "%{http_code}", "\(strict.base)/metrics"])
        #expect(!refused.succeeded, "\(refused.transcript)")
        #expect(strict.waitForLog("HTTPS handshake failed"), "\(strict.log.suffix(2000))")
        let (cert, key) = strict.certificates.client
        let accepted = strict.curl([
            "--cert", cert, "--key", key, "-o", "/dev/null", "-w", "%{http_code}", "\(strict.base)/metrics",
        ])
        #expect(accepted.stdout == "200", "\(accepted.transcript)")
        #expect(strict.log.contains("certificate_subject="), "\(strict.log.suffix(2000))")
        let (otherCert, otherKey) = strict.certificates.stranger
        let stranger = strict.curl([
            "--cert", otherCert, "--key", otherKey, "-o", "/dev/null", "-w", "%{http_code}", "\(strict.base)/metrics",
        ])
        #expect(stranger.stdout != "200", "a certificate from another CA: \(stranger.transcript)")
    }

    @Test("SIGHUP gives the HTTPS listener the renewed certificate")
    func reload() throws {
        let https = try HTTPSDaemon()
        #expect(!https.sClient(["-brief"]).stdout.contains("Renewed"))
        try FileManager.default.removeItem(atPath: https.certificatePath)
        try FileManager.default.removeItem(atPath: https.keyPath)
        try FileManager.default.copyItem(atPath: https.certificates.renewedCertificate, toPath: https.certificatePath)
        try FileManager.default.copyItem(atPath: https.certificates.renewedKey, toPath: https.keyPath)
        kill(https.daemon.processIdentifier, SIGHUP)
        #expect(https.waitForLog("TLS certificate, key and trust anchors reloaded"), "\(https.log.suffix(2000))")
        let after = https.sClient(["-brief"])
        #expect(after.stdout.contains("Renewed"), "\(after.transcript)")
        let r = https.curl(["-o", "/dev/null", "-w", "%{http_code}", "\(https.base)/metrics"])
        #expect(r.stdout == "200", "\(r.transcript)")
    }

    @Test("socket activation: the socket named http serves HTTPS when http.tls is on")
    func socketActivation() throws {
        let activate = "/usr/bin/systemd-socket-activate"
        guard ExternalTool.require(activate) else { return }
        let certificates = try TestCertificates.shared.get()
        let scratch = try LifecycleScratch()
        let dicomPort = try freeLoopbackPort()
        let httpPort = try freeLoopbackPort()
        let daemon = try LaunchedDaemon(
            executable: activate,
            arguments: [
                "-l", "127.0.0.1:\(dicomPort)", "-l", "127.0.0.1:\(httpPort)", "--fdname=dicom:http",
                PackagePaths.daemonBinary, "1", "QRSCPD", "--storage-dir", scratch.path + "/storage", "--http-tls",
                "--tls-certificate", certificates.serverCertificate, "--tls-key", certificates.serverKey,
            ],
            environment: [:], scratch: scratch)
        defer { daemon.kill() }
        // systemd-socket-activate binds first and execs qrscpd on the first connection.
        let connected = daemon.firstConnection { try RawDICOMSocket(port: dicomPort, timeout: 30) }
        let dicom = try #require(connected, "systemd-socket-activate did not listen\n\(daemon.output)")
        #expect(dicom.send(HandMadePDUs.associateRequest(called: "QRSCPD")))
        #expect(dicom.receivePDU()?.type == 0x02, "\(daemon.output)")
        dicom.close()
        let output = try runOutsideFoundation(
            [
                "/usr/bin/curl", "-s", "-v", "-m", "20", "--cacert", certificates.ca, "-o", "/dev/null", "-w",
                "code=%{http_code}", "https://127.0.0.1:\(httpPort)/metrics",
            ], timeout: 30
        ).output
        #expect(output.contains("code=200"), "\(output)\n\(daemon.output)")
        #expect(output.contains("ALPN: server accepted http/1.1"), "\(output)")
        #expect(daemon.stderr.contains("serving HTTP on the socket passed by systemd"), "\(daemon.output)")
        #expect(daemon.stderr.contains("HTTPS listening"), "\(daemon.output)")
        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
    }

    @Test("limits from the config file: a smaller header section is answered 431, a larger body 413, a slow head 408")
    func configuredLimits() throws {
        let web = try WebDaemon(
            extraConfig: "  max_header_bytes: 2048\n  max_body_bytes: 4096\n  header_timeout: 1\n  idle_timeout: 2\n")
        let header = String(repeating: "a", count: 3000)
        let big = web.curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Big: \(header)"], path: "/metrics")
        #expect(big.stdout == "431", "3000 bytes of header, under the default 16 KiB: \(big.transcript)")
        let small = web.curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Small: aaaa"], path: "/metrics")
        #expect(small.stdout == "200", "\(small.transcript)")
        let body = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-body-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: body) }
        try Data(count: 8192).write(to: body)
        let stow = web.curl(
            [
                "-o", "/dev/null", "-w", "%{http_code}", "-H",
                "Content-Type: multipart/related; type=\"application/dicom\"; boundary=b", "--data-binary",
                "@\(body.path)",
            ], path: "/dicom-web/studies")
        #expect(stow.stdout == "413", "8 KiB to STOW-RS, under the default 4 GiB: \(stow.transcript)")
        let slow = try RawHTTPConnection(port: web.httpPort, timeout: 20)
        try slow.send("GET /metrics HTTP/1.1\r\nHost: t\r\n")
        #expect(slow.readResponse()?.status == 408)
        // An idle keep-alive connection is closed after two seconds (the default is 60).
        let idle = try RawHTTPConnection(port: web.httpPort, timeout: 30)
        try idle.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(idle.readResponse()?.status == 200)
        #expect(idle.readResponse() == nil && Self.closedByServer(idle), "closed by the idle timeout")
        let refusals = web.daemon.log.split(separator: "\n").filter { $0.contains("HTTP request refused") }
        for status in ["431", "413", "408"] {
            #expect(refusals.contains { $0.contains("http_status=\(status)") }, "\(web.daemon.log.suffix(3000))")
        }
    }
}

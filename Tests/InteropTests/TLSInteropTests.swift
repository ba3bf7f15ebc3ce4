// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// DICOM over TLS against the daemon started as a real process: `openssl s_client`, DCMTK's
/// `+tls` tools and pynetdicom with an `ssl.SSLContext`, certificates made at test time.
@Suite("DICOM over TLS with real peers", .serialized, .enabled(if: ExternalTool.interopEnabled))
struct TLSInteropTests {
    static let openssl = "/usr/bin/openssl"

    @Test("s_client: TLS 1.2 and 1.3 succeed, TLS 1.1 is refused and logged")
    func protocolVersions() throws {
        guard ExternalTool.require(Self.openssl) else { return }
        let server = try TLSDaemon()
        let (cert, key) = server.certificates.client
        for version in ["-tls1_2", "-tls1_3"] {
            let result = server.sClient([version, "-cert", cert, "-key", key])
            #expect(result.succeeded, "\(version): \(result.transcript)\n--- daemon\n\(server.log)")
        }
        #expect(server.waitForLog("TLS handshake done", count: 2), "\(server.log)")
        // The client must be allowed to offer TLS 1.1 (OpenSSL's default level forbids it).
        let old = server.sClient(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-cert", cert, "-key", key])
        #expect(!old.succeeded, "\(old.transcript)")
        #expect(server.waitForLog("TLS handshake failed"), "\(server.log)")
        #expect(server.log.contains("peer_address=127.0.0.1"), "\(server.log)")
        #expect(server.daemon.stop() == 0, "\(server.log.suffix(3000))")
        #expect(server.log.contains("tls_handshake_failures=1"), "\(server.log)")
    }

    @Test(
        "Client certificates: required, optional and none, with, without and from another CA",
        arguments: ["required", "optional", "none"])
    func clientCertificateModes(mode: String) throws {
        guard ExternalTool.require(Self.openssl) else { return }
        let server = try TLSDaemon(clientAuth: mode)
        let certs = server.certificates
        // TLS 1.2: the server's verdict on the client certificate is part of the handshake.
        let cases: [(String, [String], Bool)] = [
            ("trusted certificate", ["-cert", certs.clientCertificate, "-key", certs.clientKey], true),
            ("no certificate", [], mode != "required"),
            (
                "certificate from another CA", ["-cert", certs.strangerCertificate, "-key", certs.strangerKey],
                mode == "none"
            ),
            ("expired certificate", ["-cert", certs.expiredCertificate, "-key", certs.expiredKey], mode == "none"),
        ]
        var failures = 0
        for (name, options, accepted) in cases {
            let result = server.sClient(["-tls1_2"] + options)
            #expect(result.succeeded == accepted, "\(mode), \(name): \(result.transcript)\n--- daemon\n\(server.log)")
            if !accepted {
                failures += 1
                #expect(server.waitForLog("TLS handshake failed", count: failures), "\(mode), \(name): \(server.log)")
            }
        }
        if mode != "none" {
            #expect(server.log.contains("CN=STRANGER"), "the refused certificate's subject is logged: \(server.log)")
        }
        #expect(server.daemon.stop() == 0, "\(server.log.suffix(3000))")
    }

    @Test("tls.ca as a directory: clients are verified against it, a file in it that is no certificate is logged")
    func trustAnchorDirectory() throws {
        guard ExternalTool.require(Self.openssl) else { return }
        let certs = try TestCertificates.shared.get()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "qrscpd-tls-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(atPath: certs.ca, toPath: directory.appendingPathComponent("ca.pem").path)
        let junk = directory.appendingPathComponent("README").path
        try "not a certificate\n".write(toFile: junk, atomically: true, encoding: .utf8)
        let server = try TLSDaemon(trustAnchors: directory.path)
        #expect(
            server.waitForLine(containing: ["TLS trust anchor file skipped", junk, "no PEM certificate"]),
            "\(server.log)")
        let trusted = server.sClient(["-tls1_2", "-cert", certs.clientCertificate, "-key", certs.clientKey])
        #expect(trusted.succeeded, "\(trusted.transcript)\n--- daemon\n\(server.log)")
        // The CertificateRequest names the directory's CA (s_client prints it without -brief).
        let request = ExternalTool.run(
            Self.openssl,
            [
                "s_client", "-connect", "127.0.0.1:\(server.tlsPort)", "-CAfile", certs.ca, "-tls1_3", "-cert",
                certs.clientCertificate, "-key", certs.clientKey,
            ], timeout: 30)
        #expect(
            request.stdout.contains("Acceptable client certificate CA names\nCN = qrscpd Test CA\n"),
            "\(request.transcript)")
        let stranger = server.sClient(["-tls1_2", "-cert", certs.strangerCertificate, "-key", certs.strangerKey])
        #expect(!stranger.succeeded, "\(stranger.transcript)")
        #expect(server.waitForLine(containing: ["TLS handshake failed", "CN=STRANGER"]), "\(server.log)")
        #expect(server.daemon.stop() == 0, "\(server.log.suffix(3000))")
    }

    @Test("pynetdicom over TLS: C-ECHO, C-STORE, C-FIND, C-GET; the retrieved data set is the stored one")
    func pynetdicomServices() throws {
        #expect(ExternalTool.pythonHas("pynetdicom"), "pynetdicom is not installed (run scripts/setup --test)")
        let server = try TLSDaemon()
        let (result, json) = ExternalTool.pythonPeer("tls_peer.py", ["services", server.peerSpec()], timeout: 120)
        let out = json as? [String: Any] ?? [:]
        let context = "\(result.transcript)\n--- daemon\n\(server.log)"
        #expect(out["associated"] as? Bool == true, "\(context)")
        #expect(out["echo"] as? Int == 0, "\(context)")
        #expect(out["store"] as? Int == 0, "\(context)")
        #expect(out["find"] as? Int == 0, "\(context)")
        #expect(out["find_matches"] as? [String] == ["TLS-1"], "\(context)")
        #expect(out["get"] as? Int == 0, "\(context)")
        #expect(out["received"] as? Int == 1, "\(context)")
        #expect(out["identical"] as? Bool == true, "\(context)")
        // Which output path the association took: kernel TLS where the module is loaded,
        // SSL_write otherwise (the test machines have no `tls` module).
        let expectedPath =
            FileManager.default.fileExists(atPath: "/proc/net/tls_stat")
            ? "tls_send_path=ktls" : "tls_send_path=ssl_write"
        #expect(server.log.contains(expectedPath), "\(server.log)")
        #expect(server.daemon.stop() == 0, "\(server.log.suffix(3000))")
        #expect(server.log.contains("tls_associations=2"), "\(server.log)")
    }

    @Test("DCMTK echoscu, findscu and storescu with +tls")
    func dcmtkTools() throws {
        for tool in ["echoscu", "findscu", "storescu"] {
            guard ExternalTool.require("/usr/bin/\(tool)") else { return }
        }
        let server = try TLSDaemon()
        let certs = server.certificates
        let tls = ["+tls", certs.clientKey, certs.clientCertificate, "+cf", certs.ca, "-aec", server.daemon.aeTitle]
        let address = ["127.0.0.1", "\(server.tlsPort)"]
        let echo = ExternalTool.run("/usr/bin/echoscu", tls + address)
        #expect(echo.succeeded, "\(echo.transcript)\n--- daemon\n\(server.log)")

        let file = server.daemon.storageDirectory.deletingLastPathComponent().appendingPathComponent("tls-store.dcm")
            .path
        let made = ExternalTool.run(
            "/usr/bin/env",
            [
                "python3", "-c",
                """
                import sys
                from pydicom.dataset import Dataset, FileMetaDataset
                from pydicom.uid import ExplicitVRLittleEndian, generate_uid
                ds = Dataset(); ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"; ds.SOPInstanceUID = generate_uid()
                ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid()
                ds.PatientName = "Dcmtk^Tls"; ds.PatientID = "DCMTK-TLS"; ds.Modality = "OT"
                ds.file_meta = FileMetaDataset(); ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
                ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID; ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                ds.save_as(sys.argv[1], enforce_file_format=True)
                """, file,
            ])
        #expect(made.succeeded, "\(made.transcript)")
        let store = ExternalTool.run("/usr/bin/storescu", tls + address + [file])
        #expect(store.succeeded, "\(store.transcript)\n--- daemon\n\(server.log)")
        let find = ExternalTool.run(
            "/usr/bin/findscu",
            tls + ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=DCMTK-TLS", "-k", "PatientName"] + address)
        #expect(find.succeeded, "\(find.transcript)\n--- daemon\n\(server.log)")
        #expect((find.stdout + find.stderr).contains("Dcmtk^Tls"), "\(find.transcript)")
        #expect(server.daemon.stop() == 0, "\(server.log.suffix(3000))")
    }

    @Test(
        "A certificate identity bound to calling AE titles: others get A-ASSOCIATE-RJ 1/1/3, logged with address and subject"
    )
    func identityBinding() throws {
        #expect(ExternalTool.pythonHas("pynetdicom"), "pynetdicom is not installed (run scripts/setup --test)")
        let server = try TLSDaemon(
            config: """
                tls:
                  identities:
                    modality.example: [BOUNDSCU]
                """)
        let (allowed, allowedJSON) = ExternalTool.pythonPeer(
            "tls_peer.py", ["echo", server.peerSpec(calling: "BOUNDSCU")])
        #expect(
            (allowedJSON as? [String: Any])?["echo"] as? Int == 0, "\(allowed.transcript)\n--- daemon\n\(server.log)")
        let (refused, refusedJSON) = ExternalTool.pythonPeer(
            "tls_peer.py", ["echo", server.peerSpec(calling: "OTHERSCU")])
        #expect(
            (refusedJSON as? [String: Any])?["rejected"] as? Bool == true,
            "\(refused.transcript)\n--- daemon\n\(server.log)")
        let line =
            server.log.split(separator: "\n").first { $0.contains("association rejected") }.map(String.init) ?? ""
        #expect(
            line.contains("diagnostic=3") && line.contains("result=1") && line.contains("source=1"), "\(server.log)")
        #expect(
            line.contains("peer_address=127.0.0.1") && line.contains("certificate_subject=/CN=STORESCU-HOST"), "\(line)"
        )
        #expect(server.daemon.stop() == 0, "\(server.log.suffix(3000))")
    }

    @Test("A plaintext A-ASSOCIATE-RQ to the TLS port and a ClientHello to the plain port are refused and logged")
    func wrongProtocolOnEachPort() throws {
        guard ExternalTool.require(Self.openssl) else { return }
        #expect(ExternalTool.pythonHas("pynetdicom"), "pynetdicom is not installed (run scripts/setup --test)")
        let server = try TLSDaemon()
        let plaintext = try RawDICOMSocket(port: server.tlsPort, timeout: 10)
        let peerAddress = "peer_address=127.0.0.1:\(try localPort(of: plaintext.fd))"
        plaintext.send(HandMadePDUs.associateRequest(called: server.daemon.aeTitle))
        let answer = plaintext.receiveUntilClosed(timeout: 15)
        #expect(answer.closed, "the TLS port closes on a plaintext peer")
        // Nothing comes back: no DICOM PDU, and not even a TLS alert, since OpenSSL sends none
        // to a peer whose first record does not look like TLS at all.
        #expect(answer.bytes.isEmpty, "answer to a plaintext A-ASSOCIATE-RQ: \(answer.bytes.prefix(16))")
        #expect(
            server.waitForLine(containing: ["TLS handshake failed", peerAddress, "wrong version number"]),
            "no handshake failure naming \(peerAddress):\n\(server.log)")
        // The daemon goes on serving DICOM over TLS: a whole association, not just a handshake.
        let (echo, echoJSON) = ExternalTool.pythonPeer("tls_peer.py", ["echo", server.peerSpec()])
        #expect((echoJSON as? [String: Any])?["echo"] as? Int == 0, "\(echo.transcript)\n--- daemon\n\(server.log)")

        let hello = ExternalTool.run(
            Self.openssl, ["s_client", "-connect", "127.0.0.1:\(server.daemon.port)", "-brief"], timeout: 30)
        #expect(!hello.succeeded, "\(hello.transcript)")
        #expect(server.waitForLog("TLS ClientHello"), "the plain port names the mistake: \(server.log)")
        // Everyone else is still served, on both ports.
        #expect(server.daemon.echoWithDCMTK().succeeded, "\(server.log)")
        #expect(
            server.sClient(["-cert", server.certificates.clientCertificate, "-key", server.certificates.clientKey])
                .succeeded)
        #expect(server.daemon.stop() == 0, "\(server.log.suffix(3000))")
    }

    @Test("A handshake that stalls is dropped after the ACSE timeout and logged")
    func stalledHandshake() throws {
        let server = try TLSDaemon(arguments: ["--acse-timeout", "1"])
        let stalled = try RawDICOMSocket(port: server.tlsPort, timeout: 20)
        // The first bytes of a TLS record header, and nothing more.
        stalled.send([0x16, 0x03, 0x01])
        let outcome = stalled.receiveUntilClosed(timeout: 20)
        #expect(outcome.closed, "\(server.log)")
        #expect(server.waitForLog("TLS handshake failed"), "\(server.log)")
        #expect(server.log.contains("timed_out=true"), "\(server.log)")
        #expect(server.daemon.stop() == 0, "\(server.log.suffix(3000))")
    }

    @Test(
        "SIGHUP with a new certificate: open associations keep the old one, new ones get the new; a bad file keeps the running one"
    )
    func reloadWhileAssociationIsOpen() throws {
        #expect(ExternalTool.pythonHas("pynetdicom"), "pynetdicom is not installed (run scripts/setup --test)")
        let server = try TLSDaemon()
        let certs = server.certificates
        try replace(server.certificatePath, with: certs.renewedCertificate)
        try replace(server.keyPath, with: certs.renewedKey)
        let spec = server.peerSpec(extra: [
            "pid": Int(server.daemon.processIdentifier), "log": server.daemon.logURL.path,
            "wait_for": "TLS certificate, key and trust anchors reloaded",
        ])
        let (result, json) = ExternalTool.pythonPeer("tls_peer.py", ["reload", spec], timeout: 120)
        let out = json as? [String: Any] ?? [:]
        let context = "\(result.transcript)\n--- daemon\n\(server.log)"
        #expect(out["reloaded"] as? Bool == true, "\(context)")
        #expect(out["first_echo_before"] as? Int == 0 && out["first_echo_after"] as? Int == 0, "\(context)")
        #expect(!(out["first_subject"] as? String ?? "Renewed").contains("Renewed"), "\(context)")
        #expect(out["second_echo"] as? Int == 0, "\(context)")
        #expect((out["second_subject"] as? String ?? "").contains("Renewed"), "\(context)")

        // A certificate file that is not PEM: the running context stays.
        try "not a certificate\n".write(toFile: server.certificatePath, atomically: true, encoding: .utf8)
        kill(server.daemon.processIdentifier, SIGHUP)
        #expect(server.waitForLog("TLS reload failed"), "\(server.log)")
        let (after, afterJSON) = ExternalTool.pythonPeer("tls_peer.py", ["echo", server.peerSpec()])
        let afterOut = afterJSON as? [String: Any] ?? [:]
        #expect(afterOut["echo"] as? Int == 0, "\(after.transcript)\n--- daemon\n\(server.log)")
        #expect((afterOut["server_subject"] as? String ?? "").contains("Renewed"), "\(after.transcript)")
        #expect(server.daemon.stop() == 0, "\(server.log.suffix(3000))")
    }

    /// Where the test marks its C-MOVE destinations as TLS.
    enum TLSPeerForm: String, CaseIterable, Sendable {
        /// `tls: true` in the file's `peers` entries.
        case file
        /// `AE:host:port+tls` in `--peer` (one) and `QRSCPD_PEERS` (the other).
        case flagAndEnvironment
    }

    @Test(
        "C-MOVE to a peer marked TLS reaches a pynetdicom TLS Storage SCP; a wrong host name is refused",
        arguments: TLSPeerForm.allCases)
    func moveToTLSPeer(form: TLSPeerForm) throws {
        #expect(ExternalTool.pythonHas("pynetdicom"), "pynetdicom is not installed (run scripts/setup --test)")
        let scpPort = try freeLoopbackPort()
        let wrongPort = try freeLoopbackPort()
        let server: TLSDaemon
        switch form {
        case .file:
            server = try TLSDaemon(
                config: """
                    peers:
                      TLSDEST: {host: 127.0.0.1, port: \(scpPort), tls: true}
                      WRONGHOST: {host: 127.0.0.1, port: \(wrongPort), tls: true}
                    """)
        case .flagAndEnvironment:
            server = try TLSDaemon(
                arguments: ["--peer", "TLSDEST:127.0.0.1:\(scpPort)+tls"],
                environment: ["QRSCPD_PEERS": "WRONGHOST:127.0.0.1:\(wrongPort)+tls"])
        }
        // The start-up summary shows both destinations as TLS, whichever form marked them.
        let listed = "TLSDEST=127.0.0.1:\(scpPort)+tls WRONGHOST=127.0.0.1:\(wrongPort)+tls"
        #expect(server.log.contains(listed), "\(server.log)")
        let certs = server.certificates
        let good = server.peerSpec(extra: [
            "dest": "TLSDEST", "scp_port": scpPort, "scp_cert": certs.renewedCertificate, "scp_key": certs.renewedKey,
        ])
        let (result, json) = ExternalTool.pythonPeer("tls_peer.py", ["move", good], timeout: 120)
        let out = json as? [String: Any] ?? [:]
        let context = "\(result.transcript)\n--- daemon\n\(server.log)"
        #expect(out["store"] as? Int == 0, "\(context)")
        #expect(out["move"] as? Int == 0, "\(context)")
        #expect(out["received"] as? Int == 1, "\(context)")
        #expect(out["identical"] as? Bool == true, "\(context)")

        let wrong = server.peerSpec(extra: [
            "dest": "WRONGHOST", "scp_port": wrongPort, "scp_cert": certs.elsewhereCertificate,
            "scp_key": certs.elsewhereKey,
        ])
        let (refused, refusedJSON) = ExternalTool.pythonPeer("tls_peer.py", ["move", wrong], timeout: 120)
        let refusedOut = refusedJSON as? [String: Any] ?? [:]
        #expect(refusedOut["received"] as? Int == 0, "\(refused.transcript)\n--- daemon\n\(server.log)")
        #expect(refusedOut["move"] as? Int != 0, "\(refused.transcript)")
        #expect(
            server.log.contains(
                "TLS handshake failed: certificate verification failed: IP address mismatch (subject /CN=elsewhere.example)"
            ), "\(server.log)")
        #expect(server.daemon.stop() == 0, "\(server.log.suffix(3000))")
    }

    /// The local port of a connected socket (the daemon logs it as the peer's).
    private func localPort(of socket: Int32) throws -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) == 0 }
        }
        guard named else { throw DaemonError("getsockname: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func replace(_ path: String, with source: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

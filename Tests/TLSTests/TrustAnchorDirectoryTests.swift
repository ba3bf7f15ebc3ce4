// SPDX-License-Identifier: Apache-2.0
import Foundation
import TLS
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Trust anchors from a directory, and the system's for a client without its own, are read
/// whole when the context is built: a handshake afterwards reads no file (OpenSSL's lazy
/// hashed-directory lookup would, on the reactor thread).
@Suite struct TrustAnchorDirectoryTests {
    let certificates: TestCertificates

    /// Fails every test of the suite, with the openssl CLI's message, when the certificates could not be made.
    init() throws { certificates = try TestCertificates.shared.get() }

    /// Which names the CA certificate has in the directory.
    enum Layout: String, CaseIterable, Sendable {
        /// `ca.pem` only.
        case plain
        /// `<subject hash>.0` only, a symbolic link as `openssl rehash` makes, to a file outside.
        case hashed
        /// Both, and a file that is no certificate.
        case both
    }

    /// A fresh directory (removed at exit) holding the CA as `layout` says.
    func anchorDirectory(_ layout: Layout) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-anchors-\(UUID().uuidString)")
        removeAtExit(root)
        let directory = root.appendingPathComponent("ca")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if layout != .hashed {
            try FileManager.default.copyItem(
                atPath: certificates.ca, toPath: directory.appendingPathComponent("ca.pem").path)
        }
        if layout != .plain {
            let target = root.appendingPathComponent("linked-ca.pem").path
            try FileManager.default.copyItem(atPath: certificates.ca, toPath: target)
            try FileManager.default.createSymbolicLink(
                atPath: directory.appendingPathComponent("\(try subjectHash(certificates.ca)).0").path,
                withDestinationPath: target)
        }
        if layout == .both {
            try "not a certificate\n".write(
                to: directory.appendingPathComponent("README"), atomically: true, encoding: .utf8)
        }
        return directory
    }

    /// `openssl x509 -hash`: the name OpenSSL's directory lookup looks for.
    func subjectHash(_ certificate: String) throws -> String {
        let process = try PeerProcess(PeerProcess.openssl, ["x509", "-hash", "-noout", "-in", certificate])
        guard process.waitForExit(timeout: 30), process.process.terminationStatus == 0 else {
            throw PeerError(description: "openssl x509 -hash: \(process.transcript)")
        }
        let hash = String(decoding: process.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard hash.count == 8 else { throw PeerError(description: "unexpected hash '\(hash)'") }
        return hash
    }

    /// A handshake of `context` with a fresh `openssl s_server` (the test server certificate),
    /// verifying the name localhost.
    func handshake(_ context: TLSContext) throws -> TLSSession.HandshakeResult {
        let (server, port) = try PeerProcess.openSSLServer(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let socket = try connectNonBlocking(port: port)
        defer { close(socket) }
        let session = try TLSSession(context: context, socket: socket, serverName: "localhost")
        let result = LoopHarness.handshake(session)
        if result == .done { _ = LoopHarness.shutdown(session) }
        server.waitForExit(timeout: 10)
        return result
    }

    /// Empties and removes `directory`, and anything its links point to.
    func removeEverything(under directory: URL) throws {
        try FileManager.default.removeItem(at: directory.deletingLastPathComponent())
        #expect(!FileManager.default.fileExists(atPath: directory.path))
    }

    @Test(arguments: Layout.allCases)
    func directoryIsReadWholeWhenTheContextIsBuilt(layout: Layout) throws {
        let directory = try anchorDirectory(layout)
        let context = try TLSContext(TLSConfiguration(trustAnchorsPath: directory.path), role: .client)
        #expect(context.trustAnchorCount == (layout == .both ? 2 : 1))
        let skipped = context.skippedTrustAnchorFiles
        if layout == .both {
            #expect(skipped.map(\.path) == [directory.appendingPathComponent("README").path])
            #expect(skipped.first?.reason.hasPrefix("no PEM certificate") == true, "\(skipped)")
        } else {
            #expect(skipped.isEmpty, "\(skipped)")
        }
        // With the files gone, only what was read at build time can verify the server.
        try removeEverything(under: directory)
        let result = try handshake(context)
        #expect(result == .done, "\(result)")
        // And the anchors are still the only ones trusted: the same context refuses another CA's server.
        let (stranger, port) = try PeerProcess.openSSLServer(
            certificate: certificates.strangerCertificate, key: certificates.strangerKey)
        let socket = try connectNonBlocking(port: port)
        defer { close(socket) }
        let refused = LoopHarness.handshake(try TLSSession(context: context, socket: socket, serverName: "STRANGER"))
        guard case .failed(let reason) = refused else {
            Issue.record("handshake \(refused), expected an untrusted server")
            return
        }
        #expect(reason.contains("unable to get local issuer certificate"), "\(reason)")
        stranger.waitForExit(timeout: 10)
    }

    /// The listener's side: client certificates verified against a directory read at build time.
    @Test func serverVerifiesClientsAgainstADirectoryReadAtBuildTime() throws {
        let directory = try anchorDirectory(.hashed)
        let configuration = TLSConfiguration(
            certificateChainPath: certificates.serverCertificate, privateKeyPath: certificates.serverKey,
            trustAnchorsPath: directory.path, clientAuthentication: .required)
        let context = try TLSContext(configuration, role: .server)
        try removeEverything(under: directory)
        for (client, trusted) in [(certificates.client, true), (certificates.stranger, false)] {
            let listener = try TestListener()
            let process = try PeerProcess(
                PeerProcess.openssl,
                [
                    "s_client", "-connect", "127.0.0.1:\(listener.port)", "-quiet", "-nocommands", "-tls1_2",
                    "-CAfile", certificates.ca, "-cert", client.0, "-key", client.1,
                ])
            let socket = try listener.accept()
            defer { close(socket) }
            let session = try TLSSession(context: context, socket: socket)
            let result = LoopHarness.handshake(session)
            if trusted {
                #expect(result == .done, "\(result) \(process.transcript)")
                #expect(session.peerCertificate?.commonName == "STORESCU-HOST")
                _ = LoopHarness.shutdown(session)
            } else if case .failed(let reason) = result {
                #expect(reason.contains("unable to get local issuer certificate"), "\(reason)")
            } else {
                Issue.record("a client from another CA was accepted: \(result)")
            }
            process.closeInput()
            process.waitForExit(timeout: 10)
        }
    }

    /// The listener's CertificateRequest names every trust anchor's subject once (OpenSSL's
    /// s_client prints them), whether `tls.ca` is a directory or a single file.
    @Test(arguments: [true, false])
    func certificateRequestNamesEveryAnchor(directory: Bool) throws {
        let anchors: String
        if directory {
            // The test CA under two names (a file and its hash link) and another CA.
            let folder = try anchorDirectory(.both)
            try FileManager.default.copyItem(
                atPath: certificates.otherCA, toPath: folder.appendingPathComponent("other-ca.pem").path)
            anchors = folder.path
        } else {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "qrscpd-anchors-\(UUID().uuidString).pem")
            removeAtExit(file)
            let bundle = try [certificates.ca, certificates.otherCA].map {
                try String(contentsOfFile: $0, encoding: .utf8)
            }
            try bundle.joined().write(to: file, atomically: true, encoding: .utf8)
            anchors = file.path
        }
        let configuration = TLSConfiguration(
            certificateChainPath: certificates.serverCertificate, privateKeyPath: certificates.serverKey,
            trustAnchorsPath: anchors, clientAuthentication: .optional)
        let context = try TLSContext(configuration, role: .server)
        for version in ["-tls1_2", "-tls1_3"] {
            let listener = try TestListener()
            let process = try PeerProcess(
                PeerProcess.openssl,
                [
                    "s_client", "-connect", "127.0.0.1:\(listener.port)", "-nocommands", version, "-CAfile",
                    certificates.ca,
                ])
            let socket = try listener.accept()
            defer { close(socket) }
            let session = try TLSSession(context: context, socket: socket)
            let result = LoopHarness.handshake(session)
            #expect(result == .done, "\(version): \(result) \(process.transcript)")
            _ = LoopHarness.shutdown(session)
            process.closeInput()
            #expect(process.waitForExit(timeout: 10), "\(process.transcript)")
            let names = Self.acceptableCANames(String(decoding: process.stdout, as: UTF8.self))
            #expect(
                names == ["CN = qrscpd Test CA", "CN = Some Other CA"].sorted(), "\(version): \(process.transcript)")
        }
    }

    /// The lines s_client prints under "Acceptable client certificate CA names", sorted.
    static func acceptableCANames(_ output: String) -> [String]? {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let header = lines.firstIndex(of: "Acceptable client certificate CA names") else { return nil }
        let names = lines[(header + 1)...].prefix { $0.hasPrefix("CN") || $0.hasPrefix("O ") || $0.hasPrefix("C ") }
        return names.sorted()
    }

    @Test func directoryWithoutACertificateIsRefusedNamingTheFiles() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-anchors-\(UUID().uuidString)")
        removeAtExit(root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let configuration = TLSConfiguration(trustAnchorsPath: root.path)
        #expect(throws: TLSError.badTrustAnchors(path: root.path, openSSL: "no certificate files found")) {
            try TLSContext(configuration, role: .client)
        }
        let junk = root.appendingPathComponent("notes.pem").path
        try "not a certificate\n".write(toFile: junk, atomically: true, encoding: .utf8)
        do {
            _ = try TLSContext(configuration, role: .client)
            Issue.record("a directory without certificates was accepted")
        } catch {
            guard case .badTrustAnchors(let path, let reason) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(path == root.path)
            #expect(reason.hasPrefix("no usable certificate: \(junk): no PEM certificate"), "\(reason)")
        }
    }

    /// A client without `tls.ca` reads the system's anchors (here redirected by SSL_CERT_FILE
    /// and SSL_CERT_DIR) at build time too.
    @Test func systemAnchorsAreReadWholeWhenTheContextIsBuilt() throws {
        let directory = try anchorDirectory(.hashed)
        let environment = ["SSL_CERT_FILE": "/nonexistent/cert.pem", "SSL_CERT_DIR": "/nonexistent:" + directory.path]
        let context = try TLSContext(TLSConfiguration(), role: .client, environment: environment)
        #expect(context.trustAnchorCount == 1)
        try removeEverything(under: directory)
        let result = try handshake(context)
        #expect(result == .done, "\(result)")
    }

    @Test func systemAnchorsThatHoldNothingAreRefused() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-anchors-\(UUID().uuidString)")
        removeAtExit(root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let environment = ["SSL_CERT_FILE": "/nonexistent/cert.pem", "SSL_CERT_DIR": root.path]
        do {
            _ = try TLSContext(TLSConfiguration(), role: .client, environment: environment)
            Issue.record("a client without any trust anchor was built")
        } catch {
            #expect("\(error)".contains("/nonexistent/cert.pem and \(root.path)"), "\(error)")
        }
    }
}

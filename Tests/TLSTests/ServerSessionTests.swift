// SPDX-License-Identifier: Apache-2.0
import Foundation
import TLS
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// TLSSession as a server on a non-blocking socket, the test acting as the reactor, against real
/// `openssl s_client` processes.
@Suite struct ServerSessionTests {
    let certificates: TestCertificates

    /// Fails every test of the suite, with the openssl CLI's message, when the certificates could not be made.
    init() throws { certificates = try TestCertificates.shared.get() }

    func serverContext(
        _ clientAuthentication: TLSConfiguration.ClientAuthentication,
        adjust: (inout TLSConfiguration) -> Void = { _ in }
    ) throws -> TLSContext {
        var configuration = TLSConfiguration(
            certificateChainPath: certificates.serverCertificate, privateKeyPath: certificates.serverKey,
            trustAnchorsPath: certificates.ca, clientAuthentication: clientAuthentication
        )
        adjust(&configuration)
        return try TLSContext(configuration, role: .server)
    }

    /// What one accepted connection did.
    struct Served {
        var handshake: TLSSession.HandshakeResult
        var session: TLSSession
        var client: PeerProcess
        var socket: Int32
    }

    /// Starts `openssl s_client` with `arguments` against a fresh listener and runs the server
    /// side of the handshake. The caller closes `socket`.
    func serve(
        _ context: TLSContext,
        clientCertificate: (String, String)? = nil,
        _ arguments: [String] = []
    ) throws -> Served {
        let listener = try TestListener()
        var clientArguments = [
            "s_client", "-connect", "127.0.0.1:\(listener.port)", "-quiet", "-nocommands",
            "-verify_return_error", "-CAfile", certificates.ca, "-servername", "localhost",
        ]
        if let (certificate, key) = clientCertificate { clientArguments += ["-cert", certificate, "-key", key] }
        let client = try PeerProcess(PeerProcess.openssl, clientArguments + arguments)
        let socket = try listener.accept()
        let session = try TLSSession(context: context, socket: socket)
        return Served(handshake: LoopHarness.handshake(session), session: session, client: client, socket: socket)
    }

    func expectFailure(_ served: Served, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .failed(let reason) = served.handshake else {
            let message = "handshake \(served.handshake), expected a failure mentioning \"\(text)\""
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
            return
        }
        #expect(reason.contains(text), "reason: \(reason)", sourceLocation: sourceLocation)
        #expect(served.client.waitForExit(timeout: 10), sourceLocation: sourceLocation)
    }

    @Test(arguments: [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
    func versionsAndEchoedBytes(option: String, version: String) throws {
        let served = try serve(try serverContext(.none), [option])
        defer { close(served.socket) }
        #expect(served.handshake == .done, "\(served.client.transcript)")
        guard served.handshake == .done else { return }
        #expect(served.session.protocolVersion == version)
        let cipher = try #require(served.session.cipher)
        #expect(cipher.contains("GCM") || cipher.contains("CHACHA20"))

        // More than one record's worth, so reads span records and drain what OpenSSL holds.
        let payload = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })
        served.client.send(payload, thenClose: true)
        let (received, ending) = LoopHarness.read(served.session, count: payload.count)
        #expect(ending == .bytes(payload.count))
        #expect(LoopHarness.write(served.session, received) == .written(payload.count))
        #expect(LoopHarness.shutdown(served.session) == .done)
        #expect(served.client.waitForOutput(timeout: 10) { $0.count >= payload.count })
        #expect(served.client.stdout == payload)
        #expect(served.client.waitForExit(timeout: 10))
    }

    @Test func tls1_1IsRefused() throws {
        // SECLEVEL=0 lets s_client offer TLS 1.1 at all; the refusal must be ours.
        let served = try serve(try serverContext(.none), ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        defer { close(served.socket) }
        expectFailure(served, containing: "unsupported protocol")
    }

    @Test func minimumVersionTLS1_3RefusesTLS1_2() throws {
        let served = try serve(try serverContext(.none) { $0.minimumVersion = .tls1_3 }, ["-tls1_2"])
        defer { close(served.socket) }
        expectFailure(served, containing: "unsupported protocol")
    }

    @Test func cipherSettingDecidesTheTLS1_2Suite() throws {
        let served = try serve(try serverContext(.none) { $0.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384" }, ["-tls1_2"])
        defer { close(served.socket) }
        #expect(served.handshake == .done, "\(served.client.transcript)")
        #expect(served.session.cipher == "ECDHE-ECDSA-AES256-GCM-SHA384")
        served.client.closeInput()
        _ = LoopHarness.shutdown(served.session)
    }

    @Test func plaintextAssociateRequestIsRefused() throws {
        let listener = try TestListener()
        let client = try connectToLoopback(port: listener.port, timeout: 10)
        defer { close(client) }
        let socket = try listener.accept()
        defer { close(socket) }
        // The start of an A-ASSOCIATE-RQ: PDU type 01, reserved, length, protocol version 1.
        var request: [UInt8] = [0x01, 0x00, 0x00, 0x00, 0x00, 0x44, 0x00, 0x01, 0x00, 0x00]
        request += Array("QRSCPD          STORESCU        ".utf8) + [UInt8](repeating: 0, count: 32)
        #expect(Glibc.write(client, request, request.count) == request.count)
        let session = try TLSSession(context: try serverContext(.none), socket: socket)
        let handshake = LoopHarness.handshake(session)
        guard case .failed(let reason) = handshake else {
            Issue.record("handshake \(handshake), expected a refusal of plaintext")
            return
        }
        #expect(reason.contains("wrong version number"), "reason: \(reason)")
    }

    @Test func kernelTLSSendAgreesWithTheKernelModule() throws {
        let served = try serve(try serverContext(.none), ["-tls1_3"])
        defer { close(served.socket) }
        #expect(served.handshake == .done)
        // The kernel's tls module registers /proc/net/tls_stat; without it OpenSSL keeps the
        // encryption and SSL_write is the path.
        let moduleLoaded = FileManager.default.fileExists(atPath: "/proc/net/tls_stat")
        #expect(served.session.isKernelTLSSend == moduleLoaded)
        served.client.closeInput()
        _ = LoopHarness.shutdown(served.session)
    }

    @Test func requiredClientCertificateIsVerifiedAndRead() throws {
        let served = try serve(try serverContext(.required), clientCertificate: certificates.client)
        defer { close(served.socket) }
        #expect(served.handshake == .done, "\(served.client.transcript)")
        let peer = try #require(served.session.peerCertificate)
        #expect(peer.commonName == "STORESCU-HOST")
        #expect(peer.subject.contains("CN=STORESCU-HOST"))
        #expect(peer.alternativeNames == [.dns("modality.example"), .email("pacs@modality.example")])
        served.client.closeInput()
        _ = LoopHarness.shutdown(served.session)
    }

    @Test func requiredClientCertificateMissingIsRefused() throws {
        let served = try serve(try serverContext(.required))
        defer { close(served.socket) }
        expectFailure(served, containing: "peer did not return a certificate")
    }

    @Test func optionalClientCertificate() throws {
        let without = try serve(try serverContext(.optional))
        defer { close(without.socket) }
        #expect(without.handshake == .done, "\(without.client.transcript)")
        #expect(without.session.peerCertificate == nil)
        without.client.closeInput()

        let with = try serve(try serverContext(.optional), clientCertificate: certificates.client)
        defer { close(with.socket) }
        #expect(with.handshake == .done, "\(with.client.transcript)")
        #expect(with.session.peerCertificate?.commonName == "STORESCU-HOST")
        with.client.closeInput()

        // Optional still means a certificate that is presented must verify.
        let stranger = try serve(try serverContext(.optional), clientCertificate: certificates.stranger)
        defer { close(stranger.socket) }
        expectFailure(stranger, containing: "unable to get local issuer certificate")
    }

    @Test func noClientCertificateIsAskedFor() throws {
        let served = try serve(try serverContext(.none), clientCertificate: certificates.client)
        defer { close(served.socket) }
        #expect(served.handshake == .done, "\(served.client.transcript)")
        #expect(served.session.peerCertificate == nil)
        served.client.closeInput()
    }

    @Test func certificateFromAnotherCAIsRefusedWithAReadableReason() throws {
        let served = try serve(try serverContext(.required), clientCertificate: certificates.stranger)
        defer { close(served.socket) }
        expectFailure(served, containing: "certificate verification failed: unable to get local issuer certificate")
    }

    @Test func expiredClientCertificateIsRefused() throws {
        let served = try serve(try serverContext(.required), clientCertificate: certificates.expired)
        defer { close(served.socket) }
        expectFailure(served, containing: "certificate has expired")
    }

    @Test func bytesBeforeCloseNotifyComeFirstThenTheEnd() throws {
        // Without -quiet, s_client ends at stdin's end: its data, close_notify, then the close.
        // TLS 1.2 so that nothing the server sent is left unread at the client (see below).
        let listener = try TestListener()
        let client = try PeerProcess(
            PeerProcess.openssl,
            [
                "s_client", "-connect", "127.0.0.1:\(listener.port)", "-nocommands", "-tls1_2",
                "-verify_return_error", "-CAfile", certificates.ca, "-servername", "localhost",
            ])
        let socket = try listener.accept()
        defer { close(socket) }
        let session = try TLSSession(context: try serverContext(.none), socket: socket)
        #expect(LoopHarness.handshake(session) == .done)
        client.send(Data("goodbye".utf8), thenClose: true)
        #expect(client.waitForExit(timeout: 10), "\(client.transcript)")
        // Data and close_notify are both waiting: one read returns the bytes, the next the end.
        var buffer = [UInt8](repeating: 0, count: 4096)
        #expect(LoopHarness.wait(socket, for: Int16(POLLIN), until: Date().addingTimeInterval(10)))
        let first = buffer.withUnsafeMutableBytes { session.read(into: $0) }
        #expect(first == .bytes(7))
        #expect(Array(buffer[0..<7]) == Array("goodbye".utf8))
        #expect(buffer.withUnsafeMutableBytes { session.read(into: $0) } == .closed)
    }

    @Test func peerClosingWithoutCloseNotifyIsAnEndOfStream() throws {
        // TLS 1.2: nothing (such as 1.3's session tickets) is left unread at the client, whose
        // kernel would then answer the close with a reset instead of a FIN.
        let served = try serve(try serverContext(.none), ["-tls1_2"])
        defer { close(served.socket) }
        #expect(served.handshake == .done)
        served.client.send(Data("last words".utf8), thenClose: false)
        let (received, _) = LoopHarness.read(served.session, count: 10)
        #expect(received == Array("last words".utf8))
        // SIGKILL: the TCP connection ends with no close_notify.
        kill(served.client.process.processIdentifier, SIGKILL)
        let (_, ending) = LoopHarness.read(served.session, count: 1)
        #expect(ending == .closed)
    }
}

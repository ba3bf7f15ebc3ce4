// SPDX-License-Identifier: Apache-2.0
import Foundation
import TLS
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// TLSSession as a client (the C-MOVE side) against a real `openssl s_server`.
@Suite struct ClientSessionTests {
    let certificates: TestCertificates

    /// Fails every test of the suite, with the openssl CLI's message, when the certificates could not be made.
    init() throws { certificates = try TestCertificates.shared.get() }

    /// Starts `openssl s_server` with the test server certificate for one connection.
    func startServer() throws -> (PeerProcess, Int) {
        try PeerProcess.openSSLServer(certificate: certificates.serverCertificate, key: certificates.serverKey)
    }

    func connect(to port: Int, serverName: String, anchors: String) throws -> (TLSSession, TLSSession.HandshakeResult) {
        let context = try TLSContext(TLSConfiguration(trustAnchorsPath: anchors), role: .client)
        let socket = try connectNonBlocking(port: port)
        let session = try TLSSession(context: context, socket: socket, serverName: serverName)
        return (session, LoopHarness.handshake(session))
    }

    @Test(arguments: ["localhost", "127.0.0.1"])
    func verifiedServerReceivesOurBytes(serverName: String) throws {
        let (server, port) = try startServer()
        let (session, handshake) = try connect(to: port, serverName: serverName, anchors: certificates.ca)
        defer { close(session.socket) }
        #expect(handshake == .done, "\(server.transcript)")
        guard handshake == .done else { return }
        #expect(session.peerCertificate?.commonName == "localhost")
        #expect(session.peerCertificate?.alternativeNames == [.dns("localhost"), .ipAddress("127.0.0.1")])
        #expect(LoopHarness.write(session, Array("hello over TLS\n".utf8)) == .written(15))
        #expect(server.waitForOutput(timeout: 10) { String(decoding: $0, as: UTF8.self).contains("hello over TLS") })
        #expect(LoopHarness.shutdown(session) == .done)
        #expect(server.waitForExit(timeout: 10))
    }

    @Test func wrongHostnameIsRefused() throws {
        let (server, port) = try startServer()
        let (session, handshake) = try connect(to: port, serverName: "archive.wrong.example", anchors: certificates.ca)
        defer { close(session.socket) }
        guard case .failed(let reason) = handshake else {
            Issue.record("handshake \(handshake), expected a hostname mismatch")
            return
        }
        #expect(reason.contains("hostname mismatch"), "reason: \(reason)")
        #expect(reason.contains("CN=localhost"), "reason: \(reason)")
        server.waitForExit(timeout: 10)
    }

    @Test func serverFromAnotherCAIsRefused() throws {
        let (server, port) = try startServer()
        let (session, handshake) = try connect(to: port, serverName: "localhost", anchors: certificates.otherCA)
        defer { close(session.socket) }
        guard case .failed(let reason) = handshake else {
            Issue.record("handshake \(handshake), expected an untrusted server")
            return
        }
        #expect(reason.contains("unable to get local issuer certificate"), "reason: \(reason)")
        server.waitForExit(timeout: 10)
    }
}

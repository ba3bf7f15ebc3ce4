// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// Clients that shut down their sending side after their requests (`nc -q`, a Python socket
/// with shutdown(SHUT_WR)) still get every answer from the real daemon, then the connection
/// closes: on the HTTP port (answers produced on workers after the end of stream was read) and
/// on the DICOM port (a release asked for with the last PDU).
@Suite("Half-closed clients (raw sockets)", .serialized, .enabled(if: WebDaemon.enabled), .timeLimit(.minutes(3)))
struct HalfCloseInteropTests {
    @Test("HTTP: pipelined requests then a half-close are all answered in order, then the connection closes")
    func http() throws {
        let web = try WebDaemon()
        let c = try RawHTTPConnection(port: web.httpPort)
        try c.send(
            "GET /dicom-web/studies HTTP/1.1\r\nHost: t\r\n\r\n"
                + "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
                + "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n")
        c.shutdownSending()
        let statuses = (0..<3).compactMap { _ in c.readResponse() }.map(\.status)
        // An empty archive: the search (answered from a worker) has no match, 204.
        #expect(statuses == [204, 200, 404], "\(web.daemon.log.suffix(2000))")
        #expect(c.closedByServer())
    }

    @Test("HTTP: a half-close in the middle of a request's body closes the connection")
    func httpIncompleteBody() throws {
        let web = try WebDaemon()
        let c = try RawHTTPConnection(port: web.httpPort)
        try c.send(
            "POST /dicom-web/studies HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n"
                + "Content-Type: multipart/related; type=\"application/dicom\"; boundary=b\r\n\r\n--b\r\n")
        c.shutdownSending()
        #expect(c.closedByServer())
        #expect(web.curl(["-o", "/dev/null", "-w", "%{http_code}"], path: "/metrics").stdout == "200")
    }

    @Test("DICOM: C-ECHO-RQ and A-RELEASE-RQ then a half-close get the C-ECHO-RSP and the A-RELEASE-RP")
    func dicomRelease() throws {
        let web = try WebDaemon()
        let socket = try RawDICOMSocket(port: web.daemon.port)
        socket.send(HandMadePDUs.associateRequest(called: web.daemon.aeTitle))
        let accept = try #require(socket.receivePDU())
        #expect(accept.type == 0x02)
        socket.send(
            HandMadePDUs.pData(contextID: 1, controlHeader: 0x03, fragment: HandMadePDUs.echoCommand(messageID: 9))
                + HandMadePDUs.releaseRequest)
        socket.shutdownSending()
        let response = try #require(socket.receivePDU(), "\(web.daemon.log.suffix(2000))")
        #expect(response.type == 0x04)
        let release = try #require(socket.receivePDU(), "\(web.daemon.log.suffix(2000))")
        #expect(release.type == 0x06)
        #expect(socket.receiveUntilClosed(timeout: 10) == ([], true))
    }
}

// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// Clients that shut down their sending side after their requests (`nc -q`, a Python socket
/// with shutdown(SHUT_WR)) still get every answer from the real daemon, then the connection
/// closes: on the HTTP port (answers produced on workers after the end of stream was read) and
/// on the DICOM port (a release asked for right after a store, answered once the store is).
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

    @Test("HTTP: a half-close in the middle of a request's head or body closes the connection at once")
    func httpIncompleteRequest() throws {
        let web = try WebDaemon()
        let head = try RawHTTPConnection(port: web.httpPort)
        try head.send("GET /metrics HTTP/1.1\r\nHost: t\r\n")
        head.shutdownSending()
        #expect(head.closedByServer(), "closed without waiting for the header timeout's 408")
        let c = try RawHTTPConnection(port: web.httpPort)
        try c.send(
            "POST /dicom-web/studies HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n"
                + "Content-Type: multipart/related; type=\"application/dicom\"; boundary=b\r\n\r\n--b\r\n")
        c.shutdownSending()
        #expect(c.closedByServer())
        #expect(web.curl(["-o", "/dev/null", "-w", "%{http_code}"], path: "/metrics").stdout == "200")
    }

    @Test(
        "DICOM: C-STORE-RQ and A-RELEASE-RQ then a half-close get the C-STORE-RSP (after the commit) and the A-RELEASE-RP"
    )
    func dicomRelease() throws {
        let web = try WebDaemon()
        let socket = try RawDICOMSocket(port: web.daemon.port)
        socket.send(HandMadeStore.associateRequest(called: web.daemon.aeTitle))
        let accept = try #require(socket.receivePDU())
        #expect(accept.type == 0x02)
        // The release waits for the store, which answers from a worker after the end of stream.
        let store = HandMadeStore.storeRequestPDUs(instanceUID: "1.2.826.0.1.3680043.10.1489.96.1", pixelBytes: 4096)
        socket.send(store.command + store.dataSet.joined() + HandMadePDUs.releaseRequest)
        socket.shutdownSending()
        let response = try #require(socket.receivePDU(), "\(web.daemon.log.suffix(2000))")
        #expect(response.type == 0x04 && response.body.containsSubsequence(HandMadeStore.successStatus))
        let release = try #require(socket.receivePDU(), "\(web.daemon.log.suffix(2000))")
        #expect(release.type == 0x06)
        #expect(socket.receiveUntilClosed(timeout: 10) == ([], true))
    }
}

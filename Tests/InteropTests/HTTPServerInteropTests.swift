// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// The HTTP/1.1 server's protocol edges against the real daemon: curl for keep-alive, limits,
/// unknown routes and CORS; a raw socket for pipelining, a half-sent head and a client that
/// stops reading (curl does neither).
@Suite("HTTP server (curl, raw sockets)", .serialized, .enabled(if: WebDaemon.enabled), .timeLimit(.minutes(5)))
struct HTTPServerInteropTests {
    @Test("keep-alive: two requests with curl share one connection")
    func keepAlive() throws {
        let web = try WebDaemon()
        let r = ExternalTool.run(
            "/usr/bin/curl",
            [
                "-s", "-m", "20", "-o", "/dev/null", "-o", "/dev/null",
                "-w", "%{http_code} %{num_connects}\\n",
                "\(web.base)/metrics", "\(web.dicomWeb)/studies",
            ], timeout: 30)
        #expect(r.succeeded, "\(r.transcript)")
        // An empty archive: the search has no match (204, PS3.18 §8.3.4.4.1).
        #expect(r.stdout.split(separator: "\n") == ["200 1", "204 0"], "\(r.transcript)")
    }

    @Test("pipelining: three requests in one write are answered in order on one connection")
    func pipelining() throws {
        let web = try WebDaemon()
        let c = try RawHTTPConnection(port: web.httpPort)
        try c.send(
            "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
                + "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n"
                + "GET /dicom-web/studies?limit=x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let statuses = (0..<3).compactMap { _ in c.readResponse() }.map(\.status)
        #expect(statuses == [200, 404, 400])
        #expect(c.readResponse() == nil, "the connection closes after the request with Connection: close")
    }

    @Test("limits: oversized header 431, oversized target 414, oversized body 413, malformed request 400, each logged")
    func limits() throws {
        let web = try WebDaemon()
        let big = String(repeating: "a", count: 20_000)
        let header = web.curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Big: \(big)"], path: "/metrics")
        #expect(header.stdout == "431", "\(header.transcript)")
        let target = web.curl(
            ["-o", "/dev/null", "-w", "%{http_code}"], path: "/\(String(repeating: "b", count: 9000))")
        #expect(target.stdout == "414", "\(target.transcript)")
        let form = web.curl(["-o", "/dev/null", "-w", "%{http_code}", "--request-target", "no-slash"], path: "/")
        #expect(form.stdout == "400", "\(form.transcript)")
        let body = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-body-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: body) }
        try Data(count: 2 << 20).write(to: body)
        let large = web.curl(
            ["-o", "/dev/null", "-w", "%{http_code}", "-X", "GET", "--data-binary", "@\(body.path)"], path: "/metrics")
        #expect(large.stdout == "413", "a body over 1 MiB for a handler that collects it: \(large.transcript)")
        let unread = web.curl(["-D", "-", "-o", "/dev/null", "--data-binary", "@\(body.path)"], path: "/nowhere")
        #expect(
            unread.stdout.hasPrefix("HTTP/1.1 404") && unread.stdout.contains("Connection: close"),
            "\(unread.transcript)")
        let c = try RawHTTPConnection(port: web.httpPort)
        try c.send("GET /metrics HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n")
        #expect(c.readResponse()?.status == 400)
        let log = web.daemon.log
        let refusals = log.split(separator: "\n").filter { $0.contains("HTTP request refused") }
        for status in ["431", "414", "413", "400"] {
            #expect(refusals.contains { $0.contains("http_status=\(status)") }, "\(log.suffix(3000))")
        }
    }

    @Test("a head not finished within the header timeout is answered 408")
    func headerTimeout() throws {
        let web = try WebDaemon()
        let c = try RawHTTPConnection(port: web.httpPort, timeout: 60)
        try c.send("GET /metrics HTTP/1.1\r\nHost: t\r\n")
        #expect(c.readResponse()?.status == 408)
    }

    @Test("unknown routes 404, wrong method 405 with Allow")
    func routes() throws {
        let web = try WebDaemon()
        let missing = web.curl(["-o", "/dev/null", "-w", "%{http_code}"], path: "/dicom-web/nothing/here")
        #expect(missing.stdout == "404", "\(missing.transcript)")
        let post = web.curl(["-D", "-", "-o", "/dev/null", "-X", "POST"], path: "/metrics")
        #expect(post.stdout.hasPrefix("HTTP/1.1 405"), "\(post.transcript)")
        #expect(post.stdout.contains("Allow: GET, HEAD, OPTIONS"), "\(post.transcript)")
        #expect(web.daemon.log.contains("http_route=none"), "every request is logged")
    }

    @Test("CORS: preflight from an allowed origin, refusal for another, headers on simple requests")
    func cors() throws {
        let web = try WebDaemon()
        let preflight = web.curl(
            [
                "-D", "-", "-o", "/dev/null", "-X", "OPTIONS", "-H", "Origin: \(WebDaemon.allowedOrigin)",
                "-H", "Access-Control-Request-Method: GET",
                "-H", "Access-Control-Request-Headers: accept, x-requested-with",
            ], path: "/dicom-web/studies")
        #expect(preflight.stdout.hasPrefix("HTTP/1.1 204"), "\(preflight.transcript)")
        #expect(
            preflight.stdout.contains("Access-Control-Allow-Origin: \(WebDaemon.allowedOrigin)"),
            "\(preflight.transcript)")
        #expect(preflight.stdout.contains("Access-Control-Allow-Methods: GET"), "\(preflight.transcript)")
        #expect(
            preflight.stdout.contains("Access-Control-Allow-Headers: accept, x-requested-with"),
            "\(preflight.transcript)")
        let other = web.curl(
            [
                "-o", "/dev/null", "-w", "%{http_code}", "-X", "OPTIONS", "-H", "Origin: http://evil.example",
                "-H", "Access-Control-Request-Method: GET",
            ], path: "/dicom-web/studies")
        #expect(other.stdout == "403", "\(other.transcript)")
        let simple = web.curl(
            ["-D", "-", "-o", "/dev/null", "-H", "Origin: \(WebDaemon.allowedOrigin)"], path: "/metrics")
        #expect(
            simple.stdout.contains("Access-Control-Allow-Origin: \(WebDaemon.allowedOrigin)"), "\(simple.transcript)")
        #expect(simple.stdout.contains("Vary: Origin"), "\(simple.transcript)")
        let foreign = web.curl(["-D", "-", "-o", "/dev/null", "-H", "Origin: http://evil.example"], path: "/metrics")
        #expect(!foreign.stdout.contains("Access-Control-Allow-Origin"), "\(foreign.transcript)")
    }

    @Test("socket activation: the socket named http serves HTTP, the other DICOM")
    func socketActivation() throws {
        let activate = "/usr/bin/systemd-socket-activate"
        guard ExternalTool.require(activate) else { return }
        let scratch = try LifecycleScratch()
        let dicomPort = try freeLoopbackPort()
        let httpPort = try freeLoopbackPort()
        // Neither the port argument (1) nor an http.port is bound: the passed sockets are served.
        let daemon = try LaunchedDaemon(
            executable: activate,
            arguments: [
                "-l", "127.0.0.1:\(dicomPort)", "-l", "127.0.0.1:\(httpPort)", "--fdname=dicom:http",
                PackagePaths.daemonBinary, "1", "QRSCPD", "--storage-dir", scratch.path + "/storage",
            ],
            environment: [:], scratch: scratch)
        defer { daemon.kill() }
        // systemd-socket-activate binds first and execs qrscpd on the first connection. (No
        // curl here: a Foundation Process started while this one runs is not always reaped.)
        let connected = daemon.firstConnection { try RawHTTPConnection(port: httpPort, timeout: 30) }
        let http = try #require(connected, "systemd-socket-activate did not listen\n\(daemon.output)")
        try http.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(http.readResponse()?.status == 200, "\(daemon.output)")
        let dicom = try RawDICOMSocket(port: dicomPort, timeout: 10)
        #expect(dicom.send(HandMadePDUs.associateRequest(called: "QRSCPD")))
        #expect(dicom.receivePDU()?.type == 0x02, "\(daemon.output)")
        dicom.close()
        #expect(daemon.stderr.contains("serving HTTP on the socket passed by systemd"), "\(daemon.output)")
        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
    }

    @Test("a client that stops reading a large answer holds neither the server nor its memory")
    func stalledReader() throws {
        let truth = try FixtureArchive.truth()
        let web = try WebDaemon(storageDirectory: try FixtureArchive.master(), expectedInstances: truth.instances.count)
        let before = web.daemon.residentKiB
        // Eight pipelined searches of every instance with every field: far more than the socket
        // buffers hold, with a receive window of a few KiB.
        let requests = 8
        let stalled = try RawHTTPConnection(port: web.httpPort, timeout: 120, receiveBufferSize: 4096)
        try stalled.send(
            String(repeating: "GET /dicom-web/instances?includefield=all HTTP/1.1\r\nHost: t\r\n\r\n", count: requests))
        // Another client is served while the first reads nothing.
        for _ in 0..<3 {
            let other = web.curl(["-o", "/dev/null", "-w", "%{http_code}"], path: "/dicom-web/studies")
            #expect(other.stdout == "200", "\(other.transcript)")
        }
        let grown = web.daemon.residentKiB - before
        #expect(grown < 16 * 1024, "RSS grew by \(grown) KiB while a client held back \(requests) large answers")
        // Reading resumes: every answer arrives whole, in order.
        var sizes: [Int] = []
        for _ in 0..<requests {
            let response = try #require(stalled.readResponse())
            #expect(response.status == 200)
            let array = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [Any])
            #expect(array.count == truth.instances.count)
            sizes.append(response.body.count)
        }
        #expect(sizes.reduce(0, +) > 16 * 1024 * 1024, "the answers must exceed what buffers hold: \(sizes)")
    }
}

// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import HTTP1

@Suite("HTTP/1.1 request parser: RFC 9112 rules, byte exact")
struct RequestParserTests {
    @Test("a GET: request line, fields in order with case kept, no body, keep-alive by default (§3, §5, §9.3)")
    func simpleGet() throws {
        let events = feed(
            "GET /dicom-web/studies?PatientID=1 HTTP/1.1\r\nHost: a\r\nAccept: application/dicom+json\r\n\r\n")
        #expect(events.count == 2)
        guard case .head(let h) = events.first else {
            Issue.record("no head")
            return
        }
        #expect(h.method == "GET")
        #expect(h.target == "/dicom-web/studies?PatientID=1")
        #expect(h.path == "/dicom-web/studies")
        #expect(h.query == "PatientID=1")
        #expect(h.version == .http1_1)
        #expect(
            h.fields.lines == [
                HTTPField(name: "Host", value: "a"),
                HTTPField(name: "Accept", value: "application/dicom+json"),
            ])
        #expect(h.fields["ACCEPT"] == "application/dicom+json")
        #expect(h.framing == .none)
        #expect(h.keepAlive)
        #expect(!h.expectsContinue)
        #expect(events[1] == .end)
    }

    @Test("field values lose surrounding OWS, keep inner spaces; obs-text kept byte for byte (§5.1, RFC 9110 §5.5)")
    func fieldValues() {
        var raw = bytes("GET / HTTP/1.1\r\nHost:   a b \t\r\nX-Name: ")
        raw += [0xE9, 0x41]
        raw += bytes("\r\n\r\n")
        guard case .head(let h) = feed([raw]).events.first else {
            Issue.record("no head")
            return
        }
        #expect(h.fields["host"] == "a b")
        #expect(h.fields["x-name"] == "\u{E9}A")
    }

    @Test("duplicate field lines stay separate and combine with \", \" (RFC 9110 §5.3)")
    func duplicates() {
        guard case .head(let h) = feed("GET / HTTP/1.1\r\nHost: a\r\nAccept: a/b\r\naccept: c/d\r\n\r\n").first else {
            Issue.record("no head")
            return
        }
        #expect(h.fields.values("Accept") == ["a/b", "c/d"])
        #expect(h.fields["accept"] == "a/b, c/d")
    }

    @Test("bare LF line endings are accepted (§2.2)")
    func bareLF() {
        let events = feed("GET / HTTP/1.1\nHost: a\n\n")
        #expect(events.count == 2)
        #expect(events.last == .end)
    }

    @Test("up to two empty lines before a request line are ignored, a third is refused (§2.2)")
    func leadingEmptyLines() {
        #expect(feed("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").count == 2)
        #expect(feed("\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") == [.error(400)])
    }

    @Test(
        "malformed request lines get 400; a version other than 1.x gets 505 (§3, §2.3)",
        arguments: [
            ("GET  / HTTP/1.1", 400), ("GET /  HTTP/1.1", 400), ("GET / HTTP/1.1 ", 400), (" GET / HTTP/1.1", 400),
            ("GET /", 400), ("G(T / HTTP/1.1", 400), ("GET /a\u{7F} HTTP/1.1", 400), ("GET / http/1.1", 400),
            ("GET / HTTP/1.10", 400), ("GET / HTTP/11", 400), ("GET / HTTP/2.0", 505), ("GET / HTTP/0.9", 505),
            ("GET /\ra HTTP/1.1", 400),
        ])
    func badRequestLine(line: String, status: Int) {
        #expect(feed(line + "\r\nHost: a\r\n\r\n") == [.error(status)])
    }

    @Test(
        "bad field lines get 400: folding, space before colon, no colon, empty name, controls (§5.1, §5.2, RFC 9110 §5.5)",
        arguments: ["X: a\r\n b", "X : a", "X a", ": a", "X: a\u{0}b", "X: a\rb", "X: a\u{1}", "X\u{7F}: a"])
    func badFieldLine(line: String) {
        #expect(feed("GET / HTTP/1.1\r\nHost: a\r\n" + line + "\r\n\r\n") == [.error(400)])
    }

    @Test("Host: required once in HTTP/1.1, optional in 1.0, never twice (§3.2)")
    func host() {
        #expect(feed("GET / HTTP/1.1\r\n\r\n") == [.error(400)])
        #expect(feed("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == [.error(400)])
        #expect(feed("GET / HTTP/1.0\r\n\r\n").last == .end)
    }

    @Test(
        "Content-Length: body delivered exactly; identical repeats allowed; differing or bad values 400 (§6.3, RFC 9110 §8.6)"
    )
    func contentLength() {
        let ok = feed("POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET")
        #expect(ok.count == 3)
        #expect(ok[1] == .body(bytes("hello")))
        #expect(ok[2] == .end)
        if case .head(let h) = ok[0] { #expect(h.framing == .length(5)) }
        #expect(
            feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc")[1]
                == .body(bytes("abc")))
        for bad in ["3, 4", "-1", "+3", "0x3", "", "3 3", "3;"] {
            #expect(feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(bad)\r\n\r\n") == [.error(400)], "\(bad)")
        }
        #expect(feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n") == [.error(400)])
        #expect(feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").last == .end)
    }

    @Test("body size over the limit: 413 from Content-Length at once and from chunk sizes (§6.3)")
    func bodyLimit() {
        let limits = HTTPParserLimits(maxBodyLength: 10)
        #expect(feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", limits: limits) == [.error(413)])
        #expect(feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n") == [.error(413)])
        let chunked = feed(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n", limits: limits)
        #expect(chunked.dropFirst() == [.body(bytes("abcdef")), .error(413)])
        #expect(
            feed("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n").last
                == .error(413))
    }

    @Test("chunked: sizes in hex, extensions ignored, trailers checked and dropped (§7.1)")
    func chunked() {
        let events = feed(
            "POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
                + "5;name=value;x\r\nhello\r\nA \t; ext=\"q\"\r\n0123456789\r\n000\r\nX-Checksum: 1\r\n\r\n")
        guard case .head(let h) = events.first else {
            Issue.record("no head")
            return
        }
        #expect(h.framing == .chunked)
        #expect(Array(events.dropFirst()) == [.body(bytes("hello0123456789")), .end])
    }

    @Test(
        "chunked framing errors get 400",
        arguments: [
            "x\r\n", "\r\n", "5\r\nhelloX\r\n", "5 x\r\n", "5;a\u{1}\r\n", "0\r\nX : 1\r\n\r\n", "0\r\n folded\r\n\r\n",
        ])
    func chunkedErrors(bodyText: String) {
        let events = feed("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + bodyText)
        #expect(events.last == .error(400))
    }

    @Test(
        "Transfer-Encoding: with Content-Length 400, in HTTP/1.0 400, chunked not last 400, twice 400, other codings 501 (§6.1, §6.3)"
    )
    func transferEncoding() {
        let head = "POST / HTTP/1.1\r\nHost: a\r\n"
        #expect(feed(head + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") == [.error(400)])
        #expect(feed("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == [.error(400)])
        #expect(feed(head + "Transfer-Encoding: chunked, gzip\r\n\r\n") == [.error(400)])
        #expect(feed(head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") == [.error(400)])
        #expect(feed(head + "Transfer-Encoding: gzip, chunked\r\n\r\n") == [.error(501)])
        #expect(feed(head + "Transfer-Encoding:\r\n\r\n") == [.error(400)])
    }

    @Test("limits: request line → 414, header bytes and count → 431, trailers → 431, chunk line → 400")
    func limits() {
        let limits = HTTPParserLimits(
            maxRequestLineLength: 20, maxHeaderBytes: 40, maxHeaderCount: 3,
            maxTrailerBytes: 16, maxChunkLineLength: 8)
        #expect(feed("GET /012345 HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits).last == .end)  // 20 bytes
        #expect(feed("GET /01234567 HTTP/1.1\r\nHost: a\r\n\r\n", limits: limits) == [.error(414)])
        // Without any line ending the limit still applies: no unbounded wait.
        #expect(feed(String(repeating: "A", count: 22), limits: limits) == [.error(414)])
        #expect(
            feed("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 40) + "\r\n\r\n", limits: limits)
                == [.error(431)])
        #expect(
            feed("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 40), limits: limits) == [
                .error(431)
            ])
        #expect(feed("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits) == [.error(431)])
        #expect(feed("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits).last == .end)
        let chunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(feed(chunkedHead + "0\r\nX-A: 1234567890\r\n\r\n", limits: limits).last == .error(431))
        #expect(feed(chunkedHead + "0\r\nX-A: 12345\r\n\r\n", limits: limits).last == .end)
        #expect(feed(chunkedHead + "1;abcdefgh\r\n", limits: limits).last == .error(400))
    }

    @Test("keep-alive: 1.1 unless close, 1.0 only with keep-alive; a closing request ends parsing (§9.3, §9.6)")
    func keepAlive() {
        func head(_ text: String) -> HTTPRequestHead? {
            if case .head(let h) = feed(text).first { return h }
            return nil
        }
        #expect(head("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n")?.keepAlive == false)
        #expect(head("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n")?.keepAlive == false)
        #expect(head("GET / HTTP/1.0\r\n\r\n")?.keepAlive == false)
        #expect(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")?.keepAlive == true)
        let closing = feed([
            bytes("GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
        ])
        #expect(closing.events.count == 2)
        #expect(closing.phase == .closed)
        #expect(closing.leftover > 0)
    }

    @Test("Expect: 100-continue flagged on HTTP/1.1 only (RFC 9110 §10.1.1)")
    func expectContinue() {
        if case .head(let h) = feed("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")
            .first
        {
            #expect(h.expectsContinue)
        } else {
            Issue.record("no head")
        }
        if case .head(let h) = feed("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").first {
            #expect(!h.expectsContinue)
        } else {
            Issue.record("no head")
        }
    }

    @Test("pipelining: three requests in one buffer come out in order, bodies sliced from the input")
    func pipelining() {
        let input = bytes(
            "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                + "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
                + "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n")
        var parser = HTTPRequestParser()
        let (events, consumed) = parser.parse(input[...])
        #expect(consumed == input.count)
        #expect(parser.phase == .idle)
        let targets = events.compactMap { if case .head(let h) = $0 { return h.target } else { return nil } }
        #expect(targets == ["/a", "/b", "/c"])
        // No copy: a body event is a slice of the caller's array.
        let slices = events.compactMap { if case .body(let b) = $0 { return b } else { return nil } }
        #expect(slices.count == 2)
        let base = input.withUnsafeBufferPointer { $0.baseAddress! }
        #expect(slices[0].withUnsafeBufferPointer { $0.baseAddress! } == base + slices[0].startIndex)
        #expect(Array(slices[0]) == bytes("xyz"))
        #expect(Array(slices[1]) == bytes("hi"))
    }

    @Test("an error is final: later input is ignored and the parser says closed")
    func errorIsFinal() {
        var parser = HTTPRequestParser()
        let step = parser.next(bytes("BAD\r\n")[...])
        #expect(step == .event(.error(HTTPParseError(status: 400, reason: "malformed request line")), consumed: 0))
        #expect(parser.phase == .failed)
        #expect(parser.next(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n")[...]) == .closed)
    }

    @Test("timeouts and peer close: 408/400 mid-request, nothing when idle (the reactor closes)")
    func timeouts() {
        var idle = HTTPRequestParser()
        #expect(idle.timedOut() == nil)
        #expect(idle.phase == .closed)
        var inHead = HTTPRequestParser()
        #expect(inHead.next(bytes("GET / HT")[...]) == .needMoreBytes)
        #expect(inHead.phase == .receivingHead)
        #expect(inHead.timedOut()?.status == 408)
        #expect(inHead.phase == .failed)
        var inBody = HTTPRequestParser()
        _ = inBody.parse(bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nab")[...])
        #expect(inBody.phase == .receivingBody)
        #expect(inBody.peerClosed()?.status == 400)
        var between = HTTPRequestParser()
        _ = between.parse(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n")[...])
        #expect(between.phase == .idle)
        #expect(between.peerClosed() == nil)
        #expect(between.phase == .closed)
    }
}

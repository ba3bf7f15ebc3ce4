// SPDX-License-Identifier: Apache-2.0
import HTTP1
import Testing

@Suite("HTTP/1.1 response head writer and chunked framing (RFC 9112 §4, §7.1)")
struct ResponseWriterTests {
    @Test("status line, fields, empty line, byte for byte")
    func head() {
        let head = HTTPResponseHead(
            status: 200, fields: ["Content-Type": "application/dicom+json", "Content-Length": "2"])
        #expect(
            String(decoding: head.encoded, as: UTF8.self)
                == "HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: 2\r\n\r\n")
        #expect(
            String(decoding: HTTPResponseHead(status: 431).encoded, as: UTF8.self)
                == "HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n")
        #expect(String(decoding: HTTPResponseHead(status: 299).encoded, as: UTF8.self) == "HTTP/1.1 299 \r\n\r\n")
    }

    @Test("CR, LF and other controls in values cannot start a field or end the head")
    func injection() {
        let head = HTTPResponseHead(status: 404, reason: "Not\r\nFound", fields: ["X-Path": "/a\r\nSet-Cookie: x\u{0}"])
        #expect(
            String(decoding: head.encoded, as: UTF8.self)
                == "HTTP/1.1 404 Not  Found\r\nX-Path: /a  Set-Cookie: x \r\n\r\n")
    }

    @Test("chunked framing parses back with our own parser to the same body")
    func chunkedRoundTrip() {
        var body: [UInt8] = []
        let payloads = [
            Array(repeating: UInt8(ascii: "a"), count: 1), Array(repeating: UInt8(ascii: "b"), count: 255),
            Array(repeating: UInt8(ascii: "c"), count: 4096), [],
        ]
        for p in payloads { HTTPChunkedFraming.appendChunk(p, to: &body) }
        body += HTTPChunkedFraming.lastChunk
        #expect(HTTPChunkedFraming.chunkHeader(length: 255) == Array("ff\r\n".utf8))
        #expect(Array(body.prefix(6)) == Array("1\r\na\r\n".utf8))
        let request = Array("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".utf8) + body
        let events = feed([request], limits: HTTPParserLimits(maxBodyLength: 1 << 20)).events
        #expect(events.dropFirst() == [.body(payloads.flatMap { $0 }), .end])
    }
}

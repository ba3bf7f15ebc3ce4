// SPDX-License-Identifier: Apache-2.0
import HTTP1
import TestSupport
import Testing

/// The parser is incremental: how the bytes are cut into reads must not change what it finds.
@Suite("HTTP/1.1 parser verifier: all at once, byte by byte and random splits agree")
struct SplitVerifierTests {
    /// Streams covering every path: pipelined requests, both body framings, extensions,
    /// trailers, bare LF, leading empty lines, and each kind of refusal at its end.
    static let streams: [String] = [
        "GET /a HTTP/1.1\r\nHost: a\r\n\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"
            + "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n"
            + "GET /d HTTP/1.0\nConnection: keep-alive\n\nGET /e HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /ignored",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n5\r\nabcdeXY",
        "GET /" + String(repeating: "x", count: 300) + " HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X-Long: 0123456789\r\n", count: 40) + "\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "A: 1\r\n", count: 30) + "\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nshort",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFF\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n"
            + String(repeating: "T: 1\r\n", count: 20) + "\r\n",
        "GET / HTTP/2.0\r\n\r\n",
    ]
    static let limits = HTTPParserLimits(
        maxRequestLineLength: 256, maxHeaderBytes: 512, maxHeaderCount: 20,
        maxBodyLength: 4096, maxTrailerBytes: 64, maxChunkLineLength: 32)

    @Test("identical events and leftover for every stream", arguments: 0..<streams.count)
    func splits(index: Int) {
        let stream = Array(Self.streams[index].utf8)
        let atOnce = feed([stream], limits: Self.limits)
        #expect(!atOnce.events.isEmpty)
        let byteByByte = feed(stream.map { [$0] }, limits: Self.limits)
        #expect(byteByByte.events == atOnce.events)
        #expect(byteByByte.leftover == atOnce.leftover)
        #expect(byteByByte.phase == atOnce.phase)
        var rng = SplitMix64(seed: UInt64(index) &+ 0x4854_5450)
        for _ in 0..<200 {
            var pieces: [[UInt8]] = []
            var at = 0
            while at < stream.count {
                let n = Int.random(in: 0...min(40, stream.count - at), using: &rng)
                pieces.append(Array(stream[at..<(at + n)]))
                at += n
            }
            let random = feed(pieces, limits: Self.limits)
            #expect(random.events == atOnce.events)
            #expect(random.leftover == atOnce.leftover)
            #expect(random.phase == atOnce.phase)
        }
    }

    @Test("the first stream gives the events it should")
    func expectedEvents() {
        let events = feed([Array(Self.streams[0].utf8)], limits: Self.limits).events
        #expect(
            events.map(\.description) == [
                "head(GET /a)", "end", "head(POST /b)", "body(0123456789)", "end",
                "head(POST /c)", "body(abc0123456789abcdef)", "end", "head(GET /d)", "end", "head(GET /e)", "end",
            ])
    }

    @Test("seeded random bytes and mutated requests never trap and always end in a known state (20,000 runs)")
    func randomInput() {
        var rng = SplitMix64(seed: 0x5EED)
        let seeds = Self.streams.map { Array($0.utf8) }
        for _ in 0..<20_000 {
            var input = seeds[Int.random(in: 0..<seeds.count, using: &rng)]
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                input[Int.random(in: 0..<input.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            let result = feed([input], limits: Self.limits)
            for case .error(let status) in result.events {
                #expect([400, 413, 414, 431, 501, 505].contains(status))
            }
        }
    }
}

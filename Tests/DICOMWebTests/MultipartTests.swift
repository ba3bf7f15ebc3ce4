// SPDX-License-Identifier: Apache-2.0
import TestSupport
import Testing

@testable import DICOMWeb

/// Events with consecutive body slices joined, so different cuts of one input compare equal.
private func coalesced(_ events: [MultipartEvent]) -> [MultipartEvent] {
    var out: [MultipartEvent] = []
    for e in events {
        if case .partBody(let b) = e, case .partBody(let prev)? = out.last {
            out[out.count - 1] = .partBody(ArraySlice(Array(prev) + Array(b)))
        } else if case .partBody(let b) = e {
            out.append(.partBody(ArraySlice(Array(b))))
        } else {
            out.append(e)
        }
    }
    return out
}

/// Feeds `pieces` through a ``MultipartStream`` (which copies nothing it need not keep), then ends.
private func streamed(
    _ pieces: [[UInt8]], boundary: String, maxHeaderBytes: Int = 8192,
    maxCarry: inout Int
) -> [MultipartEvent] {
    var stream = MultipartStream(parser: MultipartParser(boundary: boundary, maxHeaderBytes: maxHeaderBytes))
    var events: [MultipartEvent] = []
    for piece in pieces {
        stream.feed(piece[...]) { e in
            if case .partBody(let b) = e { events.append(.partBody(ArraySlice(Array(b)))) } else { events.append(e) }
        }
        maxCarry = max(maxCarry, stream.carry.count)
    }
    if let last = stream.finish() { events.append(last) }
    return coalesced(events)
}

@Suite("multipart/related writer and streaming parser")
struct MultipartTests {
    static let boundary = "b0undary"
    /// Bodies that look like delimiters without being one, and a CR LF at the end of a body.
    static let bodies: [[UInt8]] = [
        Array("DICM\r\n--b0undar\r\n-b0undary\r\r\n--b0und".utf8),
        [],
        Array("\r\n".utf8) + (0..<300).map { UInt8($0 % 256) } + Array("\r\n--".utf8),
    ]

    static func body(preamble: String = "", epilogue: String = "") -> [UInt8] {
        var w = MultipartWriter(boundary: boundary, partType: "application/dicom")
        var out = Array(preamble.utf8)
        for (i, b) in bodies.enumerated() {
            out += w.partHeader(contentType: "application/dicom", contentLocation: i == 1 ? "/x/\(i)" : nil)
            out += b
        }
        return out + w.closing + Array(epilogue.utf8)
    }

    static var expected: [MultipartEvent] {
        var e: [MultipartEvent] = []
        for (i, b) in bodies.enumerated() {
            var fields = [(name: "Content-Type", value: "application/dicom")]
            if i == 1 { fields.append((name: "Content-Location", value: "/x/1")) }
            e.append(.partHead(fields))
            if !b.isEmpty { e.append(.partBody(b[...])) }
            e.append(.partEnd)
        }
        return e + [.end]
    }

    @Test("the writer's output parses back into its parts, with preamble and epilogue ignored")
    func roundTrip() {
        var maxCarry = 0
        #expect(streamed([Self.body()], boundary: Self.boundary, maxCarry: &maxCarry) == Self.expected)
        let framed = Self.body(preamble: "preamble --b0undar\r\n", epilogue: "\r\nepilogue --b0undary\r\n")
        #expect(streamed([framed], boundary: Self.boundary, maxCarry: &maxCarry) == Self.expected)
    }

    @Test(
        "every cut into two chunks, every cut into three around each delimiter, and byte by byte give the same events")
    func everyCut() {
        let input = Self.body(preamble: "pre\r\n", epilogue: "epi")
        var maxCarry = 0
        for cut in 0...input.count {
            let events = streamed(
                [Array(input[..<cut]), Array(input[cut...])], boundary: Self.boundary, maxCarry: &maxCarry)
            #expect(events == Self.expected, "cut at \(cut)")
        }
        for a in stride(from: 0, through: input.count, by: 7) {
            for b in a...input.count {
                let pieces = [Array(input[..<a]), Array(input[a..<b]), Array(input[b...])]
                #expect(
                    streamed(pieces, boundary: Self.boundary, maxCarry: &maxCarry) == Self.expected, "cuts \(a), \(b)")
            }
        }
        #expect(streamed(input.map { [$0] }, boundary: Self.boundary, maxCarry: &maxCarry) == Self.expected)
    }

    @Test("a large part streams through with a carry no longer than a delimiter")
    func largePartIsNotHeld() {
        var w = MultipartWriter(boundary: Self.boundary, partType: "application/dicom")
        let header = w.partHeader(contentType: "application/dicom")
        let payload = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let input = header + payload + w.closing
        var pieces: [[UInt8]] = []
        var at = 0
        var rng = SplitMix64(seed: 7)
        while at < input.count {
            let n = min(input.count - at, Int.random(in: 1...70_000, using: &rng))
            pieces.append(Array(input[at..<(at + n)]))
            at += n
        }
        var maxCarry = 0
        let events = streamed(pieces, boundary: Self.boundary, maxCarry: &maxCarry)
        #expect(
            events == [.partHead([("Content-Type", "application/dicom")]), .partBody(payload[...]), .partEnd, .end])
        #expect(maxCarry <= Self.boundary.utf8.count + 4)
    }

    @Test("malformed bodies end with an error event")
    func errors() {
        var maxCarry = 0
        func lastEvent(_ s: String, maxHeaderBytes: Int = 8192) -> MultipartEvent? {
            streamed([Array(s.utf8)], boundary: Self.boundary, maxHeaderBytes: maxHeaderBytes, maxCarry: &maxCarry).last
        }
        #expect(
            lastEvent("--b0undary\r\nContent-Type: a/b\r\n\r\nno close")
                == .error("multipart body ends before its close delimiter"))
        #expect(lastEvent("--b0undaryX\r\n\r\n") == .error("multipart delimiter not followed by CRLF"))
        #expect(
            lastEvent("--b0undary\r\nbad header\r\n\r\nx\r\n--b0undary--") == .error("malformed multipart header line"))
        let big = "--b0undary\r\nX: " + String(repeating: "a", count: 200) + "\r\n\r\n"
        #expect(lastEvent(big, maxHeaderBytes: 100) == .error("multipart part header section too large"))
        #expect(lastEvent("") == .error("multipart body ends before its close delimiter"))
        #expect(lastEvent("--b0undary--") == .end)
        // Transport padding after a boundary is allowed (RFC 2046 §5.1.1).
        #expect(lastEvent("--b0undary  \r\n\r\nx\r\n--b0undary--  \r\n") == .end)
    }

    @Test("seeded random mutations never trap and end in end or an error")
    func randomMutations() {
        var rng = SplitMix64(seed: 0x4D50)
        let seed = Self.body()
        var maxCarry = 0
        for _ in 0..<3000 {
            var input = seed
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                input[Int.random(in: 0..<input.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            let cut = Int.random(in: 0...input.count, using: &rng)
            let events = streamed(
                [Array(input[..<cut]), Array(input[cut...])], boundary: Self.boundary, maxCarry: &maxCarry)
            let whole = streamed([input], boundary: Self.boundary, maxCarry: &maxCarry)
            #expect(events == whole)
            switch events.last {
            case .end?, .error?: break
            default: Issue.record("ended with \(String(describing: events.last))")
            }
        }
    }

    @Test("writer: content type, part headers with controls blanked, closing of an empty body, length")
    func writer() {
        var w = MultipartWriter(boundary: "abc", partType: "application/octet-stream")
        #expect(
            w.contentType(extraParameters: [("transfer-syntax", "1.2.840.10008.1.2.1")])
                == "multipart/related; type=\"application/octet-stream\"; transfer-syntax=1.2.840.10008.1.2.1; boundary=abc"
        )
        #expect(w.closing == Array("--abc--\r\n".utf8))
        let h1 = w.partHeader(contentType: "a/b\r\nX: y", contentLocation: "/l")
        #expect(h1 == Array("--abc\r\nContent-Type: a/b  X: y\r\nContent-Location: /l\r\n\r\n".utf8))
        let h2 = w.partHeader(contentType: "a/b")
        #expect(h2 == Array("\r\n--abc\r\nContent-Type: a/b\r\n\r\n".utf8))
        #expect(w.closing == Array("\r\n--abc--\r\n".utf8))
        #expect(
            MultipartWriter.length(boundary: "abc", headers: [h1, h2], bodyLengths: [5, 0])
                == h1.count + h2.count + 5 + w.closing.count)
        var g = SplitMix64(seed: 1)
        let random = MultipartWriter(partType: "application/dicom", using: &g)
        #expect(random.boundary.count == 32)
    }
}

// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry: the HTTP/1.1 request parser (RFC 9112) as a connection would drive it.
//
// Built against the HTTP1 module only (as the `fuzz` branch's scripts/fuzz builds its targets:
// modules "HTTP1", no extra sources). Input: byte 0 picks small or default limits, byte 1 seeds
// how the stream is cut into reads; the rest is the byte stream. Checked besides "no trap":
// - the events fed in reads of varying size equal the events of the whole stream at once
//   (body bytes joined), and the same number of bytes is left unconsumed;
// - every step consumes no more than it was given, and every refusal carries one of the
//   statuses the parser documents;
// - the loop ends: each step consumes bytes, emits an event or stops.
import HTTP1

private let smallLimits = HTTPParserLimits(
    maxRequestLineLength: 64, maxHeaderBytes: 256, maxHeaderCount: 8,
    maxBodyLength: 512, maxTrailerBytes: 64, maxChunkLineLength: 16)

private enum Seen: Equatable {
    case head(HTTPRequestHead)
    case body([UInt8])
    case end
    case error(Int)
}

private func record(_ event: HTTPRequestEvent, into out: inout [Seen]) {
    switch event {
    case .head(let h): out.append(.head(h))
    case .body(let b):
        if case .body(let prev) = out.last { out[out.count - 1] = .body(prev + b) } else { out.append(.body(Array(b))) }
    case .end: out.append(.end)
    case .error(let e):
        precondition([400, 413, 414, 431, 501, 505].contains(e.status), "unexpected status \(e.status)")
        out.append(.error(e.status))
    }
}

/// Feeds `stream` in reads whose sizes come from `seed` (0 = all at once).
private func run(_ stream: ArraySlice<UInt8>, limits: HTTPParserLimits, seed: UInt8) -> ([Seen], Int) {
    var parser = HTTPRequestParser(limits: limits)
    var buffer: [UInt8] = []
    var seen: [Seen] = []
    var offset = stream.startIndex
    var read = 0
    while offset < stream.endIndex {
        let chunk = seed == 0 ? stream.count : 1 + (Int(seed) &* (read + 1) &+ read * 7) % 97
        let end = min(stream.endIndex, offset + chunk)
        buffer += stream[offset..<end]
        offset = end
        read += 1
        // Each step consumes a byte, emits an event or stops; an event that consumes nothing
        // (end, error) is followed by one that does or by a stop.
        let maxSteps = 2 * buffer.count + 8
        var steps = 0
        stepping: while true {
            steps += 1
            precondition(steps <= maxSteps, "parser does not make progress")
            switch parser.next(buffer[...]) {
            case .needMoreBytes, .closed: break stepping
            case .consumed(let n):
                precondition(n > 0 && n <= buffer.count)
                buffer.removeFirst(n)
            case .event(let e, let n):
                precondition(n >= 0 && n <= buffer.count)
                record(e, into: &seen)
                buffer.removeFirst(n)
            }
        }
    }
    return (seen, buffer.count)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = bytes[0] & 1 == 0 ? smallLimits : HTTPParserLimits()
    let stream = bytes[2...]
    let whole = run(stream, limits: limits, seed: 0)
    let split = run(stream, limits: limits, seed: max(1, bytes[1]))
    precondition(whole.0 == split.0, "events depend on how the input was split")
    precondition(whole.1 == split.1, "leftover depends on how the input was split")
    return 0
}

// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry: the multipart/related streaming parser as STOW-RS drives it (MultipartStream
// fed with chunks it cannot keep).
//
// Built against the DICOMWeb module. Input: byte 0 picks the boundary ("b" or a 70-character
// one) and a small or default header limit, byte 1 seeds how the body is cut into chunks; the
// rest is the body. Checked besides "no trap":
// - the events of the chunked feed equal those of the whole body at once (body bytes joined);
// - the stream ends in exactly one of: the close delimiter, an error, or (after finish) the
//   "ends before its close delimiter" error; nothing follows an error or the end;
// - the carry stays bounded by a delimiter and a header section.
import DICOMWeb

private enum Seen: Equatable {
    case head([String])
    case body([UInt8])
    case partEnd, end
    case error(String)
}

private func run(_ body: ArraySlice<UInt8>, boundary: String, maxHeader: Int, seed: UInt8) -> [Seen] {
    var stream = MultipartStream(parser: MultipartParser(boundary: boundary, maxHeaderBytes: maxHeader))
    var seen: [Seen] = []
    func record(_ e: MultipartEvent) {
        if case .error? = seen.last { preconditionFailure("event after an error") }
        if case .end? = seen.last { preconditionFailure("event after the end") }
        switch e {
        case .partHead(let f): seen.append(.head(f.map { "\($0.name):\($0.value)" }))
        case .partBody(let b):
            if case .body(let prev)? = seen.last {
                seen[seen.count - 1] = .body(prev + b)
            } else {
                seen.append(.body(Array(b)))
            }
        case .partEnd: seen.append(.partEnd)
        case .end: seen.append(.end)
        case .error(let r): seen.append(.error(r))
        }
    }
    var offset = body.startIndex
    var read = 0
    let bound = boundary.utf8.count + 4 + maxHeader + 4
    while offset < body.endIndex {
        let chunk = seed == 0 ? body.count : 1 + (Int(seed) &* (read + 1) &+ read * 7) % 113
        let end = min(body.endIndex, offset + chunk)
        stream.feed(body[offset..<end], emit: record)
        precondition(stream.carriedByteCount <= bound + chunk, "carry grows without bound")
        offset = end
        read += 1
    }
    if let last = stream.finish() { record(last) }
    return seen
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let boundary = bytes[0] & 1 == 0 ? "b" : String(repeating: "q", count: 70)
    let maxHeader = bytes[0] & 2 == 0 ? 64 : 8192
    let body = bytes[2...]
    let whole = run(body, boundary: boundary, maxHeader: maxHeader, seed: 0)
    let split = run(body, boundary: boundary, maxHeader: maxHeader, seed: max(1, bytes[1]))
    precondition(whole == split, "events depend on how the body was split")
    return 0
}

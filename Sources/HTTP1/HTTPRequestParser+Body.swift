// SPDX-License-Identifier: Apache-2.0
/// Body delivery: Content-Length bodies and the chunked coding (RFC 9112 §6, §7.1).
extension HTTPRequestParser {
    mutating func nextBody(_ input: ArraySlice<UInt8>) -> HTTPParseStep {
        switch body {
        case .length(let remaining):
            if remaining == 0 { return endMessage(consumed: 0) }
            if input.isEmpty { return .needMoreBytes }
            let n = Int(min(remaining, Int64(input.count)))
            body = .length(remaining: remaining - Int64(n))
            return .event(.body(input.prefix(n)), consumed: n)

        case .chunkSize:
            switch scanLine(input, limit: limits.maxChunkLineLength) {
            case .incomplete: return .needMoreBytes
            case .tooLong: return fail(.bad("chunk-size line too long"))
            case .line(let content, let consumed):
                switch Self.parseChunkSize(content) {
                case .failure(let e): return fail(e)
                case .success(0):
                    body = .trailers
                case .success(let size):
                    guard size <= limits.maxBodyLength - chunkedLength else {
                        return fail(HTTPParseError(status: 413, reason: "request body too large"))
                    }
                    chunkedLength += size
                    body = .chunkData(remaining: size)
                }
                return .consumed(consumed)
            }

        case .chunkData(let remaining):
            if input.isEmpty { return .needMoreBytes }
            let n = Int(min(remaining, Int64(input.count)))
            body = remaining == Int64(n) ? .chunkDataEnd : .chunkData(remaining: remaining - Int64(n))
            return .event(.body(input.prefix(n)), consumed: n)

        case .chunkDataEnd:
            guard let first = input.first else { return .needMoreBytes }
            if first == Byte.lf {
                body = .chunkSize
                return .consumed(1)
            }
            guard first == Byte.cr else { return fail(.bad("chunk data not followed by CRLF")) }
            guard input.count >= 2 else { return .needMoreBytes }
            guard input[input.startIndex + 1] == Byte.lf else { return fail(.bad("chunk data not followed by CRLF")) }
            body = .chunkSize
            return .consumed(2)

        case .trailers:
            // The whole trailer section, every line with its ending, is bounded.
            switch scanLine(input, limit: limits.maxTrailerBytes - trailerBytes) {
            case .incomplete: return .needMoreBytes
            case .tooLong: return fail(HTTPParseError(status: 431, reason: "trailer section too large"))
            case .line(let content, let consumed):
                if content.isEmpty { return endMessage(consumed: consumed) }
                // Trailer fields are checked and dropped: nothing here acts on them (RFC 9110 §6.5.1).
                if case .failure(let e) = Self.parseFieldLine(content) { return fail(e) }
                trailerBytes += consumed
                trailerLines += 1
                if trailerLines > limits.maxHeaderCount {
                    return fail(HTTPParseError(status: 431, reason: "too many trailer fields"))
                }
                return .consumed(consumed)
            }
        }
    }

    private mutating func endMessage(consumed: Int) -> HTTPParseStep {
        move(keepAlive ? .messageEndKeepAlive : .messageEndClose)
        return .event(.end, consumed: consumed)
    }

    enum LineScan {
        /// A line: its content without the ending, and its length with the ending.
        case line(ArraySlice<UInt8>, consumed: Int)
        case incomplete
        /// More than `limit` bytes before the line ending.
        case tooLong
    }

    /// Finds the next LF-terminated line at the front of `input`, resuming where the last call
    /// stopped; a CR before the LF is part of the ending.
    private mutating func scanLine(_ input: ArraySlice<UInt8>, limit: Int) -> LineScan {
        let base = input.startIndex
        while lineScanned < input.count {
            let byte = input[base + lineScanned]
            lineScanned += 1
            if byte != Byte.lf {
                if lineScanned > limit + 1 { return .tooLong }
                continue
            }
            var end = base + lineScanned - 1
            if end > base, input[end - 1] == Byte.cr { end -= 1 }
            let consumed = lineScanned
            lineScanned = 0
            if end - base > limit { return .tooLong }
            return .line(input[base..<end], consumed: consumed)
        }
        return .incomplete
    }

    /// chunk-size [ chunk-ext ] (RFC 9112 §7.1): hex digits, then optional whitespace and
    /// extensions, which are checked for stray controls and ignored (§7.1.1).
    static func parseChunkSize(_ line: ArraySlice<UInt8>) -> Result<Int64, HTTPParseError> {
        var size: Int64 = 0
        var i = line.startIndex
        while i < line.endIndex, let digit = Byte.hexValue(line[i]) {
            guard i - line.startIndex < 15 else {
                return .failure(HTTPParseError(status: 413, reason: "request body too large"))
            }
            size = size << 4 | digit
            i += 1
        }
        guard i > line.startIndex else { return .failure(.bad("invalid chunk size")) }
        var rest = line[i...]
        while let f = rest.first, f == Byte.sp || f == Byte.htab { rest = rest.dropFirst() }
        if let f = rest.first {
            guard f == Byte.semicolon, rest.allSatisfy(Byte.isFieldValueChar) else {
                return .failure(.bad("invalid chunk extension"))
            }
        }
        return .success(size)
    }
}

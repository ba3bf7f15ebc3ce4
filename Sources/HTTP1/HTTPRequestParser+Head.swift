// SPDX-License-Identifier: Apache-2.0
/// Scanning progress over a request head; offsets are from the start of the caller's input,
/// which does not move while the head is incomplete (nothing is consumed until it is).
struct HeadScan: Sendable, Hashable {
    /// Bytes examined so far.
    var position = 0
    /// Start of the line being scanned.
    var lineStart = 0
    /// Empty lines seen before the request line.
    var blankLines = 0
    /// The request line's content, once its line ended.
    var requestLine: Range<Int>?
    /// The request line's parts, parsed as soon as it ended (so a bad one is refused at once).
    var request: RequestLine?
    /// Start of the field section (after the request line's ending).
    var fieldStart = 0
    /// The field lines' contents (without line endings).
    var fieldLines: [Range<Int>] = []
}

/// The three parts of a request line.
struct RequestLine: Sendable, Hashable {
    var method: String
    var target: String
    var version: HTTPVersion
}

extension HTTPRequestParser {
    /// Empty lines tolerated before a request line (RFC 9112 §2.2 says ignore "at least one").
    static let maxBlankLinesBeforeRequest = 2

    /// Scans for the end of the head from where the last call stopped; parses it once complete.
    mutating func nextHead(_ input: ArraySlice<UInt8>) -> HTTPParseStep {
        let base = input.startIndex
        while head.position < input.count {
            let byte = input[base + head.position]
            head.position += 1
            guard byte == Byte.lf else {
                if head.requestLine == nil {
                    // One more byte than the limit may be the CR of the line ending.
                    if head.position - head.lineStart > limits.maxRequestLineLength + 1 {
                        return fail(HTTPParseError(status: 414, reason: "request line too long"))
                    }
                } else if head.position - head.fieldStart > limits.maxHeaderBytes {
                    return fail(HTTPParseError(status: 431, reason: "header section too large"))
                }
                continue
            }
            var end = head.position - 1
            if end > head.lineStart, input[base + end - 1] == Byte.cr { end -= 1 }
            let line = head.lineStart..<end
            head.lineStart = head.position
            if head.requestLine == nil {
                if line.isEmpty {
                    head.blankLines += 1
                    if head.blankLines > Self.maxBlankLinesBeforeRequest {
                        return fail(.bad("empty lines instead of a request"))
                    }
                    continue
                }
                if line.count > limits.maxRequestLineLength {
                    return fail(HTTPParseError(status: 414, reason: "request line too long"))
                }
                switch Self.parseRequestLine(input[(base + line.lowerBound)..<(base + line.upperBound)]) {
                case .failure(let e): return fail(e)
                case .success(let request): head.request = request
                }
                head.requestLine = line
                head.fieldStart = head.position
            } else if line.isEmpty {
                return finishHead(input)
            } else {
                if head.position - head.fieldStart > limits.maxHeaderBytes {
                    return fail(HTTPParseError(status: 431, reason: "header section too large"))
                }
                head.fieldLines.append(line)
                if head.fieldLines.count > limits.maxHeaderCount {
                    return fail(HTTPParseError(status: 431, reason: "too many header fields"))
                }
            }
        }
        return .needMoreBytes
    }

    /// Parses a complete head: request line, fields, then the message framing.
    private mutating func finishHead(_ input: ArraySlice<UInt8>) -> HTTPParseStep {
        let base = input.startIndex
        guard let request = head.request else { return fail(.bad("no request line")) }
        let version = request.version
        var fields = HTTPFields()
        for range in head.fieldLines {
            switch Self.parseFieldLine(input[(base + range.lowerBound)..<(base + range.upperBound)]) {
            case .failure(let e): return fail(e)
            case .success(let field): fields.append(name: field.name, value: field.value)
            }
        }
        let framing: HTTPBodyFraming
        switch Self.framing(fields: fields, version: version, limits: limits) {
        case .failure(let e): return fail(e)
        case .success(let f): framing = f
        }
        let hosts = fields.values("host").count
        if version.minor >= 1, hosts == 0 { return fail(.bad("no Host field")) }
        if hosts > 1 { return fail(.bad("more than one Host field")) }

        let keepAlive: Bool
        if fields.contains("connection", token: "close") {
            keepAlive = false
        } else {
            keepAlive = version.minor >= 1 || fields.contains("connection", token: "keep-alive")
        }
        let expectsContinue = version.minor >= 1 && fields.contains("expect", token: "100-continue")
        let parsed = HTTPRequestHead(
            method: request.method, target: request.target, version: version, fields: fields,
            framing: framing, keepAlive: keepAlive, expectsContinue: expectsContinue)
        self.keepAlive = keepAlive
        switch framing {
        case .none: body = .length(remaining: 0)
        case .length(let n): body = .length(remaining: n)
        case .chunked: body = .chunkSize
        }
        chunkedLength = 0
        trailerBytes = 0
        trailerLines = 0
        lineScanned = 0
        move(.headParsed)
        return .event(.head(parsed), consumed: head.position)
    }

    /// request-line = method SP request-target SP HTTP-version (RFC 9112 §3).
    static func parseRequestLine(_ line: ArraySlice<UInt8>) -> Result<RequestLine, HTTPParseError> {
        guard let sp1 = line.firstIndex(of: Byte.sp) else { return .failure(.bad("malformed request line")) }
        let method = line[..<sp1]
        let rest = line[(sp1 + 1)...]
        guard let sp2 = rest.firstIndex(of: Byte.sp) else { return .failure(.bad("malformed request line")) }
        let target = rest[..<sp2]
        let version = rest[(sp2 + 1)...]
        guard Byte.isToken(method) else { return .failure(.bad("invalid method")) }
        // Visible ASCII only: no whitespace, controls or raw 8-bit bytes (RFC 3986 characters).
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(.bad("invalid request target"))
        }
        // HTTP-version = "HTTP" "/" DIGIT "." DIGIT (RFC 9112 §2.3), case-sensitive.
        let v = Array(version)
        guard v.count == 8, v[0..<5].elementsEqual("HTTP/".utf8), v[6] == 0x2E,
            (0x30...0x39).contains(v[5]), (0x30...0x39).contains(v[7])
        else {
            return .failure(.bad("malformed HTTP version"))
        }
        let parsed = HTTPVersion(major: Int(v[5] - 0x30), minor: Int(v[7] - 0x30))
        guard parsed.major == 1 else {
            return .failure(HTTPParseError(status: 505, reason: "HTTP version not supported"))
        }
        return .success(RequestLine(method: Byte.ascii(method), target: Byte.ascii(target), version: parsed))
    }

    /// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5), for headers and trailers.
    static func parseFieldLine(_ line: ArraySlice<UInt8>) -> Result<HTTPField, HTTPParseError> {
        guard let first = line.first, first != Byte.sp, first != Byte.htab else {
            return .failure(.bad("obsolete line folding"))
        }
        guard let colon = line.firstIndex(of: Byte.colon) else { return .failure(.bad("field line without colon")) }
        let name = line[..<colon]
        guard Byte.isToken(name) else { return .failure(.bad("invalid field name")) }
        var value = line[(colon + 1)...]
        while let f = value.first, f == Byte.sp || f == Byte.htab { value = value.dropFirst() }
        while let l = value.last, l == Byte.sp || l == Byte.htab { value = value.dropLast() }
        guard value.allSatisfy(Byte.isFieldValueChar) else { return .failure(.bad("invalid character in field value")) }
        return .success(HTTPField(name: Byte.ascii(name), value: Byte.latin1(value)))
    }

    /// The body's framing from Transfer-Encoding and Content-Length (RFC 9112 §6.1, §6.3).
    static func framing(fields: HTTPFields, version: HTTPVersion, limits: HTTPParserLimits)
        -> Result<HTTPBodyFraming, HTTPParseError>
    {
        let lengthLines = fields.values("content-length")
        if !fields.values("transfer-encoding").isEmpty {
            guard version.minor >= 1 else { return .failure(.bad("Transfer-Encoding in an HTTP/1.0 request")) }
            guard lengthLines.isEmpty else { return .failure(.bad("both Transfer-Encoding and Content-Length")) }
            let codings = fields.listElements("transfer-encoding")
            guard let last = codings.last, HTTPFields.sameName(last, "chunked") else {
                return .failure(.bad("chunked is not the final transfer coding"))
            }
            let chunkedCount = codings.filter { HTTPFields.sameName($0, "chunked") }.count
            guard chunkedCount == 1 else { return .failure(.bad("chunked applied more than once")) }
            guard codings.count == 1 else {
                return .failure(HTTPParseError(status: 501, reason: "transfer coding not implemented"))
            }
            return .success(.chunked)
        }
        guard !lengthLines.isEmpty else { return .success(.none) }
        // A list of identical values ("42, 42") may be taken as one (RFC 9110 §8.6).
        let values = lengthLines.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingWhitespace() }
        guard let first = values.first, values.allSatisfy({ $0 == first }),
            !first.isEmpty, first.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else {
            return .failure(.bad("invalid Content-Length"))
        }
        let digits = first.drop { $0 == "0" }
        guard digits.count <= 18, let length = Int64(digits.isEmpty ? "0" : digits),
            length <= limits.maxBodyLength
        else {
            return .failure(HTTPParseError(status: 413, reason: "request body too large"))
        }
        return .success(.length(length))
    }
}

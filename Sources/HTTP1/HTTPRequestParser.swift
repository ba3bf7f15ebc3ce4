// SPDX-License-Identifier: Apache-2.0
/// What the parser found in the input.
public enum HTTPRequestEvent: Sendable, Hashable {
    /// A request line and header section.
    case head(HTTPRequestHead)
    /// Body bytes: a slice of the input handed to ``HTTPRequestParser/next(_:)`` (no copy), valid
    /// until the caller drops the consumed bytes. Chunked framing is already removed.
    case body(ArraySlice<UInt8>)
    /// The end of the request's body (also sent for a request without one).
    case end
    /// The request is refused: answer ``HTTPParseError/status`` and close the connection.
    case error(HTTPParseError)
}

/// The result of one ``HTTPRequestParser/next(_:)`` call.
public enum HTTPParseStep: Sendable, Hashable {
    /// Nothing more until more bytes arrive; nothing was consumed.
    case needMoreBytes
    /// This many bytes of framing (a chunk-size line, a trailer line) were used; call again.
    case consumed(Int)
    /// An event; the caller drops `consumed` bytes from the front of its input after using it.
    case event(HTTPRequestEvent, consumed: Int)
    /// No further request is read on this connection (after a request without keep-alive, an
    /// error, a timeout or the peer's close). Remaining input is to be ignored.
    case closed
}

/// An incremental HTTP/1.1 request parser (RFC 9112) for a server connection: a pure value with
/// no I/O. The caller keeps unconsumed input (as the reactor's receive buffer does), passes all of
/// it to ``next(_:)``, and drops what each step consumed. Several requests in one buffer
/// (pipelining) come out one after the other; body bytes are slices of the input.
///
/// Strictness (RFC 9112 and RFC 9110 rules it follows): lines end in CRLF, or LF alone (§2.2); a
/// bare CR is refused; up to two empty lines before a request line are ignored (§2.2); exactly one
/// SP between the parts of the request line (§3); field names are tokens with no whitespace before
/// the colon (§5.1); obsolete line folding is refused (§5.2); NUL, CR, LF and other controls in
/// values are refused (RFC 9110 §5.5); HTTP/1.1 needs exactly one Host (§3.2); Content-Length must
/// be digits, and repeated values must all be equal (§6.3, RFC 9110 §8.6); Transfer-Encoding must be
/// exactly "chunked" (another coding: 501), never with Content-Length nor in HTTP/1.0 (§6.1, §6.3);
/// a version other than 1.x gets 505. Every refusal is final: the caller answers and closes.
public struct HTTPRequestParser: Sendable {
    /// The limits; a change applies from the next request line or chunk on.
    public var limits: HTTPParserLimits
    /// Where the connection is (see ``HTTPConnectionState`` for the timer to run in each).
    public private(set) var phase: HTTPConnectionState = .idle
    /// The head being scanned (meaningful in ``HTTPConnectionState/receivingHead``).
    var head = HeadScan()
    /// Where the body is (meaningful in ``HTTPConnectionState/receivingBody``).
    var body = BodyState.length(remaining: 0)
    /// Body bytes announced so far by chunk sizes, checked against ``HTTPParserLimits/maxBodyLength``.
    var chunkedLength: Int64 = 0
    /// Bytes and lines of the trailer section so far.
    var trailerBytes = 0
    var trailerLines = 0
    /// Bytes of the current framing line already examined (incremental scanning).
    var lineScanned = 0
    /// Whether the request being received keeps the connection open.
    var keepAlive = true

    enum BodyState: Sendable, Hashable {
        case length(remaining: Int64)
        case chunkSize
        case chunkData(remaining: Int64)
        case chunkDataEnd
        case trailers
    }

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
    }

    /// Parses the next piece of `input`, which starts with the first byte not yet consumed.
    public mutating func next(_ input: ArraySlice<UInt8>) -> HTTPParseStep {
        switch phase {
        case .closed, .failed:
            return .closed
        case .idle:
            if input.isEmpty { return .needMoreBytes }
            move(.headStarted)
            head = HeadScan()
            return nextHead(input)
        case .receivingHead:
            return nextHead(input)
        case .receivingBody:
            return nextBody(input)
        }
    }

    /// Runs ``next(_:)`` until it needs more bytes or the connection is done; returns every event
    /// and how many bytes of `input` were consumed. Body slices refer to `input`.
    public mutating func parse(_ input: ArraySlice<UInt8>) -> (events: [HTTPRequestEvent], consumed: Int) {
        var offset = input.startIndex
        var events: [HTTPRequestEvent] = []
        while true {
            switch next(input[offset...]) {
            case .needMoreBytes, .closed:
                return (events, offset - input.startIndex)
            case .consumed(let n):
                offset += n
            case .event(let e, let n):
                events.append(e)
                offset += n
            }
        }
    }

    /// The reactor's timer for the current phase expired. Returns the 408 to answer when a
    /// request was partly received (RFC 9110 §15.5.9), nil when the connection was idle (close
    /// without an answer) or already done.
    public mutating func timedOut() -> HTTPParseError? {
        let was = phase
        move(.timeout)
        guard was == .receivingHead || was == .receivingBody else { return nil }
        return HTTPParseError(status: 408, reason: "request not received in time")
    }

    /// The peer closed its sending side. Returns the 400 for a request cut short (the peer may
    /// still read an answer after a half close), nil when it closed between requests.
    public mutating func peerClosed() -> HTTPParseError? {
        let was = phase
        move(.peerClosed)
        guard was == .receivingHead || was == .receivingBody else { return nil }
        return .bad("connection closed before the request was complete")
    }

    mutating func move(_ event: HTTPConnectionState.Event) {
        if let next = HTTPConnectionState.transition(phase, on: event) { phase = next }
    }

    mutating func fail(_ error: HTTPParseError) -> HTTPParseStep {
        move(.malformed)
        return .event(.error(error), consumed: 0)
    }
}

/// Byte constants and classes (RFC 9110 §5.6.2 tchar; RFC 5234 core rules).
enum Byte {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B

    /// tchar: "!#$%&'*+-.^_`|~", DIGIT, ALPHA.
    static func isTokenChar(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
        default: return false
        }
    }

    static func isToken(_ bytes: ArraySlice<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy(isTokenChar)
    }

    /// field-vchar, SP or HTAB (RFC 9110 §5.5): no other controls, no DEL.
    static func isFieldValueChar(_ b: UInt8) -> Bool {
        b == htab || (b >= 0x20 && b != 0x7F)
    }

    static func hexValue(_ b: UInt8) -> Int64? {
        switch b {
        case 0x30...0x39: return Int64(b - 0x30)
        case 0x41...0x46: return Int64(b - 0x41 + 10)
        case 0x61...0x66: return Int64(b - 0x61 + 10)
        default: return nil
        }
    }

    /// ASCII bytes as a String (callers checked the bytes are ASCII).
    static func ascii(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Bytes as ISO-8859-1, one character per byte, so no byte of an obs-text value is lost.
    static func latin1(_ bytes: ArraySlice<UInt8>) -> String {
        if !bytes.contains(where: { $0 >= 0x80 }) { return ascii(bytes) }
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(b)) }
        return String(s)
    }
}

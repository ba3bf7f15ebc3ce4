// SPDX-License-Identifier: Apache-2.0
import HTTP1

/// What the multipart parser found.
public enum MultipartEvent: Sendable, Hashable {
    /// A part's header fields (names as sent, values trimmed).
    case partHead([(name: String, value: String)])
    /// Bytes of the current part's body: a slice of the input (no copy), in order; a part's body
    /// may come in any number of slices.
    case partBody(ArraySlice<UInt8>)
    /// The current part's body is complete.
    case partEnd
    /// The close delimiter was read; whatever follows (the epilogue) is ignored.
    case end
    /// The body is not a valid multipart body (fixed text for the log, never body bytes).
    case error(String)

    public static func == (a: MultipartEvent, b: MultipartEvent) -> Bool {
        switch (a, b) {
        case (.partHead(let x), .partHead(let y)):
            return x.map(\.name) == y.map(\.name) && x.map(\.value) == y.map(\.value)
        case (.partBody(let x), .partBody(let y)): return x.elementsEqual(y)
        case (.partEnd, .partEnd), (.end, .end): return true
        case (.error(let x), .error(let y)): return x == y
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .partHead(let f):
            h.combine(0)
            for x in f {
                h.combine(x.name)
                h.combine(x.value)
            }
        case .partBody(let b):
            h.combine(1)
            h.combine(Array(b))
        case .partEnd: h.combine(2)
        case .end: h.combine(3)
        case .error(let s):
            h.combine(4)
            h.combine(s)
        }
    }
}

/// The result of one ``MultipartParser/next(_:)`` call.
public enum MultipartStep: Sendable, Hashable {
    /// Nothing more until more bytes arrive; nothing was consumed.
    case needMoreBytes
    /// This many bytes (preamble, delimiter, padding) were used; call again.
    case consumed(Int)
    /// An event; drop `consumed` bytes from the front of the input after using it.
    case event(MultipartEvent, consumed: Int)
    /// After ``MultipartEvent/end`` or an error: nothing more is parsed.
    case done
}

/// An incremental parser of a `multipart/related` body (RFC 2046 §5.1.1, RFC 2387): bytes in,
/// events out, no I/O. Like ``HTTP1/HTTPRequestParser`` the caller keeps the unconsumed input,
/// passes all of it to ``next(_:)`` and drops what each step consumed. Body bytes are handed
/// out as soon as they cannot be the start of a delimiter, so at most a delimiter's length of
/// body (plus one part's header section, bounded by ``maxHeaderBytes``) is ever held back: a
/// gigabyte part never sits in memory. ``MultipartStream`` does the keeping for input that
/// arrives as chunks the caller cannot keep.
public struct MultipartParser: Sendable {
    enum State: Sendable, Hashable {
        /// Before the first delimiter (`atStart`: nothing consumed yet, so it may lack its CRLF).
        case preamble(atStart: Bool)
        /// After a delimiter's boundary: "--" (close), transport padding and CRLF.
        case afterDelimiter
        case headers
        case body
        case done
    }

    /// Most bytes of one part's header section (→ error).
    public let maxHeaderBytes: Int
    /// Most header fields of one part (→ error).
    public let maxHeaderCount: Int
    /// CRLF "--" boundary.
    let delimiter: [UInt8]
    var state = State.preamble(atStart: true)
    /// Bytes of the header section already scanned without finding its end (incremental).
    var headerScanned = 0

    /// A parser for parts separated by `boundary` (the Content-Type's `boundary` parameter).
    public init(boundary: String, maxHeaderBytes: Int = 8192, maxHeaderCount: Int = 32) {
        delimiter = [0x0D, 0x0A, 0x2D, 0x2D] + Array(boundary.utf8)
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }

    /// Whether the close delimiter has been read.
    public var isFinished: Bool { state == .done }

    /// Parses the next piece of `input`, which starts with the first byte not yet consumed.
    public mutating func next(_ input: ArraySlice<UInt8>) -> MultipartStep {
        switch state {
        case .done: return .done
        case .preamble(let atStart): return preamble(input, atStart: atStart)
        case .afterDelimiter: return afterDelimiter(input)
        case .headers: return headers(input)
        case .body: return body(input)
        }
    }

    /// Runs ``next(_:)`` until it needs more bytes or is done; returns the events and how many
    /// bytes of `input` were consumed (body slices refer to `input`).
    public mutating func parse(_ input: ArraySlice<UInt8>) -> (events: [MultipartEvent], consumed: Int) {
        var offset = input.startIndex
        var events: [MultipartEvent] = []
        while true {
            switch next(input[offset...]) {
            case .needMoreBytes, .done: return (events, offset - input.startIndex)
            case .consumed(let n): offset += n
            case .event(let e, let n):
                events.append(e)
                offset += n
            }
        }
    }

    /// The input ended (the request body is complete). An error unless the close delimiter came.
    public mutating func finish() -> MultipartEvent? {
        guard state != .done else { return nil }
        state = .done
        return .error("multipart body ends before its close delimiter")
    }

    mutating func fail(_ reason: String) -> MultipartStep {
        state = .done
        return .event(.error(reason), consumed: 0)
    }

    mutating func preamble(_ input: ArraySlice<UInt8>, atStart: Bool) -> MultipartStep {
        if atStart {
            // The first delimiter may open the body without the CRLF before it.
            let dashBoundary = delimiter[2...]
            let n = min(input.count, dashBoundary.count)
            if input.prefix(n).elementsEqual(dashBoundary.prefix(n)) {
                if n < dashBoundary.count { return .needMoreBytes }
                state = .afterDelimiter
                return .consumed(n)
            }
            state = .preamble(atStart: false)
        }
        switch DelimiterSearch.find(delimiter, in: input) {
        case .found(let at):
            state = .afterDelimiter
            return .consumed(at - input.startIndex + delimiter.count)
        case .partial(let at):
            let skip = at - input.startIndex
            return skip > 0 ? .consumed(skip) : .needMoreBytes
        }
    }

    mutating func afterDelimiter(_ input: ArraySlice<UInt8>) -> MultipartStep {
        guard input.count >= 2 else { return .needMoreBytes }
        let i = input.startIndex
        if input[i] == 0x2D && input[i + 1] == 0x2D {
            state = .done
            return .event(.end, consumed: 2)
        }
        // Transport padding (linear white space) before the CRLF; bounded like a header line.
        var j = i
        while j < input.endIndex, input[j] == 0x20 || input[j] == 0x09 {
            j += 1
            if j - i > maxHeaderBytes { return fail("multipart delimiter line too long") }
        }
        guard j + 1 < input.endIndex else { return .needMoreBytes }
        guard input[j] == 0x0D && input[j + 1] == 0x0A else { return fail("multipart delimiter not followed by CRLF") }
        state = .headers
        headerScanned = 0
        return .consumed(j + 2 - i)
    }

    mutating func headers(_ input: ArraySlice<UInt8>) -> MultipartStep {
        // An empty header section is just CRLF (the part then has default headers).
        let i = input.startIndex
        if input.count >= 2 && input[i] == 0x0D && input[i + 1] == 0x0A {
            state = .body
            return .event(.partHead([]), consumed: 2)
        }
        var end: Int?
        var k = max(i, i + headerScanned - 3)
        while k + 3 < input.endIndex {
            if input[k] == 0x0D && input[k + 1] == 0x0A && input[k + 2] == 0x0D && input[k + 3] == 0x0A {
                end = k
                break
            }
            k += 1
        }
        guard let end else {
            headerScanned = input.count
            if input.count > maxHeaderBytes { return fail("multipart part header section too large") }
            return .needMoreBytes
        }
        if end + 4 - i > maxHeaderBytes { return fail("multipart part header section too large") }
        var fields: [(name: String, value: String)] = []
        for line in input[i..<end].split(separator: 0x0A, omittingEmptySubsequences: false) {
            guard line.last == 0x0D || line.endIndex == end else { return fail("multipart header line without CRLF") }
            let text = line.last == 0x0D ? line.dropLast() : line
            guard let colon = text.firstIndex(of: 0x3A), colon > text.startIndex,
                text[..<colon].allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
                text[colon...].allSatisfy({ $0 >= 0x20 || $0 == 0x09 })
            else {
                return fail("malformed multipart header line")
            }
            if fields.count == maxHeaderCount { return fail("too many multipart header fields") }
            let value = Substring(String(decoding: text[(colon + 1)...], as: UTF8.self)).trimmingWhitespace()
            fields.append((String(decoding: text[..<colon], as: UTF8.self), String(value)))
        }
        state = .body
        return .event(.partHead(fields), consumed: end + 4 - i)
    }

    mutating func body(_ input: ArraySlice<UInt8>) -> MultipartStep {
        switch DelimiterSearch.find(delimiter, in: input) {
        case .found(let at):
            if at > input.startIndex { return .event(.partBody(input[..<at]), consumed: at - input.startIndex) }
            state = .afterDelimiter
            return .event(.partEnd, consumed: delimiter.count)
        case .partial(let at):
            if at > input.startIndex { return .event(.partBody(input[..<at]), consumed: at - input.startIndex) }
            return .needMoreBytes
        }
    }
}

/// Where a delimiter is in a buffer.
enum DelimiterSearch {
    enum Result: Equatable {
        /// The whole delimiter starts at this index.
        case found(Int)
        /// No whole delimiter; from this index on the input may be the start of one (the
        /// input's end index when no suffix can be).
        case partial(Int)
    }

    static func find(_ delimiter: [UInt8], in input: ArraySlice<UInt8>) -> Result {
        let first = delimiter[0]
        return input.withUnsafeBufferPointer { buf -> Result in
            delimiter.withUnsafeBufferPointer { d -> Result in
                let n = buf.count
                let m = d.count
                var i = 0
                while i < n {
                    guard buf[i] == first else {
                        i += 1
                        continue
                    }
                    let avail = min(m, n - i)
                    var j = 1
                    while j < avail && buf[i + j] == d[j] { j += 1 }
                    if j == m { return .found(input.startIndex + i) }
                    if j == avail { return .partial(input.startIndex + i) }
                    i += 1
                }
                return .partial(input.endIndex)
            }
        }
    }
}

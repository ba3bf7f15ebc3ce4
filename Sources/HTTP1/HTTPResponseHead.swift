// SPDX-License-Identifier: Apache-2.0
/// A response's status line and header section, written as bytes (RFC 9112 §4, §5).
public struct HTTPResponseHead: Sendable, Hashable {
    public var version: HTTPVersion
    /// 100…999 (RFC 9110 §15).
    public var status: Int
    /// The reason phrase; the standard one for `status` when nil.
    public var reason: String?
    public var fields: HTTPFields

    public init(status: Int, reason: String? = nil, fields: HTTPFields = [:], version: HTTPVersion = .http1_1) {
        precondition((100...999).contains(status), "HTTP status out of range")
        self.version = version
        self.status = status
        self.reason = reason
        self.fields = fields
    }

    /// The head as bytes, ending with the empty line.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + fields.count * 32)
        write(into: &out)
        return out
    }

    /// Appends the head to `out`. Field names must be tokens (a programming error otherwise);
    /// controls in values and the reason phrase (CR and LF above all: they would let a value
    /// start a new field or end the head) are written as spaces.
    public func write(into out: inout [UInt8]) {
        out.append(contentsOf: "HTTP/\(version.major).\(version.minor) ".utf8)
        let code = UInt8(status / 100 % 10)
        let tens = UInt8(status / 10 % 10)
        let units = UInt8(status % 10)
        out.append(contentsOf: [0x30 + code, 0x30 + tens, 0x30 + units, Byte.sp])
        Self.appendSafe((reason ?? HTTPResponseHead.reasonPhrase(status)).utf8, to: &out)
        out.append(contentsOf: [Byte.cr, Byte.lf])
        for field in fields {
            precondition(Byte.isToken(Array(field.name.utf8)[...]), "HTTP field name is not a token")
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: [Byte.colon, Byte.sp])
            Self.appendSafe(field.value.utf8, to: &out)
            out.append(contentsOf: [Byte.cr, Byte.lf])
        }
        out.append(contentsOf: [Byte.cr, Byte.lf])
    }

    private static func appendSafe(_ text: String.UTF8View, to out: inout [UInt8]) {
        for b in text { out.append(b < 0x20 && b != Byte.htab || b == 0x7F ? Byte.sp : b) }
    }

    /// The reason phrase RFC 9110 §15 gives a status ("" for one it does not name).
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 417: return "Expectation Failed"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return ""
        }
    }
}

/// Framing of a streamed response body in the chunked coding (RFC 9112 §7.1). The payload
/// itself is not copied: a chunk goes out as ``chunkHeader(length:)``, the payload bytes (a
/// slice, a file region), then ``chunkEnd``; the body ends with ``lastChunk``.
public enum HTTPChunkedFraming {
    /// "SIZE CRLF" with SIZE in lowercase hex. `length` must be positive: an empty chunk would
    /// end the body.
    public static func chunkHeader(length: Int) -> [UInt8] {
        precondition(length > 0, "an empty chunk ends a chunked body")
        var out = Array(String(length, radix: 16).utf8)
        out.append(contentsOf: [Byte.cr, Byte.lf])
        return out
    }

    /// The CRLF after a chunk's data.
    public static let chunkEnd: [UInt8] = [Byte.cr, Byte.lf]

    /// The last chunk and the empty trailer section.
    public static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    /// Appends one whole chunk holding `payload` to `out` (nothing for an empty payload).
    public static func appendChunk<C: Collection>(_ payload: C, to out: inout [UInt8]) where C.Element == UInt8 {
        guard !payload.isEmpty else { return }
        out.append(contentsOf: chunkHeader(length: payload.count))
        out.append(contentsOf: payload)
        out.append(contentsOf: chunkEnd)
    }
}

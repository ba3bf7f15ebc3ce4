// SPDX-License-Identifier: Apache-2.0
/// Framing of a `multipart/related` response body (RFC 2387, RFC 2046 §5.1.1) whose part bodies
/// are not copied: the caller sends ``partHeader(contentType:contentLocation:)``, then the part's
/// bytes (a slice, or a file region sent with `sendfile`), then the next part's header, and
/// ``closing`` at the end. Each header starts with the CRLF that ends the previous part's body.
public struct MultipartWriter: Sendable, Hashable {
    /// The boundary (RFC 2046: 1 to 70 characters; ours are hex digits, which no DICOM or JSON
    /// body can be relied on to avoid, so a random 32-digit one).
    public let boundary: String
    /// The media type of the parts, for the `type` parameter (RFC 2387 §3.1).
    public let partType: String
    /// Whether a part has been started (the next header starts with CRLF).
    public private(set) var partCount = 0

    /// A writer with a given boundary (tests) — `boundary` must be 1…70 characters of bchars.
    public init(boundary: String, partType: String) {
        precondition(
            (1...70).contains(boundary.utf8.count) && boundary.utf8.allSatisfy(MultipartWriter.isBoundaryChar),
            "invalid multipart boundary")
        self.boundary = boundary
        self.partType = partType
    }

    /// A writer with a random boundary of 32 hex digits.
    public init<G: RandomNumberGenerator>(partType: String, using generator: inout G) {
        let digits = Array("0123456789abcdef".utf8)
        var b: [UInt8] = []
        for _ in 0..<32 { b.append(digits[Int(generator.next() & 15)]) }
        self.init(boundary: String(decoding: b, as: UTF8.self), partType: partType)
    }

    /// A writer with a random boundary from the system generator.
    public init(partType: String) {
        var g = SystemRandomNumberGenerator()
        self.init(partType: partType, using: &g)
    }

    /// The response's Content-Type: `multipart/related; type="…"; boundary=…`, plus extra
    /// parameters (such as `transfer-syntax`).
    public func contentType(extraParameters: [(String, String)] = []) -> String {
        var s = "multipart/related; type=\"\(partType)\""
        for (n, v) in extraParameters { s += "; \(n)=\(MediaType.quotedIfNeeded(v))" }
        return s + "; boundary=\(boundary)"
    }

    /// The bytes before a part's body: (CRLF after the previous body,) the delimiter line and the
    /// part's header fields, ending with the empty line.
    public mutating func partHeader(
        contentType: String, contentLocation: String? = nil,
        contentLength: Int? = nil
    ) -> [UInt8] {
        var out: [UInt8] = []
        if partCount > 0 { out += [0x0D, 0x0A] }
        partCount += 1
        out += Array("--\(boundary)\r\nContent-Type: ".utf8)
        MultipartWriter.appendFieldValue(contentType, to: &out)
        if let contentLocation {
            out += Array("\r\nContent-Location: ".utf8)
            MultipartWriter.appendFieldValue(contentLocation, to: &out)
        }
        if let contentLength { out += Array("\r\nContent-Length: \(contentLength)".utf8) }
        out += [0x0D, 0x0A, 0x0D, 0x0A]
        return out
    }

    /// The bytes after the last part's body: CRLF and the close delimiter (with no part at all,
    /// just the close delimiter: an empty multipart body).
    public var closing: [UInt8] {
        (partCount > 0 ? [0x0D, 0x0A] : []) + Array("--\(boundary)--\r\n".utf8)
    }

    /// The bytes a response of these part headers and bodies takes, for Content-Length.
    public static func length(boundary: String, headers: [[UInt8]], bodyLengths: [Int]) -> Int {
        headers.reduce(0) { $0 + $1.count } + bodyLengths.reduce(0, +) + (headers.isEmpty ? 0 : 2) + boundary.utf8.count
            + 6
    }

    /// Controls (CR and LF above all) in a field value are written as spaces.
    static func appendFieldValue(_ value: String, to out: inout [UInt8]) {
        for b in value.utf8 { out.append(b < 0x20 || b == 0x7F ? 0x20 : b) }
    }

    /// bchars (RFC 2046 §5.1.1) without space, so the boundary needs no quotes.
    static func isBoundaryChar(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x27, 0x28, 0x29, 0x2B, 0x5F, 0x2C, 0x2D, 0x2E, 0x2F, 0x3A, 0x3D, 0x3F: return true
        default: return false
        }
    }
}

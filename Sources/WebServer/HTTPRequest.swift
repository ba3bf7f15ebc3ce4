// SPDX-License-Identifier: Apache-2.0
import HTTP1

/// One request as a handler sees it: the parsed head, the route's path parameters, the decoded
/// query, and (for handlers that do not stream it) the body.
public struct HTTPRequest: Sendable {
    /// The request line and header fields as parsed.
    public var head: HTTPRequestHead
    /// The path, percent-decoded (without the query).
    public var path: String
    /// The query's `name=value` pairs in order, percent-decoded, `+` as a space
    /// (application/x-www-form-urlencoded, as DICOMweb clients send it).
    public var query: [(name: String, value: String)]
    /// Values of the route pattern's `{name}` segments.
    public var pathParameters: [String: String] = [:]
    /// The body, for handlers that take it whole (at most `http` body limit bytes).
    public var body: [UInt8] = []

    public var method: String { head.method }

    /// The value of path parameter `name` ("" when the route has none of that name).
    public func parameter(_ name: String) -> String { pathParameters[name] ?? "" }

    /// Every value of query parameter `name`, in order.
    public func queryValues(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }

    public init(head: HTTPRequestHead, path: String, query: [(name: String, value: String)]) {
        self.head = head
        self.path = path
        self.query = query
    }

    /// Splits an origin-form request target into its decoded path and query; nil when the
    /// target is not origin-form ("/…") or holds an invalid percent escape.
    public static func parseTarget(_ target: String) -> (path: String, query: [(name: String, value: String)])? {
        guard target.utf8.first == UInt8(ascii: "/") else { return nil }
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let path = percentDecoded(parts[0], plusIsSpace: false) else { return nil }
        var query: [(name: String, value: String)] = []
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") where !pair.isEmpty {
                let nv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = percentDecoded(nv[0], plusIsSpace: true),
                    let value = percentDecoded(nv.count == 2 ? nv[1] : "", plusIsSpace: true)
                else { return nil }
                query.append((name, value))
            }
        }
        return (path, query)
    }

    /// `%XX` escapes decoded as UTF-8 (RFC 3986 §2.1); nil for a bad escape or invalid UTF-8.
    private static func percentDecoded(_ text: Substring, plusIsSpace: Bool) -> String? {
        let utf8 = Array(text.utf8)
        guard utf8.contains(UInt8(ascii: "%")) || (plusIsSpace && utf8.contains(UInt8(ascii: "+"))) else {
            return String(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            let b = utf8[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < utf8.count, let h = hexDigit(utf8[i + 1]), let l = hexDigit(utf8[i + 2]) else {
                    return nil
                }
                bytes.append(h << 4 | l)
                i += 3
            } else {
                bytes.append(plusIsSpace && b == UInt8(ascii: "+") ? 0x20 : b)
                i += 1
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexDigit(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }
}

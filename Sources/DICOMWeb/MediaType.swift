// SPDX-License-Identifier: Apache-2.0
import HTTP1

/// A media type with its parameters (RFC 9110 §8.3.1): `type/subtype *( OWS ";" OWS parameter )`.
/// Type, subtype and parameter names are lowercased (they are case-insensitive); parameter values
/// are unquoted and kept as sent.
public struct MediaType: Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var subtype: String
    /// Parameters in the order sent (names lowercased).
    public var parameters: [(name: String, value: String)]

    public init(type: String, subtype: String, parameters: [(name: String, value: String)] = []) {
        self.type = type.lowercased()
        self.subtype = subtype.lowercased()
        self.parameters = parameters.map { ($0.name.lowercased(), $0.value) }
    }

    /// Parses one media range (RFC 9110 §12.5.1 allows `*/*` and `type/*`); nil when malformed.
    public init?(parsing text: Substring) {
        let parts = MediaType.splitOutsideQuotes(text, on: ";")
        guard let first = parts.first else { return nil }
        let essence = first.trimmingWhitespace()
        guard let slash = essence.firstIndex(of: "/") else { return nil }
        let t = essence[..<slash]
        let s = essence[essence.index(after: slash)...]
        guard t.isHTTPToken, s.isHTTPToken else { return nil }
        var params: [(name: String, value: String)] = []
        for raw in parts.dropFirst() {
            let p = raw.trimmingWhitespace()
            if p.isEmpty { continue }
            guard let eq = p.firstIndex(of: "=") else { return nil }
            let name = p[..<eq].trimmingWhitespace()
            let rawValue = p[p.index(after: eq)...].trimmingWhitespace()
            guard name.isHTTPToken, let value = MediaType.unquote(rawValue) else { return nil }
            params.append((String(name), value))
        }
        self.init(type: String(t), subtype: String(s), parameters: params)
    }

    public init?(parsing text: String) { self.init(parsing: Substring(text)) }

    /// The value of parameter `name` (case-insensitive), nil when absent.
    public func parameter(_ name: String) -> String? {
        let n = name.lowercased()
        return parameters.first { $0.name == n }?.value
    }

    /// "type/subtype".
    public var essence: String { "\(type)/\(subtype)" }

    public var description: String {
        var s = essence
        for p in parameters { s += "; \(p.name)=\(MediaType.quotedIfNeeded(p.value))" }
        return s
    }

    public static func == (a: MediaType, b: MediaType) -> Bool {
        a.type == b.type && a.subtype == b.subtype && a.parameters.map(\.name) == b.parameters.map(\.name)
            && a.parameters.map(\.value) == b.parameters.map(\.value)
    }

    public func hash(into h: inout Hasher) {
        h.combine(type)
        h.combine(subtype)
        for p in parameters {
            h.combine(p.name)
            h.combine(p.value)
        }
    }

    /// A parameter value as a token when it is one, else as a quoted-string (RFC 9110 §5.6.4).
    public static func quotedIfNeeded(_ value: String) -> String {
        if value.isHTTPToken { return value }
        var out = "\""
        for c in value {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }

    /// The elements of a list separated by `separator` outside quoted strings (RFC 9110 §5.6.1).
    static func splitOutsideQuotes(_ text: Substring, on separator: Character) -> [Substring] {
        var parts: [Substring] = []
        var start = text.startIndex
        var i = text.startIndex
        var quoted = false
        var escaped = false
        while i < text.endIndex {
            let c = text[i]
            if escaped {
                escaped = false
            } else if quoted && c == "\\" {
                escaped = true
            } else if c == "\"" {
                quoted.toggle()
            } else if !quoted && c == separator {
                parts.append(text[start..<i])
                start = text.index(after: i)
            }
            i = text.index(after: i)
        }
        parts.append(text[start...])
        return parts
    }

    /// A token as is, or the content of a quoted-string with its escapes removed; nil otherwise.
    static func unquote(_ v: Substring) -> String? {
        guard v.first == "\"" else { return v.isHTTPToken ? String(v) : nil }
        guard v.count >= 2, v.last == "\"" else { return nil }
        var out = ""
        var escaped = false
        for c in v.dropFirst().dropLast() {
            if escaped {
                out.append(c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == "\"" {
                return nil
            } else {
                out.append(c)
            }
        }
        return escaped ? nil : out
    }

}

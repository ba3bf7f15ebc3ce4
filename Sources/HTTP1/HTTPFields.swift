// SPDX-License-Identifier: Apache-2.0
/// One header or trailer field line (RFC 9110 §5): a name and its value as received.
public struct HTTPField: Sendable, Hashable {
    /// The field name as sent (compare with ``HTTPFields`` lookups, which ignore case).
    public var name: String
    /// The field value without leading and trailing whitespace (RFC 9112 §5.1).
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The field lines of a message in the order received; names compare case-insensitively
/// (RFC 9110 §5.1). Several lines with one name stay separate lines; ``subscript(_:)`` combines
/// them with ", " as RFC 9110 §5.3 allows for list-based fields.
public struct HTTPFields: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var lines: [HTTPField]

    public init(_ lines: [HTTPField] = []) { self.lines = lines }

    public init(dictionaryLiteral elements: (String, String)...) {
        lines = elements.map { HTTPField(name: $0.0, value: $0.1) }
    }

    public var count: Int { lines.count }

    public func makeIterator() -> IndexingIterator<[HTTPField]> { lines.makeIterator() }

    /// Adds a field line (kept after existing lines of the same name).
    public mutating func append(name: String, value: String) {
        lines.append(HTTPField(name: name, value: value))
    }

    /// Replaces every line named `name` by one line with `value` (or removes them for nil).
    public subscript(_ name: String) -> String? {
        get {
            let v = values(name)
            return v.isEmpty ? nil : v.joined(separator: ", ")
        }
        set {
            lines.removeAll { Self.sameName($0.name, name) }
            if let newValue { lines.append(HTTPField(name: name, value: newValue)) }
        }
    }

    /// The values of every line named `name`, in order.
    public func values(_ name: String) -> [String] {
        lines.compactMap { Self.sameName($0.name, name) ? $0.value : nil }
    }

    /// The elements of a comma-separated list field over all its lines (RFC 9110 §5.6.1), trimmed,
    /// empty elements dropped. Quoted strings are not interpreted: for token lists such as
    /// Connection, Transfer-Encoding and Expect.
    public func listElements(_ name: String) -> [Substring] {
        values(name).flatMap { v in
            v.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        }
    }

    /// Whether the list field `name` holds `token`, ignoring case.
    public func contains(_ name: String, token: String) -> Bool {
        listElements(name).contains { Self.sameName($0, token) }
    }

    /// ASCII case-insensitive equality (field names and tokens are ASCII).
    static func sameName<A: StringProtocol, B: StringProtocol>(_ a: A, _ b: B) -> Bool {
        let x = a.utf8
        let y = b.utf8
        guard x.count == y.count else { return false }
        for (p, q) in zip(x, y) where p != q {
            if (p | 0x20) != (q | 0x20) || !((p | 0x20) >= 0x61 && (p | 0x20) <= 0x7A) { return false }
        }
        return true
    }
}

extension StringProtocol {
    /// Without leading and trailing SP and HTAB (OWS, RFC 9110 §5.6.3).
    public func trimmingWhitespace() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

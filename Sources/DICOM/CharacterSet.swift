// SPDX-License-Identifier: Apache-2.0
/// Specific Character Set (0008,0005) handling (PS3.5 §6.1, PS3.3 C.12.1.1.2).
///
/// Supported: the default repertoire (ISO_IR 6 / empty), ISO_IR 100 and
/// ISO 2022 IR 100 (Latin-1), ISO_IR 192 (UTF-8).
/// Limitation: every other character set (including ISO 2022 code extensions
/// with escape sequences, GB18030, GBK, the other ISO 8859 parts, JIS, KS X 1001)
/// is currently decoded as Latin-1 (`isFullySupported` is false for them).
/// Default repertoire values holding bytes above 0x7F are decoded as Latin-1 too.
public struct SpecificCharacterSet: Sendable, Hashable {
    /// How bytes are turned into characters.
    public enum Encoding: Sendable, Hashable {
        /// ISO 646 (ASCII); stray 8-bit bytes decoded as Latin-1.
        case ascii
        /// ISO 8859-1.
        case latin1
        /// UTF-8 (invalid sequences replaced by U+FFFD).
        case utf8
    }

    /// Defined terms as given in (0008,0005), one per value.
    public let terms: [String]
    /// The encoding used for decoding.
    public let encoding: Encoding
    /// False when a term is not supported and the Latin-1 fallback applies.
    public let isFullySupported: Bool

    /// The default repertoire (no (0008,0005)).
    public static let `default` = SpecificCharacterSet(terms: [])

    /// Creates from the raw (0008,0005) value, e.g. "ISO_IR 100" or "\\ISO 2022 IR 100".
    public init(_ value: String?) {
        let terms = (value ?? "").split(separator: "\\", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
        self.init(terms: terms.allSatisfy(\.isEmpty) ? [] : terms)
    }

    /// Creates from the defined terms.
    public init(terms: [String]) {
        self.terms = terms
        var enc = Encoding.ascii
        var ok = true
        for t in terms {
            switch t {
            case "", "ISO_IR 6", "ISO 2022 IR 6": break
            case "ISO_IR 100", "ISO 2022 IR 100": if enc == .ascii { enc = .latin1 }
            case "ISO_IR 192": enc = .utf8
            default:
                ok = false
                if enc == .ascii { enc = .latin1 }
            }
        }
        encoding = enc
        isFullySupported = ok
    }

    /// Decodes value bytes (PS3.5 §6.1.2).
    public func decode(_ bytes: ArraySlice<UInt8>) -> String {
        if encoding == .utf8 || !bytes.contains(where: { $0 >= 0x80 }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(b)) }
        return String(s)
    }

    /// Encodes a string for storage under this character set (UTF-8 for
    /// ISO_IR 192, Latin-1 otherwise, '?' for unrepresentable characters).
    public func encode(_ string: String) -> [UInt8] {
        if encoding == .utf8 { return Array(string.utf8) }
        return string.unicodeScalars.map { $0.value < 0x100 ? UInt8($0.value) : UInt8(ascii: "?") }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " { s.removeFirst() }
        while let l = s.last, l == " " || l == "\0" { s.removeLast() }
        return String(s)
    }
}

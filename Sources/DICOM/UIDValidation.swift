// SPDX-License-Identifier: Apache-2.0
// The syntax of UID values (PS3.5 §9.1, and the UI value representation of PS3.5 Table 6.2-1).

/// How strictly a received UID is checked.
public enum UIDPolicy: String, Sendable, CaseIterable, Hashable {
    /// PS3.5 §9.1: components of digits separated by single dots, no leading zero in a
    /// component of more than one digit, at most 64 characters.
    case strict
    /// For sites whose modalities send UIDs that break §9.1 (letters, leading zeros, empty
    /// components): any printable ASCII character except the value delimiter `\`, still at
    /// most 64 characters. Control characters (NUL among them), non-ASCII characters and
    /// longer values are refused under both policies: they cannot be matched, logged,
    /// named on disk and sent back unchanged, so the file, the index and what a peer sees
    /// would disagree.
    case lenient
}

/// Why a value is not an acceptable UID.
public enum UIDProblem: Sendable, Hashable, CustomStringConvertible {
    case empty
    /// Longer than ``UIDValidation/maximumLength`` (the length given).
    case tooLong(Int)
    /// A control character (C0, DEL) at this byte offset (0-based, UTF-8).
    case controlCharacter(offset: Int)
    /// A character outside the default repertoire (non-ASCII) at this byte offset.
    case nonASCII(offset: Int)
    /// The value delimiter `\` at this byte offset: a UID is a single value.
    case backslash(offset: Int)
    /// A character other than a digit or a dot at this byte offset (strict only).
    case notDigitOrDot(offset: Int)
    /// An empty component: a leading or trailing dot, or two dots in a row (strict only).
    case emptyComponent
    /// A component of more than one digit starting with 0 (strict only).
    case leadingZero

    public var description: String {
        switch self {
        case .empty: "empty"
        case .tooLong(let length): "\(length) chars, over \(UIDValidation.maximumLength)"
        case .controlCharacter(let offset): "control character at offset \(offset)"
        case .nonASCII(let offset): "non-ASCII character at offset \(offset)"
        case .backslash(let offset): "backslash at offset \(offset)"
        case .notDigitOrDot(let offset): "not a digit or dot at offset \(offset)"
        case .emptyComponent: "empty component"
        case .leadingZero: "leading zero in a component"
        }
    }
}

/// Checks the syntax of a UID value (pure; no I/O).
public enum UIDValidation {
    /// Most characters of a UID (PS3.5 §9.1; the UI VR's maximum, Table 6.2-1).
    public static let maximumLength = 64

    /// Why `uid` is not acceptable under `policy`, or nil when it is. `uid` is the value
    /// without its padding (``DataSet/uid(_:)`` removes a trailing NUL or space); a NUL
    /// anywhere in it is a control character.
    public static func problem(_ uid: String, policy: UIDPolicy = .strict) -> UIDProblem? {
        let bytes = uid.utf8
        guard !bytes.isEmpty else { return .empty }
        // Characters before length, so that a long value with a NUL is reported for the NUL.
        var offset = 0
        var componentLength = 0
        var componentStartsWithZero = false
        for byte in bytes {
            defer { offset += 1 }
            switch byte {
            case 0x00..<0x20, 0x7F: return .controlCharacter(offset: offset)
            case 0x80...: return .nonASCII(offset: offset)
            case UInt8(ascii: "\\"): return .backslash(offset: offset)
            default: break
            }
            guard policy == .strict else { continue }
            switch byte {
            case UInt8(ascii: "."):
                if componentLength == 0 { return .emptyComponent }
                componentLength = 0
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if componentLength == 0 {
                    componentStartsWithZero = byte == UInt8(ascii: "0")
                } else if componentStartsWithZero {
                    return .leadingZero
                }
                componentLength += 1
            default:
                return .notDigitOrDot(offset: offset)
            }
        }
        if bytes.count > maximumLength { return .tooLong(bytes.count) }
        if policy == .strict, componentLength == 0 { return .emptyComponent }
        return nil
    }

    /// Whether `uid` is acceptable under `policy` (``problem(_:policy:)`` is nil).
    public static func isValid(_ uid: String, policy: UIDPolicy = .strict) -> Bool {
        problem(uid, policy: policy) == nil
    }
}

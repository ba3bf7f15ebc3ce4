// SPDX-License-Identifier: Apache-2.0
// Escaping and bounding of logged text, shared by the journald and the stderr handler. Pure: no I/O.
import Logging

/// Makes a log message or metadata value safe to write as one value of one record.
///
/// Much of what the daemon logs came from a peer or a file (AE titles, UIDs, Error Comments,
/// paths, character data). Written raw, a value holding a newline and a made-up timestamp
/// would show as a record of its own, and ESC sequences would drive the reader's terminal.
/// The log handlers therefore pass the message and every metadata value through
/// ``escaped(_:limit:)`` — one place, so that no call site has to remember it:
///
/// - `\` becomes `\\`, so an escape in the output always means an escaped character;
/// - newline, carriage return and tab become `\n`, `\r`, `\t`; NUL, the other C0 controls
///   and DEL become `\x00`…`\x1f`, `\x7f`;
/// - C1 controls (U+0080–U+009F, NEL among them), the Unicode line and paragraph separators
///   (U+2028, U+2029) and the bidirectional overrides and isolates (U+202A–U+202E,
///   U+2066–U+2069) become `\u{85}`-style escapes;
/// - at most ``maximumValueBytes`` bytes of escaped text are kept; a longer value ends in
///   `…[+N bytes]`, N counting the input bytes left out.
///
/// Text without any of these characters is returned unchanged (and without copying).
public enum LogText {
    /// The most UTF-8 bytes of escaped text one message or metadata value keeps: room for a
    /// path, an Error Comment or an error's description, while a peer's 10,000-character
    /// UID or a dumped data set cannot fill the log.
    public static let maximumValueBytes = 2048

    /// `text` escaped and bounded as described on ``LogText``.
    public static func escaped(_ text: String, limit: Int = maximumValueBytes) -> String {
        if text.utf8.count <= limit, !text.utf8.contains(where: needsAttention) { return text }
        var output: [UInt8] = []
        output.reserveCapacity(min(text.utf8.count, limit) + 16)
        var consumed = 0
        for scalar in text.unicodeScalars {
            let escape = escapeSequence(for: scalar)
            let width = escape?.utf8.count ?? UTF8.width(scalar)
            if output.count + width > limit {
                let left = text.utf8.count - consumed
                output += "…[+\(left) bytes]".utf8
                break
            }
            if let escape {
                output += escape.utf8
            } else {
                output += String(scalar).utf8
            }
            consumed += UTF8.width(scalar)
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// A metadata value as text (strings as they are, anything else as its description),
    /// escaped and bounded.
    public static func escaped(_ value: Logger.MetadataValue, limit: Int = maximumValueBytes) -> String {
        switch value {
        case .string(let string): escaped(string, limit: limit)
        case .stringConvertible(let convertible): escaped(convertible.description, limit: limit)
        default: escaped(value.description, limit: limit)
        }
    }

    /// Bytes that may start something to escape: controls, DEL, backslash, and any
    /// non-ASCII byte (the non-ASCII scalars are then looked at one by one).
    private static func needsAttention(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\\")
    }

    private static func escapeSequence(for scalar: Unicode.Scalar) -> String? {
        switch scalar.value {
        case 0x5C: return "\\\\"
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x09: return "\\t"
        case 0x00..<0x20, 0x7F: return "\\x" + hex(scalar.value, digits: 2)
        case 0x80...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069:
            return "\\u{" + String(scalar.value, radix: 16) + "}"
        default: return nil
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

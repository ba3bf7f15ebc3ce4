// SPDX-License-Identifier: Apache-2.0
// Encoding of a swift-log event into journal fields (systemd.journal-fields(7)). Pure: no I/O.
import Logging

/// The journal fields of one log record, built from a swift-log ``LogEvent``.
public enum JournalEntry {
    /// Field names this encoder sets itself; metadata keys that map onto one of them are
    /// renamed with ``collisionPrefix`` so they cannot replace the record's own values.
    public static let reservedFields: Set<String> = [
        "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "LOGGER",
    ]

    /// Prefix for metadata keys that collide with ``reservedFields`` (`message` → `META_MESSAGE`).
    public static let collisionPrefix = "META_"

    /// Longest valid journal field name.
    public static let maximumFieldNameLength = 64

    /// The fields of one record, in order: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, LOGGER (only
    /// when `label` differs from the identifier), CODE_FILE, CODE_LINE, CODE_FUNC, then the
    /// metadata sorted by key, and the event's error as ERROR_MESSAGE/ERROR_TYPE. MESSAGE and
    /// every metadata value are escaped and bounded by ``LogText/escaped(_:limit:)``: one
    /// record is one line in `journalctl`, whatever a peer put in a UID or AE title.
    ///
    /// - Parameters:
    ///   - event: the swift-log event.
    ///   - metadata: the handler's merged metadata (handler, provider); `event.metadata` wins
    ///     over it key by key.
    ///   - identifier: SYSLOG_IDENTIFIER.
    ///   - label: the logger's label.
    public static func fields(
        for event: LogEvent,
        metadata: Logger.Metadata = [:],
        identifier: String = "qrscpd",
        label: String? = nil
    ) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("MESSAGE", LogText.escaped(event.message.description)),
            ("PRIORITY", String(priority(for: event.level))),
            ("SYSLOG_IDENTIFIER", identifier),
        ]
        if let label, label != identifier {
            fields.append(("LOGGER", label))
        }
        fields.append(("CODE_FILE", event.file))
        fields.append(("CODE_LINE", String(event.line)))
        fields.append(("CODE_FUNC", event.function))

        var merged = metadata
        if let explicit = event.metadata {
            merged.merge(explicit) { _, new in new }
        }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        for key in merged.keys.sorted() {
            guard let name = metadataFieldName(key), let value = merged[key] else { continue }
            fields.append((name, LogText.escaped(value)))
        }
        return fields
    }

    /// syslog priority of a swift-log level: trace/debug 7, info 6, notice 5, warning 4,
    /// error 3, critical 2.
    public static func priority(for level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A valid journal field name for `key`: ASCII letters upper-cased, any other character
    /// outside A–Z/0–9 becomes `_`, leading `_` and digits are dropped (journald reserves `_`
    /// for trusted fields and rejects a leading digit), at most 64 characters. `nil` when
    /// nothing is left.
    public static func sanitizedFieldName(_ key: String) -> String? {
        var name: [UInt8] = []
        name.reserveCapacity(min(key.utf8.count, maximumFieldNameLength))
        for byte in key.utf8 {
            let mapped: UInt8
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): mapped = byte - 32
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): mapped = byte
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if name.isEmpty { continue }
                mapped = byte
            default:
                // Continuation bytes of one non-ASCII character give a single `_`.
                if byte & 0xC0 == 0x80 { continue }
                if name.isEmpty { continue }
                mapped = UInt8(ascii: "_")
            }
            name.append(mapped)
            if name.count == maximumFieldNameLength { break }
        }
        return name.isEmpty ? nil : String(decoding: name, as: UTF8.self)
    }

    /// Field name for a metadata key: ``sanitizedFieldName(_:)``, renamed when it collides
    /// with ``reservedFields``.
    public static func metadataFieldName(_ key: String) -> String? {
        guard let name = sanitizedFieldName(key) else { return nil }
        guard reservedFields.contains(name) else { return name }
        return String((collisionPrefix + name).prefix(maximumFieldNameLength))
    }

    /// Whether `name` is a valid field name for a client to send.
    public static func isValidFieldName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= maximumFieldNameLength else { return false }
        guard first != UInt8(ascii: "_"), !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return bytes.allSatisfy {
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_")
        }
    }
}

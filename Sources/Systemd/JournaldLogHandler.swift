// SPDX-License-Identifier: Apache-2.0
// A swift-log handler that writes structured records to journald with sd_journal_sendv.
import CSystemShims
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Sends one structured journal entry per log call (sd_journal_sendv(3)): MESSAGE, PRIORITY,
/// SYSLOG_IDENTIFIER, CODE_FILE/LINE/FUNC and each metadata key as an upper-cased field
/// (``JournalEntry/fields(for:metadata:identifier:label:)``).
///
/// Use it when ``isStderrConnectedToJournal()`` is true; otherwise log plain text to stderr.
/// If journald's socket (`/run/systemd/journal/socket`) did not exist when the handler was
/// made, or a send fails, the record goes to stderr as `<priority>message` instead, which
/// journald's stream reader (or a terminal) still understands. (libsystemd itself drops
/// records silently when the socket is missing.) Either way the message and metadata values
/// are escaped and bounded (``LogText``).
public struct JournaldLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// The logger's label, sent as `LOGGER=` when it differs from ``identifier``.
    public let label: String
    /// `SYSLOG_IDENTIFIER=`; `journalctl -t qrscpd` selects on it.
    public let identifier: String
    /// Whether journald's native socket existed when this handler was made.
    public let journalSocketExists: Bool

    /// journald's native protocol socket (fixed in libsystemd).
    public static let journalSocketPath = "/run/systemd/journal/socket"

    public init(
        label: String,
        identifier: String = "qrscpd",
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.label = label
        self.identifier = identifier
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
        self.journalSocketExists = access(Self.journalSocketPath, F_OK) == 0
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        guard journalSocketExists else {
            Self.writeFallback(priority: JournalEntry.priority(for: event.level), message: event.message.description)
            return
        }
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, new in new }
        }
        let fields = JournalEntry.fields(for: event, metadata: merged, identifier: identifier, label: label)
        if Self.send(fields) < 0 {
            Self.writeFallback(priority: JournalEntry.priority(for: event.level), message: event.message.description)
        }
    }

    /// Sends `fields` as one journal entry. Returns sd_journal_sendv's result (0, or -errno).
    @discardableResult
    public static func send(_ fields: [(String, String)]) -> Int32 {
        guard !fields.isEmpty else { return -EINVAL }
        // All "KEY=value" items in one buffer, one iovec each; libsystemd frames values that
        // contain newlines in the binary form itself.
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(fields.count)
        for (name, value) in fields {
            let start = buffer.count
            buffer += name.utf8
            buffer.append(UInt8(ascii: "="))
            buffer += value.utf8
            ranges.append(start..<buffer.count)
        }
        return buffer.withUnsafeMutableBytes { raw in
            let iovecs = ranges.map { iovec(iov_base: raw.baseAddress! + $0.lowerBound, iov_len: $0.count) }
            return iovecs.withUnsafeBufferPointer { qrs_sd_journal_sendv_fields($0.baseAddress, Int32($0.count)) }
        }
    }

    private static func writeFallback(priority: Int, message: String) {
        var line = Array("<\(priority)>".utf8)
        line += LogText.escaped(message).utf8
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(2, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    // MARK: Detection (systemd.exec(5) JOURNAL_STREAM)

    /// Whether stderr is the journal's stream socket: `$JOURNAL_STREAM` ("<dev>:<ino>") equals
    /// fd 2's st_dev/st_ino. When true, switch to this handler for structured records.
    public static func isStderrConnectedToJournal() -> Bool {
        let value = getenv("JOURNAL_STREAM").map { String(cString: $0) }
        return isConnectedToJournal(fd: 2, journalStream: value)
    }

    /// Whether `fd` is the stream named by `journalStream` (the value of `$JOURNAL_STREAM`).
    public static func isConnectedToJournal(fd: Int32, journalStream: String?) -> Bool {
        guard let journalStream, let (device, inode) = parseJournalStream(journalStream) else { return false }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// Parses "<dev>:<ino>" (both decimal).
    public static func parseJournalStream(_ value: String) -> (device: UInt64, inode: UInt64)? {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return (device, inode)
    }
}

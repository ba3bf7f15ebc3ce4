// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import Systemd

/// Readable, timestamped log lines on standard error:
/// `2026-11-29T15:50:01.123Z info qrscpd: association accepted calling_ae=ECHOSCU`.
///
/// Used whenever standard error is not the journal (terminal, file, tests). The message and
/// every metadata value are escaped and bounded (``LogText``), so that what a peer sent
/// (an AE title, a UID with a newline and a made-up timestamp) stays inside its own line.
struct StderrLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level
    let label: String

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line = "\(Self.timestamp()) \(event.level) \(label): \(LogText.escaped(event.message.description))"
        for key in merged.keys.sorted() {
            line += " \(key)=\(LogText.escaped(merged[key]!))"
        }
        line += "\n"
        StandardErrorWriter.write(line)
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, Int(now.tv_nsec / 1_000_000)
        )
    }
}

/// One write(2) per line, so lines from different threads never interleave.
enum StandardErrorWriter {
    static func write(_ text: String, fd: Int32 = 2) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }
}

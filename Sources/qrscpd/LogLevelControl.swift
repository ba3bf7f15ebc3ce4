// SPDX-License-Identifier: Apache-2.0
import Logging
import Synchronization

/// The one log level every handler consults, so that a reload can change it.
final class LogLevelControl: Sendable {
    private let current: Mutex<Logger.Level>

    init(_ level: Logger.Level) {
        current = Mutex(level)
    }

    var level: Logger.Level {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}

/// Wraps a handler (stderr or journald) and takes its level from a shared ``LogLevelControl``.
struct SharedLevelLogHandler<Inner: LogHandler>: LogHandler {
    var inner: Inner
    let control: LogLevelControl

    init(_ inner: Inner, control: LogLevelControl) {
        self.inner = inner
        self.inner.logLevel = .trace
        self.control = control
    }

    var logLevel: Logger.Level {
        get { control.level }
        set { control.level = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        inner.log(event: event)
    }
}

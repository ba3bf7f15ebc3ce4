// SPDX-License-Identifier: Apache-2.0
// The sd_notify(3) protocol: readiness, status, reload, stop and watchdog pings.
import CSystemShims
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Outcome of one notification. Notifications are best effort: the daemon logs a failure
/// and carries on.
public enum NotifyResult: Sendable, Equatable {
    /// The datagram went to `$NOTIFY_SOCKET`.
    case sent
    /// `$NOTIFY_SOCKET` is not set (not started by systemd, or not `Type=notify`).
    case notConfigured
    /// sd_notify failed with this errno (socket missing, address not supported, ...).
    case failed(errno: Int32)
}

/// Tells the service manager about the daemon's state over `$NOTIFY_SOCKET` (sd_notify(3)).
///
/// Every call sends one datagram and returns its ``NotifyResult``; none throws. When a
/// `Logger` is given, failures are also logged: at warning level, except watchdog pings
/// (debug, since they repeat every few seconds).
public struct SystemdNotifier: Sendable {
    private let logger: Logger?

    /// - Parameter logger: where failed notifications are reported; `nil` to stay silent.
    public init(logger: Logger? = nil) {
        self.logger = logger
    }

    /// Whether `$NOTIFY_SOCKET` is set, i.e. a service manager waits for our notifications.
    public var isEnabled: Bool {
        getenv("NOTIFY_SOCKET") != nil
    }

    /// `READY=1`, plus `STATUS=` when given: startup (or a reload) has finished.
    @discardableResult
    public func ready(status: String? = nil) -> NotifyResult {
        send(Self.state(["READY=1"], status: status))
    }

    /// `STATUS=…`: one line shown by `systemctl status`.
    @discardableResult
    public func status(_ text: String) -> NotifyResult {
        send(Self.state([], status: text))
    }

    /// `STOPPING=1`: the first step of a graceful shutdown.
    @discardableResult
    public func stopping(status: String? = nil) -> NotifyResult {
        send(Self.state(["STOPPING=1"], status: status))
    }

    /// `RELOADING=1` + `MONOTONIC_USEC=<CLOCK_MONOTONIC µs>`: a configuration reload starts.
    /// Follow it with ``ready(status:)`` when the reload has finished.
    @discardableResult
    public func reloading(status: String? = nil) -> NotifyResult {
        let usec = qrs_monotonic_now_ns() / 1_000
        return send(Self.state(["RELOADING=1", "MONOTONIC_USEC=\(usec)"], status: status))
    }

    /// `WATCHDOG=1`: keep-alive ping; send it at ``recommendedPingInterval`` from the reactor loop.
    @discardableResult
    public func watchdogPing() -> NotifyResult {
        send("WATCHDOG=1", failureLevel: .debug)
    }

    /// `EXTEND_TIMEOUT_USEC=…`: asks for more start-up or shutdown time (a long initial scan).
    @discardableResult
    public func extendTimeout(by duration: Duration) -> NotifyResult {
        send("EXTEND_TIMEOUT_USEC=\(Self.microseconds(duration))")
    }

    /// Sends raw `KEY=VALUE` lines, for keys without a dedicated method.
    @discardableResult
    public func send(_ state: String) -> NotifyResult {
        send(state, failureLevel: .warning)
    }

    private func send(_ state: String, failureLevel: Logger.Level) -> NotifyResult {
        let rc = qrs_sd_notify(0, state)
        let result: NotifyResult
        if rc > 0 {
            result = .sent
        } else if rc == 0 {
            result = .notConfigured
        } else {
            result = .failed(errno: -rc)
        }
        if case .failed(let code) = result, let logger {
            let first = state.split(separator: "\n").first.map(String.init) ?? state
            logger.log(
                level: failureLevel,
                "sd_notify failed",
                metadata: ["errno": "\(code)", "notify_state": "\(first)"]
            )
        }
        return result
    }

    /// Joins notification lines; a `STATUS=` value is kept on one line.
    static func state(_ lines: [String], status: String?) -> String {
        var lines = lines
        if let status {
            let oneLine = status.split(whereSeparator: \.isNewline).joined(separator: " ")
            lines.append("STATUS=\(oneLine)")
        }
        return lines.joined(separator: "\n")
    }

    static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000 + UInt64(attoseconds / 1_000_000_000_000)
    }

    // MARK: Watchdog

    /// The watchdog interval systemd expects pings within (`WatchdogSec=`), or `nil` when the
    /// watchdog is off: `WATCHDOG_USEC` unset or invalid, or `WATCHDOG_PID` names another process.
    public static func watchdogInterval() -> Duration? {
        var usec: UInt64 = 0
        guard qrs_sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(clamping: usec))
    }

    /// How often to send ``watchdogPing()``: half the watchdog interval, as sd_watchdog_enabled(3)
    /// recommends; `nil` when the watchdog is off.
    public static var recommendedPingInterval: Duration? {
        watchdogInterval().map(recommendedPingInterval(for:))
    }

    /// Half of `interval`.
    public static func recommendedPingInterval(for interval: Duration) -> Duration {
        interval / 2
    }
}

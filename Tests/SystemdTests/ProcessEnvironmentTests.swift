// SPDX-License-Identifier: Apache-2.0
// Tests that set process-wide environment variables (NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*):
// one serialized suite, so they never race each other.
import CSystemShims
import Foundation
import Logging
import Testing

@testable import Systemd

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized) struct ProcessEnvironmentTests {
    // MARK: sd_notify

    @Suite(.serialized) struct Notifier {
        private func withNotifySocket(abstract: Bool, _ body: (DatagramReceiver) throws -> Void) throws {
            let dir = try makeTemporaryDirectory()
            defer { removeTree(dir) }
            let address = abstract ? "@qrscpd-test-\(getpid())" : dir + "/notify"
            let receiver = try DatagramReceiver(address: address, onlyFrom: getpid())
            try withEnvironment(["NOTIFY_SOCKET": address]) { try body(receiver) }
        }

        @Test(arguments: [false, true]) func sendsEachNotificationAsOneDatagram(abstract: Bool) throws {
            try withNotifySocket(abstract: abstract) { receiver in
                let notifier = SystemdNotifier()
                #expect(notifier.isEnabled)

                #expect(notifier.ready(status: "Listening on :11112") == .sent)
                #expect(receiver.receiveString() == "READY=1\nSTATUS=Listening on :11112")

                #expect(notifier.ready() == .sent)
                #expect(receiver.receiveString() == "READY=1")

                #expect(notifier.status("3 associations") == .sent)
                #expect(receiver.receiveString() == "STATUS=3 associations")

                #expect(notifier.status("two\nlines") == .sent)
                #expect(receiver.receiveString() == "STATUS=two lines")

                #expect(notifier.stopping() == .sent)
                #expect(receiver.receiveString() == "STOPPING=1")

                #expect(notifier.watchdogPing() == .sent)
                #expect(receiver.receiveString() == "WATCHDOG=1")

                #expect(notifier.extendTimeout(by: .seconds(90)) == .sent)
                #expect(receiver.receiveString() == "EXTEND_TIMEOUT_USEC=90000000")

                let before = qrs_monotonic_now_ns() / 1_000
                #expect(notifier.reloading() == .sent)
                let after = qrs_monotonic_now_ns() / 1_000
                let reload = try #require(receiver.receiveString())
                let lines = reload.split(separator: "\n")
                #expect(lines.count == 2)
                #expect(lines.first == "RELOADING=1")
                let usecText = try #require(lines.last?.split(separator: "=", maxSplits: 1).last)
                #expect(lines.last?.hasPrefix("MONOTONIC_USEC=") == true)
                let usec = try #require(UInt64(usecText))
                #expect(usec >= before && usec <= after)

                #expect(receiver.receive(timeoutMilliseconds: 50) == nil, "one datagram per call")
            }
        }

        @Test func withoutNotifySocketNothingIsSent() {
            withEnvironment(["NOTIFY_SOCKET": nil]) {
                let notifier = SystemdNotifier()
                #expect(!notifier.isEnabled)
                #expect(notifier.ready(status: "x") == .notConfigured)
                #expect(notifier.watchdogPing() == .notConfigured)
            }
        }

        @Test func missingSocketIsReportedNotThrown() throws {
            let dir = try makeTemporaryDirectory()
            defer { removeTree(dir) }
            let records = RecordingLogHandler.Records()
            let logger = Logger(label: "test") { _ in RecordingLogHandler(records: records) }
            withEnvironment(["NOTIFY_SOCKET": dir + "/nobody-listens"]) {
                let result = SystemdNotifier(logger: logger).ready(status: "up")
                #expect(result == .failed(errno: ENOENT) || result == .failed(errno: ECONNREFUSED))
                _ = SystemdNotifier(logger: logger).watchdogPing()
            }
            let logged = records.all
            try #require(logged.count == 2)
            #expect(logged[0].level == .warning)
            #expect(logged[0].message == "sd_notify failed")
            #expect(logged[0].metadata["notify_state"] == "READY=1")
            #expect(logged[0].metadata["errno"] != nil)
            #expect(logged[1].level == .debug)
            #expect(logged[1].metadata["notify_state"] == "WATCHDOG=1")
        }
    }

    // MARK: sd_watchdog_enabled

    @Suite(.serialized) struct Watchdog {
        @Test func intervalFromWatchdogUsec() {
            withEnvironment(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": nil]) {
                #expect(SystemdNotifier.watchdogInterval() == .milliseconds(200))
                #expect(SystemdNotifier.recommendedPingInterval == .milliseconds(100))
            }
            withEnvironment(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "\(getpid())"]) {
                #expect(SystemdNotifier.watchdogInterval() == .milliseconds(200))
            }
        }

        @Test func offForAnotherProcessOrWithoutInterval() {
            // PID 1 is never us, nor a child that could inherit the variables meanwhile.
            withEnvironment(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"]) {
                #expect(SystemdNotifier.watchdogInterval() == nil)
                #expect(SystemdNotifier.recommendedPingInterval == nil)
            }
            withEnvironment(["WATCHDOG_USEC": nil, "WATCHDOG_PID": nil]) {
                #expect(SystemdNotifier.watchdogInterval() == nil)
            }
            withEnvironment(["WATCHDOG_USEC": "soon", "WATCHDOG_PID": nil]) {
                #expect(SystemdNotifier.watchdogInterval() == nil)
            }
        }

        @Test func environmentIsKeptForLaterCalls() {
            withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": nil]) {
                #expect(SystemdNotifier.watchdogInterval() == .seconds(30))
                #expect(SystemdNotifier.watchdogInterval() == .seconds(30))
                #expect(SystemdNotifier.recommendedPingInterval(for: .seconds(30)) == .seconds(15))
            }
        }
    }

    // MARK: sd_listen_fds

    @Suite(.serialized) struct Listen {
        @Test func listenPIDMismatchGivesNoSockets() {
            // PID 1 is never us, nor a child that could inherit the variables meanwhile.
            withEnvironment(["LISTEN_PID": "1", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "dicom"]) {
                #expect(SocketActivation.listeningSockets().isEmpty)
                #expect(getenv("LISTEN_PID") == nil, "sd_listen_fds(unset_environment=1) clears the variables")
                #expect(getenv("LISTEN_FDS") == nil)
                #expect(getenv("LISTEN_FDNAMES") == nil)
            }
        }

        @Test func notActivatedGivesNoSockets() {
            withEnvironment(["LISTEN_PID": nil, "LISTEN_FDS": nil, "LISTEN_FDNAMES": nil]) {
                #expect(SocketActivation.listeningSockets().isEmpty)
                #expect(SocketActivation.activatedSockets().isEmpty)
            }
        }
    }
}

/// Collects log records for assertions.
struct RecordingLogHandler: LogHandler {
    final class Records: @unchecked Sendable {
        private let lock = NSLock()
        private var records: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] = []
        func append(_ record: (level: Logger.Level, message: String, metadata: Logger.Metadata)) {
            lock.withLock { records.append(record) }
        }
        var all: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] { lock.withLock { records } }
    }

    let records: Records
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.append((event.level, event.message.description, metadata.merging(event.metadata ?? [:]) { $1 }))
    }
}

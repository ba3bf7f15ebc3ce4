// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real qrscpd executable, started on a free loopback port for one test and
/// stopped (SIGTERM) at the end of it.
///
/// Its log (and its storage, unless the caller passes one) lives in a scratch directory of
/// its own, removed when the object goes away, after the daemon has exited. Tests that want
/// the log on failure put `log` into the failure message.
final class DaemonProcess {
    let port: Int
    let aeTitle: String
    let storageDirectory: URL
    let logURL: URL
    /// Created by this object and removed by its deinit; never the caller's storage directory.
    private let scratch: URL
    private let process: Process
    private var stopped = false

    /// Starts qrscpd and waits until it accepts TCP connections.
    /// - Parameters:
    ///   - aeTitle: the AE title the daemon answers to.
    ///   - arguments: extra command-line options (e.g. `--max-assoc 2`).
    ///   - environment: extra environment variables (e.g. `QRSCPD_*` settings).
    ///   - launcher: a command that execs the daemon in its own process (e.g. `prlimit` with a
    ///     descriptor limit); the process identifier stays the daemon's.
    init(
        aeTitle: String = "QRSCPD", arguments: [String] = [], storageDirectory: URL? = nil,
        environment extraEnvironment: [String: String] = [:], launcher: [String] = []
    ) throws {
        self.aeTitle = aeTitle
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        self.scratch = scratch
        // deinit does not run for an init that throws; every attempt's process has exited by then.
        var started = false
        defer { if !started { try? FileManager.default.removeItem(at: scratch) } }
        self.storageDirectory = storageDirectory ?? scratch.appendingPathComponent("storage")
        try FileManager.default.createDirectory(at: self.storageDirectory, withIntermediateDirectories: true)
        self.logURL = scratch.appendingPathComponent("qrscpd.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)

        let binary = PackagePaths.daemonBinary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw DaemonError("qrscpd binary not found at \(binary); build it first (swift build)")
        }
        var lastError: Error = DaemonError("no attempt made")
        // A free port can be taken by someone else between probing and binding; retry.
        for _ in 0..<5 {
            let port = try freeLoopbackPort()
            let process = Process()
            let daemonArguments = ["\(port)", aeTitle, "--storage-dir", self.storageDirectory.path] + arguments
            process.executableURL = URL(fileURLWithPath: launcher.first ?? binary)
            process.arguments =
                launcher.isEmpty ? daemonArguments : Array(launcher.dropFirst()) + [binary] + daemonArguments
            let log = try FileHandle(forWritingTo: logURL)
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            var environment = ProcessInfo.processInfo.environment
            environment.removeValue(forKey: "NOTIFY_SOCKET")
            environment.removeValue(forKey: "JOURNAL_STREAM")
            environment.merge(extraEnvironment) { _, new in new }
            process.environment = environment
            try process.run()
            if Self.waitForListening(port: port, process: process, timeout: 20) {
                self.port = port
                self.process = process
                started = true
                return
            }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            lastError = DaemonError("qrscpd did not start listening on port \(port):\n\(Self.read(logURL))")
        }
        throw lastError
    }

    deinit {
        // stop() returns only once the process has exited, so nothing writes into scratch any more.
        _ = stop()
        try? FileManager.default.removeItem(at: scratch)
    }

    var processIdentifier: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Everything the daemon printed so far.
    var log: String { Self.read(logURL) }

    /// Resident set size of the daemon in KiB, from /proc.
    var residentKiB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }

    /// Peak resident set size of the daemon since it started (VmHWM) in KiB, from /proc.
    var peakResidentKiB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }

    /// Sends a signal and waits (bounded) for the daemon to exit; returns its exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 20) -> Int32? {
        guard !stopped else { return process.isRunning ? nil : process.terminationStatus }
        stopped = true
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Asks the daemon for a C-ECHO with DCMTK's echoscu and reports whether it succeeded.
    func echoWithDCMTK(callingAE: String = "ECHOSCU") -> ToolResult {
        ExternalTool.run(
            "/usr/bin/echoscu", ["-aet", callingAE, "-aec", aeTitle, "-to", "10", "127.0.0.1", "\(port)"], timeout: 30)
    }

    private static func waitForListening(port: Int, process: Process, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else { return false }
            if let socket = try? RawDICOMSocket(port: port, timeout: 1) {
                socket.close()
                return true
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    private static func read(_ url: URL) -> String {
        (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }
}

struct DaemonError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real qrscpd binary under a fake service manager: a datagram socket at NOTIFY_SOCKET,
/// WATCHDOG_USEC, SIGHUP reloads, SIGTERM stops; plus command-line and config-file errors.
/// Needs no DICOM peer tools: associations are hand-made PDUs.
@Suite("Daemon lifecycle under a fake systemd", .serialized)
struct DaemonLifecycleTests {
    // MARK: Notify, watchdog, reload, stop

    @Test("READY after listening, watchdog pings, SIGHUP reloads (bad file keeps old settings), SIGTERM stops")
    func readyWatchdogReloadStop() throws {
        let scratch = try LifecycleScratch()
        let notify = try NotifyReceiver(path: scratch.path + "/notify")
        let port = try freeLoopbackPort()
        let config = scratch.path + "/qrscpd.yaml"
        // Port and AE title come from the file only: the positional arguments are omitted.
        try Self.config(port: port, allowed: ["GOOD"], logLevel: "info").write(
            toFile: config, atomically: true, encoding: .utf8)

        let daemon = try LaunchedDaemon(
            arguments: ["--config", config, "--storage-dir", scratch.path + "/storage"],
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"],
            scratch: scratch
        )
        defer { daemon.kill() }

        // READY=1 only once the port accepts connections (and the start-up scan is done).
        let ready = try #require(notify.wait(for: "READY=1", timeout: 20), "no READY=1\n\(daemon.output)")
        let probe = try? RawDICOMSocket(port: port, timeout: 1)
        #expect(probe != nil, "READY=1 sent before the port accepted connections")
        probe?.close()
        #expect(ready.message.contains("STATUS=Listening on :\(port)"), "\(ready.message)")
        #expect(ready.message.contains("0 instances indexed"), "\(ready.message)")
        let scanning = notify.messages().firstIndex { $0.contains("STATUS=Scanning") }
        #expect(scanning != nil && scanning! < ready.index, "no scan STATUS= before READY=1")

        // Watchdog: WATCHDOG_USEC=400000 → a ping every 200 ms from the reactor.
        // Two pings in a row, each within a few periods: the keep-alive is periodic, not one-off.
        let pingStart = notify.count
        let firstPing = notify.wait(for: "WATCHDOG=1", from: pingStart, timeout: 2)
        #expect(firstPing != nil, "no WATCHDOG=1 within 2 s")
        if let firstPing {
            #expect(
                notify.wait(for: "WATCHDOG=1", from: firstPing.index + 1, timeout: 2) != nil, "no second WATCHDOG=1")
        }

        // Calling AE policy: allowed for no service → A-ASSOCIATE-RJ 1/1/3.
        #expect(Self.associate(port: port, calling: "GOOD") == .accepted)
        #expect(Self.associate(port: port, calling: "NEWCOMER") == .rejected(result: 1, source: 1, reason: 3))

        // SIGHUP with a changed file: RELOADING=1 + MONOTONIC_USEC, then READY=1, new policy and level.
        try Self.config(port: port, allowed: ["GOOD", "NEWCOMER"], logLevel: "notice").write(
            toFile: config, atomically: true, encoding: .utf8)
        var mark = notify.count
        let hupTime = Self.monotonicMicroseconds()
        kill(daemon.pid, SIGHUP)
        let reloading = try #require(
            notify.wait(for: "RELOADING=1", from: mark, timeout: 10), "no RELOADING=1\n\(daemon.output)")
        let usec = reloading.message.split(separator: "\n").first { $0.hasPrefix("MONOTONIC_USEC=") }
            .flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) }
        let monotonic = try #require(usec, "RELOADING=1 without a numeric MONOTONIC_USEC: \(reloading.message)")
        #expect(monotonic >= hupTime && monotonic <= Self.monotonicMicroseconds())
        #expect(
            notify.wait(for: "READY=1", from: reloading.index + 1, timeout: 10) != nil, "no READY=1 after the reload")
        let logBefore = daemon.stderr.count
        #expect(Self.associate(port: port, calling: "NEWCOMER") == .accepted, "\(daemon.output)")
        // A rejection logs at notice level after the accepted association's (suppressed) info
        // lines would have been written: once it is in the log, so would they be.
        #expect(Self.associate(port: port, calling: "STRANGER") == .rejected(result: 1, source: 1, reason: 3))
        #expect(
            daemon.waitForStderr(containing: "association rejected", after: logBefore, timeout: 10), "\(daemon.output)")
        let afterReload = String(daemon.stderr.dropFirst(logBefore))
        #expect(!afterReload.contains(" info "), "log_level notice still logs info lines:\n\(afterReload)")

        // A broken file on SIGHUP: the old settings stay, the error is logged, READY=1 still.
        try
            "port: \(port)\nae_title: QRSCPD\nallowed_calling_ae_titles: {echo: [GOOD], find: [GOOD], get: [GOOD], move: [GOOD], store: [GOOD]}\nlimits: {max_assoc: 2}\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        mark = notify.count
        kill(daemon.pid, SIGHUP)
        let reloading2 = try #require(notify.wait(for: "RELOADING=1", from: mark, timeout: 10))
        #expect(notify.wait(for: "READY=1", from: reloading2.index + 1, timeout: 10) != nil)
        #expect(Self.associate(port: port, calling: "NEWCOMER") == .accepted, "the broken file's policy was applied")
        #expect(daemon.stderr.contains("limits.max_assoc: unknown setting"), "\(daemon.output)")
        #expect(daemon.stderr.contains(config), "\(daemon.output)")
        #expect(daemon.isRunning)

        // SIGTERM: STOPPING=1, exit 0, statistics logged.
        mark = notify.count
        kill(daemon.pid, SIGTERM)
        #expect(notify.wait(for: "STOPPING=1", from: mark, timeout: 10) != nil, "\(daemon.output)")
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
        #expect(daemon.stderr.contains("notice qrscpd: stopped"), "\(daemon.output)")

        // Plain stderr format: every line timestamped, with a level and the label.
        let pattern =
            #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trace|debug|info|notice|warning|error|critical) qrscpd: .+/#
        let lines = daemon.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(line.wholeMatch(of: pattern) != nil, "not a plain log line: \(line)")
        }
    }

    @Test("SIGTERM lets an open association finish within the grace period, then aborts it")
    func gracefulStopWaitsThenAborts() throws {
        let scratch = try LifecycleScratch()
        let notify = try NotifyReceiver(path: scratch.path + "/notify")
        let port = try freeLoopbackPort()
        let config = scratch.path + "/qrscpd.yaml"
        try "limits:\n  shutdown_grace_period: 2\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try LaunchedDaemon(
            arguments: ["\(port)", "QRSCPD", "--config", config, "--storage-dir", scratch.path + "/storage"],
            environment: ["NOTIFY_SOCKET": notify.path],
            scratch: scratch
        )
        defer { daemon.kill() }
        _ = try #require(notify.wait(for: "READY=1", timeout: 20), "\(daemon.output)")

        // One association that is released during the grace period: the daemon waits for it.
        let first = try RawDICOMSocket(port: port, timeout: 5)
        #expect(first.send(HandMadePDUs.associateRequest(called: "QRSCPD", calling: "SLOW")))
        #expect(first.receivePDU()?.type == 0x02)
        kill(daemon.pid, SIGTERM)
        #expect(notify.wait(for: "STOPPING=1", timeout: 10) != nil)
        #expect(daemon.isRunning, "stopped without waiting for the open association")
        #expect((try? RawDICOMSocket(port: port, timeout: 1)) == nil, "still accepting while stopping")
        #expect(first.send(HandMadePDUs.releaseRequest))
        #expect(first.receivePDU()?.type == 0x06, "no A-RELEASE-RP while draining")
        first.close()
        #expect(daemon.waitForExit(timeout: 5) == 0, "\(daemon.output)")
        #expect(!daemon.stderr.contains("grace period over"), "\(daemon.output)")
    }

    @Test("An association still open when the grace period ends is aborted; exit 0")
    func gracePeriodEndsWithAbort() throws {
        let scratch = try LifecycleScratch()
        let port = try freeLoopbackPort()
        let daemon = try LaunchedDaemon(
            arguments: ["\(port)", "QRSCPD", "--storage-dir", scratch.path + "/storage"],
            environment: ["QRSCPD_SHUTDOWN_GRACE": "1"],
            scratch: scratch
        )
        defer { daemon.kill() }
        try daemon.waitUntilListening(port: port)
        let open = try RawDICOMSocket(port: port, timeout: 5)
        #expect(open.send(HandMadePDUs.associateRequest(called: "QRSCPD")))
        #expect(open.receivePDU()?.type == 0x02)
        let start = Date()
        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 10) == 0, "\(daemon.output)")
        let took = Date().timeIntervalSince(start)
        #expect(took >= 0.9 && took < 5, "stopped after \(took) s with a 1 s grace period")
        #expect(daemon.stderr.contains("grace period over: aborting open associations"), "\(daemon.output)")
        #expect(open.receivePDU()?.type == 0x07, "expected an A-ABORT")
    }

    @Test("Socket activation: the daemon serves the socket systemd-socket-activate passes")
    func socketActivation() throws {
        let activate = "/usr/bin/systemd-socket-activate"
        guard ExternalTool.require(activate) else { return }
        let scratch = try LifecycleScratch()
        let notify = try NotifyReceiver(path: scratch.path + "/notify")
        let port = try freeLoopbackPort()
        // The port argument (1) is not bound: the passed socket is served instead.
        let daemon = try LaunchedDaemon(
            executable: activate,
            arguments: [
                "-l", "127.0.0.1:\(port)", "-E", "NOTIFY_SOCKET=\(notify.path)", PackagePaths.daemonBinary,
                "1", "QRSCPD", "--storage-dir", scratch.path + "/storage",
            ],
            environment: [:],
            scratch: scratch
        )
        defer { daemon.kill() }
        // systemd-socket-activate binds first and execs qrscpd on the first connection.
        let connected = daemon.firstConnection { try RawDICOMSocket(port: port, timeout: 10) }
        let socket = try #require(connected, "systemd-socket-activate did not listen\n\(daemon.output)")
        #expect(socket.send(HandMadePDUs.associateRequest(called: "QRSCPD")))
        #expect(socket.receivePDU()?.type == 0x02, "\(daemon.output)")
        socket.close()
        #expect(notify.wait(for: "READY=1", timeout: 10) != nil, "\(daemon.output)")
        #expect(daemon.stdout.contains("socket fd 3 from systemd"), "\(daemon.output)")
        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
    }

    @Test("With JOURNAL_STREAM naming stderr, records go to journald (or <N>-prefixed lines without its socket)")
    func journalLogging() throws {
        let scratch = try LifecycleScratch()
        let port = try freeLoopbackPort()
        let daemon = try LaunchedDaemon(
            arguments: ["\(port)", "QRSCPD", "--storage-dir", scratch.path + "/storage"],
            environment: [:], scratch: scratch, stderrIsJournal: true
        )
        defer { daemon.kill() }
        try daemon.waitUntilListening(port: port)
        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
        if access("/run/systemd/journal/socket", F_OK) == 0 {
            #expect(!daemon.stderr.contains(" info qrscpd: "), "\(daemon.output)")
        } else {
            // JournaldLogHandler's fallback: "<priority>message", no timestamp (journald adds it).
            let lines = daemon.stderr.split(separator: "\n")
            // The start-up summary: one record, not the table line by line.
            #expect(
                lines.filter { $0.hasPrefix("<6>qrscpd ") && $0.contains(" listening on ") }.count == 1,
                "\(daemon.output)")
            #expect(lines.contains { $0.hasPrefix("<5>stopped") }, "\(daemon.output)")
            #expect(lines.allSatisfy { $0.wholeMatch(of: #/<[0-7]>.*/#) != nil }, "\(daemon.output)")
        }
    }

    @Test("Start-up scan: files in --storage-dir are indexed into --index-db before READY=1; --scan-only")
    func startupScanAndScanOnly() throws {
        let scratch = try LifecycleScratch()
        let storage = scratch.path + "/storage"
        try FileManager.default.createDirectory(atPath: storage + "/study", withIntermediateDirectories: true)
        for i in 1...3 { try Self.writeInstance(to: storage + "/study/\(i).dcm", number: i) }
        try Data("not DICOM".utf8).write(to: URL(fileURLWithPath: storage + "/junk.txt"))
        let index = scratch.path + "/db/index.sqlite"

        let scan = try LaunchedDaemon.runToExit(
            arguments: ["1", "QRSCPD", "--storage-dir", storage, "--index-db", index, "--scan-only"],
            environment: [:], scratch: scratch
        )
        #expect(scan.status == 0, "\(scan.stderr)")
        #expect(scan.stdout.contains("instances   3"), "\(scan.stdout)")
        #expect(scan.stdout.contains("skipped     1"), "\(scan.stdout)")
        #expect(FileManager.default.fileExists(atPath: index))

        let notify = try NotifyReceiver(path: scratch.path + "/notify")
        let port = try freeLoopbackPort()
        let daemon = try LaunchedDaemon(
            arguments: ["\(port)", "QRSCPD", "--storage-dir", storage, "--index-db", index],
            environment: ["NOTIFY_SOCKET": notify.path], scratch: scratch
        )
        defer { daemon.kill() }
        let ready = try #require(notify.wait(for: "READY=1", timeout: 20), "\(daemon.output)")
        #expect(ready.message.contains("3 instances indexed"), "\(ready.message)")
        #expect(daemon.stderr.contains("storage scan finished"), "\(daemon.output)")
        #expect(daemon.stderr.contains("unchanged=3"), "second scan is incremental\n\(daemon.output)")
        kill(daemon.pid, SIGINT)
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
    }

    static func writeInstance(to path: String, number: Int) throws {
        var ds = DataSet()
        ds.set(.sopClassUID, vr: .UI, string: "1.2.840.10008.5.1.4.1.1.7")
        ds.set(.sopInstanceUID, vr: .UI, string: "1.2.826.0.1.3680043.10.999.1.\(number)")
        ds.set(.studyInstanceUID, vr: .UI, string: "1.2.826.0.1.3680043.10.999.2")
        ds.set(.seriesInstanceUID, vr: .UI, string: "1.2.826.0.1.3680043.10.999.3")
        ds.set(.patientID, vr: .LO, string: "LIFECYCLE")
        ds.set(.modality, vr: .CS, string: "OT")
        let bytes = try DICOMFile.encode(dataSet: ds, transferSyntax: .explicitVRLittleEndian)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    // MARK: Start-up errors

    static let invalidCommandLines: [[String]] = [
        ["0", "QRSCPD"],
        ["104", "THIS_AE_TITLE_IS_TOO_LONG"],
        ["104", "QRSCPD", "--max-assoc", "0"],
        ["104", "QRSCPD", "--max-pdu", "100"],
        ["104", "QRSCPD", "--log-level", "loud"],
        ["104", "QRSCPD", "--peer", "DEST:host"],
        ["104", "QRSCPD", "--peer", "DEST:host:0"],
        ["104", "QRSCPD", "--no-such-option"],
        ["104", "QRSCPD", "extra"],
        ["port"],
        [],
    ]

    @Test("Invalid command lines: exit 1, one error line and the usage", arguments: invalidCommandLines)
    func invalidCommandLine(arguments: [String]) throws {
        let scratch = try LifecycleScratch()
        // An empty config file, so that a missing port is not filled in from /etc/qrscpd.
        try "".write(toFile: scratch.path + "/empty.yaml", atomically: true, encoding: .utf8)
        let result = try LaunchedDaemon.runToExit(
            arguments: arguments, environment: ["QRSCPD_CONFIG": scratch.path + "/empty.yaml"], scratch: scratch)
        #expect(result.status == 1, "\(arguments): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.first?.hasPrefix("qrscpd: ") == true, "\(result.stderr)")
        #expect(lines.count >= 2 && lines[1].hasPrefix("Usage: qrscpd "), "no usage after the error:\n\(result.stderr)")
        #expect(
            lines.dropFirst(2).allSatisfy { !$0.hasPrefix("qrscpd: ") }, "more than one error line:\n\(result.stderr)")
    }

    static let badConfigFiles: [(String, String)] = [
        ("limits:\n  max_assoc: 3\n", "limits.max_assoc"),
        ("limits:\n  max_associations: 0\n", "limits.max_associations"),
        ("peers:\n  DEST: {host: h, port: 99999}\n", "peers.DEST.port"),
        ("allowed_calling_ae_titles:\n  query: [A]\n", "allowed_calling_ae_titles.query"),
        ("log_level: loud\n", "log_level"),
        ("storage:\n  duplicates: sometimes\n", "storage.duplicates"),
    ]

    @Test("Config file errors: exit 1 naming the key and the file", arguments: 0..<badConfigFiles.count)
    func configFileError(index: Int) throws {
        let (text, key) = Self.badConfigFiles[index]
        let scratch = try LifecycleScratch()
        let config = scratch.path + "/bad.yaml"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try LaunchedDaemon.runToExit(
            arguments: ["11112", "QRSCPD", "--config", config], environment: [:], scratch: scratch)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("qrscpd: \(config):"), "\(result.stderr)")
        #expect(result.stderr.contains(" \(key): "), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test("Missing config file and bad environment variables: exit 1 naming them")
    func missingConfigAndBadEnvironment() throws {
        let scratch = try LifecycleScratch()
        let missing = scratch.path + "/missing.yaml"
        let noFile = try LaunchedDaemon.runToExit(
            arguments: ["11112", "QRSCPD", "--config", missing], environment: [:], scratch: scratch)
        #expect(noFile.status == 1)
        #expect(noFile.stderr.contains(missing), "\(noFile.stderr)")
        try "".write(toFile: scratch.path + "/empty.yaml", atomically: true, encoding: .utf8)
        let badEnv = try LaunchedDaemon.runToExit(
            arguments: ["11112", "QRSCPD"],
            environment: ["QRSCPD_MAX_ASSOCIATIONS": "lots", "QRSCPD_CONFIG": scratch.path + "/empty.yaml"],
            scratch: scratch)
        #expect(badEnv.status == 1)
        #expect(badEnv.stderr.contains("QRSCPD_MAX_ASSOCIATIONS"), "\(badEnv.stderr)")
    }

    // MARK: Helpers

    enum AssociateOutcome: Equatable {
        case accepted
        case rejected(result: UInt8, source: UInt8, reason: UInt8)
        case other(String)
    }

    /// One hand-made association: A-ASSOCIATE-RQ, then release when accepted.
    static func associate(port: Int, calling: String) -> AssociateOutcome {
        guard let socket = try? RawDICOMSocket(port: port, timeout: 5) else { return .other("connect failed") }
        defer { socket.close() }
        guard socket.send(HandMadePDUs.associateRequest(called: "QRSCPD", calling: calling)),
            let pdu = socket.receivePDU()
        else { return .other("no answer") }
        switch pdu.type {
        case 0x02:
            _ = socket.send(HandMadePDUs.releaseRequest)
            _ = socket.receivePDU()
            return .accepted
        case 0x03 where pdu.body.count >= 4:
            return .rejected(result: pdu.body[1], source: pdu.body[2], reason: pdu.body[3])
        default:
            return .other("PDU type \(pdu.type)")
        }
    }

    static func config(port: Int, allowed: [String], logLevel: String) -> String {
        let list = "[" + allowed.joined(separator: ", ") + "]"
        return """
            port: \(port)
            ae_title: QRSCPD
            log_level: \(logLevel)
            allowed_calling_ae_titles:
              echo: \(list)
              find: \(list)
              get: \(list)
              move: \(list)
              store: \(list)

            """
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}

/// A short scratch directory under /tmp (AF_UNIX paths must stay under 108 bytes).
final class LifecycleScratch {
    let path: String

    init() throws {
        var template = Array("/tmp/qrlc-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw DaemonError("mkdtemp: errno \(errno)") }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Plays systemd's side of sd_notify(3): a datagram socket collecting every notification.
final class NotifyReceiver: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var received: [String] = []
    private var closed = false
    private var thread: Thread?
    private let receiverExited = DispatchSemaphore(value: 0)

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DaemonError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw DaemonError("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw DaemonError("bind \(path): errno \(errno)") }
        var tv = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in receiveLoop() }
        self.thread = thread
        thread.start()
    }

    deinit {
        lock.withLock { closed = true }
        // The receive loop wakes at least every SO_RCVTIMEO (50 ms) and sees `closed`.
        _ = receiverExited.wait(timeout: .now() + 5)
        close(fd)
        unlink(path)
    }

    private func receiveLoop() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !lock.withLock({ closed }) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { continue }
            let message = String(decoding: buffer[0..<n], as: UTF8.self)
            lock.withLock { received.append(message) }
        }
        receiverExited.signal()
    }

    var count: Int { lock.withLock { received.count } }

    func messages(from index: Int = 0) -> [String] {
        lock.withLock { Array(received.dropFirst(index)) }
    }

    /// The first datagram at or after `index` with a line equal to `line`.
    func wait(for line: String, from index: Int = 0, timeout: TimeInterval) -> (index: Int, message: String)? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            let all = lock.withLock { received }
            if index < all.count {
                for i in index..<all.count where all[i].split(separator: "\n").contains(Substring(line)) {
                    return (i, all[i])
                }
            }
            Thread.sleep(forTimeInterval: 0.01)
        } while Date() < deadline
        return nil
    }
}

/// qrscpd (or a wrapper) started with a clean environment plus `environment`, stdout and
/// stderr captured to separate files.
final class LaunchedDaemon {
    private let process = Process()
    private let stdoutURL: URL
    private let stderrURL: URL
    /// Held so that the scratch directory outlives the process: deinit kills the process first.
    private let scratch: LifecycleScratch

    /// - Parameter stderrIsJournal: set JOURNAL_STREAM to stderr's device and inode, as
    ///   systemd does when stderr is the journal.
    init(
        executable: String = PackagePaths.daemonBinary, arguments: [String], environment: [String: String],
        scratch: LifecycleScratch, stderrIsJournal: Bool = false
    ) throws {
        guard FileManager.default.isExecutableFile(atPath: PackagePaths.daemonBinary) else {
            throw DaemonError("qrscpd binary not found at \(PackagePaths.daemonBinary); build it first (swift build)")
        }
        self.scratch = scratch
        let id = UUID().uuidString.prefix(8)
        stdoutURL = URL(fileURLWithPath: scratch.path + "/stdout-\(id)")
        stderrURL = URL(fileURLWithPath: scratch.path + "/stderr-\(id)")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            !key.hasPrefix("QRSCPD_") && !key.hasPrefix("LISTEN_") && !key.hasPrefix("WATCHDOG_")
                && key != "NOTIFY_SOCKET" && key != "JOURNAL_STREAM"
        }
        env.merge(environment) { _, new in new }
        if stderrIsJournal {
            var info = stat()
            guard stat(stderrURL.path, &info) == 0 else { throw DaemonError("stat: errno \(errno)") }
            env["JOURNAL_STREAM"] = "\(info.st_dev):\(info.st_ino)"
        }
        process.environment = env
        try process.run()
    }

    /// Runs to completion (bounded) and returns the exit status and output.
    static func runToExit(arguments: [String], environment: [String: String], scratch: LifecycleScratch) throws -> (
        status: Int32?, stdout: String, stderr: String
    ) {
        let daemon = try LaunchedDaemon(arguments: arguments, environment: environment, scratch: scratch)
        let status = daemon.waitForExit(timeout: 20)
        if status == nil { daemon.kill() }
        return (status, daemon.stdout, daemon.stderr)
    }

    deinit { kill() }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    var output: String { "--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }

    func waitUntilListening(port: Int, timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else { throw DaemonError("qrscpd exited:\n\(output)") }
            if let socket = try? RawDICOMSocket(port: port, timeout: 1) {
                socket.close()
                return
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw DaemonError("qrscpd did not listen on \(port):\n\(output)")
    }

    /// Whether stderr, past its first `offset` characters, comes to contain `text` within `timeout`.
    func waitForStderr(containing text: String, after offset: Int, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if stderr.dropFirst(offset).contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        return false
    }

    /// The exit status, or nil when still running after `timeout` (or killed by a signal).
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        guard !process.isRunning else { return nil }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : nil
    }

    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

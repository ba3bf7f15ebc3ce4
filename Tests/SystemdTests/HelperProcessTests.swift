// SPDX-License-Identifier: Apache-2.0
// End-to-end tests in a child process: the test bundle re-executes itself with
// QRSCPD_SYSTEMD_TEST_HELPER=<mode>, and `HelperProcess.run` does the child's part.
//  - journal: inside a private mount namespace (unshare -m) with a tmpfs on /run, bind
//    /run/systemd/journal/socket, log through JournaldLogHandler, save the datagrams.
//  - listen: report what SocketActivation finds on fds 3... after LISTEN_PID=$$ exec.
//  - stderr: report JournaldLogHandler.isStderrConnectedToJournal().
import CSystemShims
import Foundation
import Logging
import Testing

@testable import Systemd

#if canImport(Glibc)
    import Glibc
#endif

/// The child's side. Skipped in a normal run.
@Suite struct HelperProcess {
    @Test(.enabled(if: getenv(helperModeVariable) != nil)) func run() throws {
        let mode = String(cString: getenv(helperModeVariable)!)
        let output = String(cString: getenv(helperOutputVariable)!)
        var report = Data()
        switch mode {
        case "journal":
            let receiver = try DatagramReceiver(address: "/run/systemd/journal/socket")
            var logger = Logger(label: "qrscpd.association") { JournaldLogHandler(label: $0, logLevel: .debug) }
            logger[metadataKey: "association_id"] = "7"
            logger.warning(
                "association rejected\ncalled AE title not recognised",
                metadata: ["calling_ae": "MODALITY1", "called_ae": "WRONG", "peer_address": "127.0.0.1:50312"]
            )
            logger.debug("released", metadata: ["status": "0"])
            for _ in 0..<2 {
                guard let datagram = receiver.receive(timeoutMilliseconds: 5_000) else { break }
                var length = UInt32(datagram.count).littleEndian
                withUnsafeBytes(of: &length) { report.append(contentsOf: $0) }
                report.append(contentsOf: datagram)
            }
        case "journal-fallback":
            // No journald socket in this namespace: the record must reach stderr instead.
            var fds: [Int32] = [0, 0]
            try #require(pipe(&fds) == 0)
            let savedStderr = dup(2)
            dup2(fds[1], 2)
            let logger = Logger(label: "qrscpd") { JournaldLogHandler(label: $0) }
            logger.error("index open failed\nretrying", metadata: ["errno": "28"])
            dup2(savedStderr, 2)
            close(savedStderr)
            close(fds[1])
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(fds[0], &buffer, buffer.count)
            close(fds[0])
            report = Data(buffer[0..<max(n, 0)])
        case "listen":
            let sockets = SocketActivation.activatedSockets()
            var lines = sockets.map { socket -> String in
                let cloexec = fcntl(socket.fd, F_GETFD) & FD_CLOEXEC != 0
                return "fd=\(socket.fd) name=\(socket.name ?? "-") port=\(qrs_local_port(socket.fd)) cloexec=\(cloexec)"
            }
            let names: [String] = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]
            let cleared = names.allSatisfy { getenv($0) == nil }
            lines.append("environment-cleared=\(cleared)")
            report = Data(lines.joined(separator: "\n").utf8)
        case "stderr":
            report = Data("\(JournaldLogHandler.isStderrConnectedToJournal())".utf8)
        default:
            Issue.record("unknown helper mode \(mode)")
        }
        try report.write(to: URL(fileURLWithPath: output))
    }
}

/// Decodes journal native-protocol fields: `KEY=value\n`, or `KEY\n<le64 length><value>\n`.
func decodeJournalDatagram(_ bytes: [UInt8]) throws -> [(String, String)] {
    var fields: [(String, String)] = []
    var index = 0
    while index < bytes.count {
        guard let end = bytes[index...].firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\n") })
        else {
            throw TestFailure("unterminated field at \(index)")
        }
        let name = String(decoding: bytes[index..<end], as: UTF8.self)
        if bytes[end] == UInt8(ascii: "=") {
            guard let newline = bytes[end...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw TestFailure("no newline")
            }
            fields.append((name, String(decoding: bytes[(end + 1)..<newline], as: UTF8.self)))
            index = newline + 1
        } else {
            guard end + 9 <= bytes.count else { throw TestFailure("short binary length") }
            var length: UInt64 = 0
            for (shift, byte) in bytes[(end + 1)..<(end + 9)].enumerated() {
                length |= UInt64(byte) << (8 * UInt64(shift))
            }
            let start = end + 9
            let stop = start + Int(length)
            guard stop < bytes.count, bytes[stop] == UInt8(ascii: "\n") else {
                throw TestFailure("bad binary field \(name)")
            }
            fields.append((name, String(decoding: bytes[start..<stop], as: UTF8.self)))
            index = stop + 1
        }
    }
    return fields
}

@Suite struct EndToEndTests {
    private func runHelper(
        _ mode: String,
        wrapper: [String] = [],
        environment: [String: String] = [:],
        descriptors: [Int32: Int32] = [:]
    ) throws -> Data {
        let dir = try makeTemporaryDirectory()
        defer { removeTree(dir) }
        let output = dir + "/report"
        var env = environment
        env[helperModeVariable] = mode
        env[helperOutputVariable] = output
        let result = try runChild(
            wrapper + helperArguments("run"),
            environment: env,
            removing: ["NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "JOURNAL_STREAM"],
            descriptors: descriptors
        )
        guard result.status == 0, let data = FileManager.default.contents(atPath: output) else {
            throw TestFailure("helper \(mode) exited \(result.status):\n\(result.output.suffix(4_000))")
        }
        return data
    }

    /// Whether this sandbox lets us make a private mount namespace with a tmpfs on /run.
    static let canUnshareMounts: Bool = {
        guard getuid() == 0, let unshare = which("unshare"), let sh = which("sh") else { return false }
        let probe = try? runChild([
            unshare, "--mount", "--propagation", "private", sh, "-c", "mount -t tmpfs tmpfs /run",
        ])
        return probe?.status == 0
    }()

    /// CI runs as root where private mount namespaces work: there a missing capability is a
    /// failure of the test (it runs and fails), not a silent skip.
    static let runJournalTests: Bool = canUnshareMounts || ProcessInfo.processInfo.environment["CI"] == "true"

    @Test(.enabled(if: runJournalTests, "needs root and unshare --mount"))
    func journaldReceivesStructuredEntries() throws {
        let script = "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && exec \"$@\""
        let data = try runHelper(
            "journal",
            wrapper: [which("unshare")!, "--mount", "--propagation", "private", which("sh")!, "-c", script, "sh"]
        )
        var datagrams: [[UInt8]] = []
        var bytes = [UInt8](data)[...]
        while bytes.count >= 4 {
            let length = bytes.prefix(4).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            bytes = bytes.dropFirst(4)
            datagrams.append(Array(bytes.prefix(length)))
            bytes = bytes.dropFirst(length)
        }
        try #require(datagrams.count == 2, "one datagram per log call")

        // A newline in the message is escaped: MESSAGE is one line, in the plain framing.
        let raw = datagrams[0]
        #expect(raw.starts(with: Array(#"MESSAGE=association rejected\ncalled AE"#.utf8)))

        let first = try decodeJournalDatagram(datagrams[0])
        for name in ["MESSAGE", "PRIORITY", "CODE_FILE", "CODE_LINE", "CODE_FUNC"] {
            #expect(first.filter { $0.0 == name }.count == 1, "\(name) once")
        }
        let byName = Dictionary(first, uniquingKeysWith: { a, _ in a })
        #expect(byName["MESSAGE"] == #"association rejected\ncalled AE title not recognised"#)
        #expect(byName["PRIORITY"] == "4")
        #expect(byName["SYSLOG_IDENTIFIER"] == "qrscpd")
        #expect(byName["LOGGER"] == "qrscpd.association")
        #expect(byName["CODE_FILE"]?.hasSuffix("HelperProcessTests.swift") == true)
        #expect(byName["CODE_LINE"].flatMap { Int($0) } != nil)
        #expect(byName["CODE_FUNC"] == "run()")
        #expect(byName["ASSOCIATION_ID"] == "7")
        #expect(byName["CALLING_AE"] == "MODALITY1")
        #expect(byName["CALLED_AE"] == "WRONG")
        #expect(byName["PEER_ADDRESS"] == "127.0.0.1:50312")

        let second = Dictionary(try decodeJournalDatagram(datagrams[1]), uniquingKeysWith: { a, _ in a })
        #expect(second["MESSAGE"] == "released")
        #expect(second["PRIORITY"] == "7")
        #expect(second["STATUS"] == "0")
        #expect(second["ASSOCIATION_ID"] == "7")
    }

    @Test(.enabled(if: runJournalTests, "needs root and unshare --mount"))
    func withoutJournaldRecordsFallBackToStderr() throws {
        let script = "mount -t tmpfs tmpfs /run && exec \"$@\""
        let data = try runHelper(
            "journal-fallback",
            wrapper: [which("unshare")!, "--mount", "--propagation", "private", which("sh")!, "-c", script, "sh"]
        )
        #expect(String(decoding: data, as: UTF8.self) == #"<3>index open failed\nretrying"# + "\n")
    }

    @Test func socketActivationHandsOverNamedListeningSockets() throws {
        let listener = qrs_listen_tcp("127.0.0.1", 0, 16)
        try #require(listener >= 0)
        defer { close(listener) }
        let port = qrs_local_port(listener)
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { for fd in fds { close(fd) } }

        // LISTEN_PID must be the helper's own pid: a shell exports $$ and execs it.
        let script = "LISTEN_PID=$$; export LISTEN_PID; exec \"$@\""
        let data = try runHelper(
            "listen",
            wrapper: [which("sh")!, "-c", script, "sh"],
            environment: ["LISTEN_FDS": "2", "LISTEN_FDNAMES": "dicom:notasocket"],
            descriptors: [3: listener, 4: fds[0]]
        )
        let report = String(decoding: data, as: UTF8.self)
        #expect(report == "fd=3 name=dicom port=\(port) cloexec=true\nenvironment-cleared=true")
    }

    @Test func stderrDetectionInAChild() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { for fd in fds { close(fd) } }
        var info = stat()
        try #require(fstat(fds[1], &info) == 0)
        let matching = "\(info.st_dev):\(info.st_ino)"

        let yes = try runHelper("stderr", environment: ["JOURNAL_STREAM": matching], descriptors: [2: fds[1]])
        #expect(String(decoding: yes, as: UTF8.self) == "true")
        let no = try runHelper(
            "stderr", environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino + 1)"], descriptors: [2: fds[1]])
        #expect(String(decoding: no, as: UTF8.self) == "false")
        let unset = try runHelper("stderr", descriptors: [2: fds[1]])
        #expect(String(decoding: unset, as: UTF8.self) == "false")
    }
}

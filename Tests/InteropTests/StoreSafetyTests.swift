// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A hostile or sloppy peer against the real daemon (issue 17): C-STORE UID checks under both
/// `storage.uid_policy` values, log lines a peer cannot forge (stderr and journald), and an
/// index file that holds every row after a clean stop.
@Suite(
    "C-STORE UID checks, unforgeable logs, index durability", .serialized,
    .enabled(if: ExternalTool.interopEnabled), .timeLimit(.minutes(5)))
struct StoreSafetyTests {
    static let root = "1.2.826.0.1.3680043.10.1489.93"
    /// A made-up record a peer hides after a newline in a UID.
    static let forgedLine = "2026-01-01T00:00:00.000Z info qrscpd: FORGED-LINE association accepted"

    struct Object {
        var sop: String
        var study = StoreSafetyTests.root + ".1"
        var series = StoreSafetyTests.root + ".1.1"
    }

    struct Probe {
        var associated: Bool
        var results: [(status: Int?, comment: String?)]
        var transcript: String
    }

    /// One association from store_probe.py (pynetdicom, its own UID and AE checks off) with
    /// one C-STORE per object.
    static func probe(
        _ port: Int, calledAE: String = "QRSCPD", calling: String = "STOREPROBE",
        _ objects: [Object]
    ) throws -> Probe {
        let spec: [String: Any] = [
            "calling": calling,
            "objects": objects.map { ["sop": $0.sop, "study": $0.study, "series": $0.series] },
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let (result, output) = ExternalTool.pythonPeer(
            "store_probe.py", ["127.0.0.1", "\(port)", calledAE, json],
            timeout: 120)
        guard let object = output as? [String: Any], let results = object["results"] as? [[String: Any]] else {
            throw DaemonError("store_probe.py gave no result:\n\(result.transcript)")
        }
        return Probe(
            associated: object["associated"] as? Bool ?? false,
            results: results.map { ($0["status"] as? Int, $0["comment"] as? String) },
            transcript: result.transcript)
    }

    static func storedFiles(_ directory: URL) -> [String] {
        let e = FileManager.default.enumerator(atPath: directory.path)
        var out: [String] = []
        while let p = e?.nextObject() as? String { if p.hasSuffix(".dcm") { out.append(p) } }
        return out
    }

    static func configFile(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-\(UUID().uuidString).yaml")
        try Data(text.utf8).write(to: url)
        return url
    }

    static let longUID = "1." + String(repeating: "2", count: 9_998)

    // MARK: UID checks

    @Test("strict (default): NUL, 10,000 characters, letters, slashes refused with 0117 or A900; valid UIDs stored")
    func strictPolicy() throws {
        let daemon = try DaemonProcess()
        defer { daemon.stop() }
        let valid = Object(sop: Self.root + ".1.1.1")
        let probe = try Self.probe(
            daemon.port,
            [
                valid,
                Object(sop: Self.root + ".1.1.2\u{0}evil"),
                Object(sop: Self.longUID),
                Object(sop: Self.root + ".ABC.3"),
                Object(sop: "1.2/../../etc.4"),
                Object(sop: Self.root + ".1.1.5", study: Self.root + ".Study"),
                Object(sop: Self.root + ".1.1.6", series: Self.root + ".1.01"),
            ])
        try #require(probe.associated && probe.results.count == 7, "\(probe.transcript)\n\(daemon.log.suffix(3000))")
        let r = probe.results
        #expect(r[0].status == 0x0000, "\(probe.transcript)")
        #expect(r[1].status == 0x0117 && r[1].comment?.contains("control character") == true, "\(r[1])")
        #expect(r[2].status == 0x0117 && r[2].comment?.contains("10000 chars, over 64") == true, "\(r[2])")
        #expect(r[3].status == 0x0117 && r[3].comment?.contains("not a digit or dot") == true, "\(r[3])")
        #expect(r[4].status == 0x0117 && r[4].comment?.contains("not a digit or dot") == true, "\(r[4])")
        #expect(r[5].status == 0xA900 && r[5].comment?.contains("Study Instance UID invalid") == true, "\(r[5])")
        #expect(
            r[6].status == 0xA900 && r[6].comment?.contains("Series Instance UID invalid: leading zero") == true,
            "\(r[6])")
        // Only the valid object is on disk and in the index; nothing is left in .incoming.
        #expect(
            Self.storedFiles(daemon.storageDirectory) == ["\(valid.study)/\(valid.series)/\(valid.sop).dcm"],
            "\(Self.storedFiles(daemon.storageDirectory))")
        let incoming =
            (try? FileManager.default.contentsOfDirectory(atPath: daemon.storageDirectory.path + "/.incoming")) ?? []
        #expect(incoming.isEmpty)
        let found = FindRunner.run(
            .dcmtk, port: daemon.port, aeTitle: daemon.aeTitle, model: .studyRoot,
            keys: [
                "\(Key.level)=IMAGE", "\(Key.studyUID)=\(valid.study)",
                "\(Key.seriesUID)=\(valid.series)", Key.sopInstanceUID,
            ])
        #expect(found.matches.compactMap { $0[Key.sopInstanceUID] } == [valid.sop], "\(found)")
    }

    @Test(
        "lenient: letters and leading zeros stored, found by findscu and delivered by getscu; NUL and 10,000 characters still refused"
    )
    func lenientPolicy() throws {
        let config = try Self.configFile("storage:\n  uid_policy: lenient\n")
        defer { try? FileManager.default.removeItem(at: config) }
        let daemon = try DaemonProcess(arguments: ["--config", config.path])
        defer { daemon.stop() }
        let sloppy = Object(sop: Self.root + ".2.A1", study: Self.root + ".Study02", series: Self.root + ".02.1")
        let probe = try Self.probe(
            daemon.port,
            [
                sloppy,
                Object(sop: Self.root + ".2.2\u{0}evil"),
                Object(sop: Self.longUID),
                Object(sop: Self.root + ".2.3", study: Self.root + ".2\u{1B}[2J"),
            ])
        try #require(probe.associated && probe.results.count == 4, "\(probe.transcript)\n\(daemon.log.suffix(3000))")
        #expect(probe.results[0].status == 0x0000, "\(probe.transcript)")
        #expect(probe.results[1].status == 0x0117, "\(probe.results[1])")
        #expect(probe.results[2].status == 0x0117, "\(probe.results[2])")
        #expect(probe.results[3].status == 0xA900, "\(probe.results[3])")
        #expect(Self.storedFiles(daemon.storageDirectory).count == 1)

        // The index and the file agree: C-FIND shows exactly the UID the file holds ...
        let found = FindRunner.run(
            .dcmtk, port: daemon.port, aeTitle: daemon.aeTitle, model: .studyRoot,
            keys: [
                "\(Key.level)=IMAGE", "\(Key.studyUID)=\(sloppy.study)", "\(Key.seriesUID)=\(sloppy.series)",
                Key.sopInstanceUID,
            ])
        #expect(found.matches.compactMap { $0[Key.sopInstanceUID] } == [sloppy.sop], "\(found)")
        // ... and C-GET delivers it.
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("uidget-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let get = ExternalTool.run(
            "/usr/bin/getscu",
            [
                "-S", "-aec", daemon.aeTitle, "-od", out.path,
                "-k", "\(Key.level)=STUDY", "-k", "\(Key.studyUID)=\(sloppy.study)",
                "127.0.0.1", "\(daemon.port)",
            ], timeout: 60)
        #expect(get.succeeded, "\(get.transcript)\n\(daemon.log.suffix(3000))")
        let received = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        #expect(received.count == 1 && received.first?.contains(sloppy.sop) == true, "\(received)")
    }

    // MARK: Logs

    @Test("stderr: a UID and an AE title carrying a newline, a fake record and ESC stay inside their own line, escaped")
    func forgedLinesInStderr() throws {
        let daemon = try DaemonProcess()
        defer { daemon.stop() }
        let hostileAE = "X\nFORGED\u{1B}[2J"
        let forgedUID = Self.root + ".3.1\n" + Self.forgedLine
        _ = try Self.probe(daemon.port, calling: hostileAE, [])
        let probe = try Self.probe(daemon.port, [Object(sop: forgedUID)])
        #expect(probe.results.first?.status == 0x0117, "\(probe.transcript)")
        // The refusal is logged: wait for its line (bounded) before reading the log.
        let escaped = #"\n"# + Self.forgedLine
        let deadline = Date().addingTimeInterval(10)
        while !daemon.log.contains(escaped) && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let log = daemon.log
        #expect(log.contains("sop_instance_uid=\(Self.root).3.1\(escaped)"), "\(log.suffix(3000))")
        #expect(log.contains(#"calling_ae=X\nFORGED\x1b[2J"#), "\(log.suffix(3000))")
        for line in log.split(separator: "\n", omittingEmptySubsequences: false) {
            #expect(!line.hasPrefix("2026-01-01T00:00:00.000Z"), "forged record on its own line: \(line)")
            #expect(!line.hasPrefix("FORGED"), "forged line: \(line)")
        }
        #expect(!log.utf8.contains { $0 == 0x1B || $0 == 0 || $0 == 0x0D }, "raw control characters in the log")
    }

    /// Root with private mount namespaces: the journald test binds its own socket over
    /// /run/systemd/journal/socket inside one.
    static let canUnshareMounts: Bool = {
        guard getuid() == 0 else { return false }
        return ExternalTool.run(
            "/usr/bin/unshare",
            [
                "--mount", "--propagation", "private", "/bin/sh", "-c",
                "mount -t tmpfs tmpfs /run",
            ], timeout: 10
        ).succeeded
    }()

    @Test(
        "journald: the forged record is neither an entry nor a field; the UID field holds it escaped",
        .enabled(if: canUnshareMounts || InteropPolicy.isCI, "needs root and unshare --mount"))
    func forgedLinesInJournal() throws {
        let scratch = try LifecycleScratch()
        let journal = try NotifyReceiver(path: scratch.path + "/journal.socket")
        let port = try freeLoopbackPort()
        // In a private mount namespace, our datagram socket is journald's socket.
        let script =
            "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal"
            + " && touch /run/systemd/journal/socket && mount --bind \"$0\" /run/systemd/journal/socket && exec \"$@\""
        let daemon = try LaunchedDaemon(
            executable: "/usr/bin/unshare",
            arguments: [
                "--mount", "--propagation", "private", "/bin/sh", "-c", script, journal.path,
                PackagePaths.daemonBinary, "\(port)", "QRSCPD", "--storage-dir", scratch.path + "/storage",
            ],
            environment: [:], scratch: scratch, stderrIsJournal: true
        )
        defer { daemon.kill() }
        try daemon.waitUntilListening(port: port)
        let forgedUID = Self.root + ".4.1\n" + Self.forgedLine
        let probe = try Self.probe(port, calling: "X\nFORGED\u{1B}[2J", [Object(sop: forgedUID)])
        #expect(probe.results.first?.status == 0x0117 || !probe.associated, "\(probe.transcript)")
        let clean = try Self.probe(port, [Object(sop: forgedUID)])
        #expect(clean.results.first?.status == 0x0117, "\(clean.transcript)")
        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
        #expect(journal.wait(for: "MESSAGE=stopped", timeout: 10) != nil, "\(journal.messages())")

        let entries = journal.messages()
        var uidField: String?
        var callingAE: String?
        for entry in entries {
            // Every field is KEY=value on one line: no value needed the binary framing that a
            // newline forces, so the forged text cannot start a line, a field or an entry.
            for line in entry.split(separator: "\n") {
                #expect(line.wholeMatch(of: #/[A-Z][A-Z0-9_]*=.*/#) != nil, "not a field: \(line)")
                #expect(!line.hasPrefix("2026-01-01"), "forged line: \(line)")
            }
            for line in entry.split(separator: "\n") {
                if line.hasPrefix("SOP_INSTANCE_UID=") { uidField = String(line.dropFirst("SOP_INSTANCE_UID=".count)) }
                if line.hasPrefix("CALLING_AE=X") { callingAE = String(line.dropFirst("CALLING_AE=".count)) }
            }
            #expect(!entry.utf8.contains { $0 == 0x1B || $0 == 0 })
        }
        #expect(uidField == "\(Self.root).4.1" + #"\n"# + Self.forgedLine, "\(entries)")
        #expect(callingAE == #"X\nFORGED\x1b[2J"#, "\(entries)")
        #expect(daemon.stderr.isEmpty, "\(daemon.output)")
    }

    // MARK: Index durability

    @Test("after SIGTERM the index file alone, without -wal, holds every row")
    func indexFileAloneAfterStop() throws {
        let scratch = try LifecycleScratch()
        let index = scratch.path + "/db/index.sqlite"
        let daemon = try DaemonProcess(arguments: ["--index-db", index])
        let objects = (1...5).map {
            Object(sop: "\(Self.root).5.1.\($0)", study: Self.root + ".5", series: Self.root + ".5.1")
        }
        let probe = try Self.probe(daemon.port, objects)
        #expect(probe.results.map(\.status) == Array(repeating: 0, count: 5), "\(probe.transcript)")
        #expect(daemon.stop() == 0, "\(daemon.log.suffix(3000))")

        let copy = scratch.path + "/copy"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: index, toPath: copy + "/index.sqlite")
        #expect(!FileManager.default.fileExists(atPath: copy + "/index.sqlite-wal"))
        let count = ExternalTool.run(
            "/usr/bin/env",
            [
                "python3", "-c",
                """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1])
                print(db.execute("SELECT count(*) FROM instance").fetchone()[0])
                """, copy + "/index.sqlite",
            ], timeout: 30)
        #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "5", "\(count.transcript)")
    }
}

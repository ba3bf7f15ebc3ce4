// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The command line as users of the tool qrscpd replaces know it (issue 18), the start-up
/// summary under journald, and `qrscpd backup-index` against a running daemon (issue 17), all
/// through the built binary.
@Suite("Command line, start-up summary and backup-index", .serialized)
struct CommandLineTests {
    /// An empty config file, so that /etc/qrscpd/qrscpd.yaml never fills a setting in.
    private static func emptyConfig(in scratch: LifecycleScratch) throws -> String {
        let path = scratch.path + "/empty.yaml"
        try "".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: Storage directory, defaults, help, version

    @Test("Without a storage directory from any source: 'Error: --storage-dir is required', the usage, status 1")
    func storageDirectoryIsRequired() throws {
        let scratch = try LifecycleScratch()
        let config = try Self.emptyConfig(in: scratch)
        let result = try LaunchedDaemon.runToExit(
            arguments: ["11112", "MY_PACS"], environment: ["QRSCPD_CONFIG": config], scratch: scratch)
        #expect(result.status == 1, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.first == "Error: --storage-dir is required", "\(result.stderr)")
        #expect(
            lines.count >= 2 && lines[1].hasPrefix("Usage: qrscpd ") && lines[1].contains("--storage-dir"),
            "no usage:\n\(result.stderr)")
        #expect(!result.stdout.contains("listening"), "\(result.stdout)")
    }

    @Test("The storage directory may come from QRSCPD_STORAGE_DIR or the config file instead of the flag")
    func storageDirectoryFromEnvironmentOrFile() throws {
        let scratch = try LifecycleScratch()
        let config = scratch.path + "/storage.yaml"
        try "storage:\n  directory: \(scratch.path)/from-file\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let sources: [([String], [String: String], String)] = [
            (
                [],
                ["QRSCPD_CONFIG": try Self.emptyConfig(in: scratch), "QRSCPD_STORAGE_DIR": scratch.path + "/from-env"],
                "from-env"
            ),
            (["--config", config], [:], "from-file"),
        ]
        for (extra, environment, directory) in sources {
            let port = try freeLoopbackPort()
            let daemon = try LaunchedDaemon(
                arguments: ["\(port)", "MY_PACS"] + extra, environment: environment, scratch: scratch)
            defer { daemon.kill() }
            try daemon.waitUntilListening(port: port)
            #expect(daemon.stdout.contains("storage          \(scratch.path)/\(directory)"), "\(daemon.output)")
            kill(daemon.pid, SIGTERM)
            #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
        }
    }

    @Test("Defaults of the original tool: 10 associations, 300 s idle timeout, as the running daemon resolved them")
    func defaultsInTheRunningDaemon() throws {
        let scratch = try LifecycleScratch()
        let port = try freeLoopbackPort()
        let daemon = try LaunchedDaemon(
            arguments: ["\(port)", "MY_PACS", "--storage-dir", scratch.path + "/storage"],
            environment: ["QRSCPD_CONFIG": try Self.emptyConfig(in: scratch)], scratch: scratch
        )
        defer { daemon.kill() }
        try daemon.waitUntilListening(port: port)
        let table = daemon.stdout.split(separator: "\n").map {
            $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
        #expect(table.contains("max associations 10"), "\(daemon.output)")
        #expect(table.contains("idle timeout 300 s"), "\(daemon.output)")
        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
    }

    @Test("--help states the defaults and the required storage directory; names backup-index")
    func helpStatesTheDefaults() throws {
        let scratch = try LifecycleScratch()
        for arguments in [["--help"], ["serve", "--help"], ["11112", "MY_PACS", "--help"]] {
            let result = try LaunchedDaemon.runToExit(arguments: arguments, environment: [:], scratch: scratch)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            let help = result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(
                separator: " ")
            #expect(
                help.contains("--max-assoc <max-assoc> Most associations served at once (default 10)"),
                "\(arguments):\n\(result.stdout)")
            #expect(help.contains("(default 300; 0 = never)"), "\(arguments):\n\(result.stdout)")
            #expect(
                help.contains("--storage-dir <storage-dir>") && help.contains("(required;"),
                "\(arguments):\n\(result.stdout)")
            #expect(help.contains("backup-index"), "\(arguments):\n\(result.stdout)")
        }
    }

    @Test("--version prints QRServerVersion.string, the one definition of the version")
    func versionIsTheOneDefinition() throws {
        // The Debian package helper reads the version from the same line.
        let source = try String(
            contentsOf: PackagePaths.root.appendingPathComponent("Sources/QRServer/QRServerVersion.swift"),
            encoding: .utf8)
        let definitions = source.matches(of: #/public static let string = "([^"]+)"/#)
        try #require(definitions.count == 1, "QRServerVersion.string must be defined exactly once")
        let version = String(definitions[0].output.1)
        let scratch = try LifecycleScratch()
        for arguments in [["--version"], ["11112", "MY_PACS", "--version"]] {
            let result = try LaunchedDaemon.runToExit(arguments: arguments, environment: [:], scratch: scratch)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == version + "\n", "\(arguments): \(result.stdout)")
        }
    }

    // MARK: journald

    /// A private mount namespace with a tmpfs on /run: needs root. CI runs as root, where a
    /// missing capability makes the test fail rather than skip.
    static let canUnshareMounts: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return false }
        let probe = ExternalTool.run(
            "/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", "mount -t tmpfs tmpfs /run"],
            timeout: 20)
        return probe.succeeded
    }()

    @Test(
        "Under journald the start-up summary is ONE entry: a readable MESSAGE and the settings as fields",
        .enabled(if: canUnshareMounts || InteropPolicy.isCI, "needs root and unshare --mount"))
    func journaldStartupSummaryIsOneEntry() throws {
        let scratch = try LifecycleScratch()
        // Our datagram socket plays journald: bound here, bind-mounted over
        // /run/systemd/journal/socket in the daemon's own mount namespace.
        let journal = try NotifyReceiver(path: scratch.path + "/journal")
        let port = try freeLoopbackPort()
        let storage = scratch.path + "/storage"
        let script = """
            mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && touch /run/systemd/journal/socket \
            && mount --bind "$0" /run/systemd/journal/socket && exec "$@"
            """
        let daemon = try LaunchedDaemon(
            executable: "/usr/bin/unshare",
            arguments: [
                "--mount", "--propagation", "private", "/bin/sh", "-c", script, journal.path,
                PackagePaths.daemonBinary, "\(port)", "MY_PACS", "--storage-dir", storage,
            ],
            environment: ["QRSCPD_CONFIG": try Self.emptyConfig(in: scratch)], scratch: scratch, stderrIsJournal: true
        )
        defer { daemon.kill() }
        try daemon.waitUntilListening(port: port)
        let summary = try #require(
            Self.waitForEntry(in: journal, withField: "QRSCPD_AE_TITLE", timeout: 20),
            "no start-up entry\n\(daemon.output)")
        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")

        let entries = journal.messages().map(Self.fields)
        #expect(entries.filter { $0["QRSCPD_AE_TITLE"] != nil }.count == 1, "one start-up entry")
        let fields = Self.fields(summary)
        #expect(fields["PRIORITY"] == "6")
        #expect(fields["SYSLOG_IDENTIFIER"] == "qrscpd")
        #expect(fields["QRSCPD_AE_TITLE"] == "MY_PACS")
        #expect(fields["QRSCPD_PORT"] == "\(port)")
        #expect(fields["QRSCPD_STORAGE_DIR"] == storage)
        #expect(fields["QRSCPD_INDEX_DB"] == "in memory")
        #expect(fields["QRSCPD_MAX_ASSOCIATIONS"] == "10")
        #expect(fields["QRSCPD_TIMEOUT"] == "300")
        #expect(fields["QRSCPD_VERSION"].map { !$0.isEmpty } == true)
        let message = try #require(fields["MESSAGE"])
        #expect(
            message.contains("listening on 0.0.0.0:\(port)") && message.contains("AE title MY_PACS")
                && message.contains("storage \(storage)"), "\(message)")
        // Not the table line by line, and no second "ready" entry.
        #expect(
            !entries.contains { ($0["MESSAGE"] ?? "").hasPrefix("AE title") || ($0["MESSAGE"] ?? "").hasPrefix("  ") },
            "\(entries)")
        #expect(
            entries.filter { ($0["MESSAGE"] ?? "") == "ready" || ($0["MESSAGE"] ?? "").contains("listening on") }.count
                == 1, "\(entries)")
        #expect(
            !daemon.stdout.contains("AE title"),
            "the table went to stdout, which systemd also sends to the journal:\n\(daemon.stdout)")
    }

    /// The first datagram with `field`, polled until `timeout`.
    static func waitForEntry(in journal: NotifyReceiver, withField field: String, timeout: TimeInterval) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let entry = journal.messages().first(where: { fields($0)[field] != nil }) { return entry }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        return nil
    }

    /// The `KEY=value` fields of a native-protocol journal datagram (the binary framing of a
    /// value with a newline is not needed here: none of the summary's values has one).
    static func fields(_ datagram: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in datagram.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<equals])] =
                fields[String(line[..<equals])] ?? String(line[line.index(after: equals)...])
        }
        return fields
    }

    // MARK: backup-index

    @Test(
        "backup-index copies the live index of a running daemon: every scanned and stored instance is in the copy",
        .enabled(if: InteropPolicy.enabled(requiring: "/usr/bin/storescu", "/usr/bin/python3")))
    func backupIndexOfARunningDaemon() throws {
        let scratch = try LifecycleScratch()
        let storage = scratch.path + "/storage"
        try FileManager.default.createDirectory(atPath: storage + "/study", withIntermediateDirectories: true)
        var expected: Set<String> = []
        for i in 1...3 {
            try DaemonLifecycleTests.writeInstance(to: storage + "/study/\(i).dcm", number: i)
            expected.insert("1.2.826.0.1.3680043.10.999.1.\(i)")
        }
        let index = scratch.path + "/db/index.sqlite"
        let notify = try NotifyReceiver(path: scratch.path + "/notify")
        let port = try freeLoopbackPort()
        let daemon = try LaunchedDaemon(
            arguments: ["\(port)", "QRSCPD", "--storage-dir", storage, "--index-db", index],
            environment: ["NOTIFY_SOCKET": notify.path, "QRSCPD_CONFIG": try Self.emptyConfig(in: scratch)],
            scratch: scratch
        )
        defer { daemon.kill() }
        _ = try #require(notify.wait(for: "READY=1", timeout: 20), "\(daemon.output)")

        // Stored over the network while the daemon runs: their rows are in the index's WAL.
        let incoming = scratch.path + "/incoming"
        let files = try StoreInteropTests.makeFiles(
            in: URL(fileURLWithPath: incoming), count: 4, study: "1.2.826.0.1.3680043.10.1489.18.1",
            series: "1.2.826.0.1.3680043.10.1489.18.1.1", instanceBase: "1.2.826.0.1.3680043.10.1489.18.1.1"
        )
        for i in 1...4 { expected.insert("1.2.826.0.1.3680043.10.1489.18.1.1.\(i)") }
        let store = ExternalTool.run(
            "/usr/bin/storescu", ["-aec", "QRSCPD", "-to", "30", "127.0.0.1", "\(port)"] + files, timeout: 120)
        try #require(store.succeeded, "\(store.transcript)")

        let copy = scratch.path + "/backups/index-copy.sqlite"
        try FileManager.default.createDirectory(atPath: scratch.path + "/backups", withIntermediateDirectories: true)
        // The index path comes from the same sources as the daemon's: here QRSCPD_INDEX_DB.
        let backup = try LaunchedDaemon.runToExit(
            arguments: ["backup-index", copy],
            environment: ["QRSCPD_INDEX_DB": index, "QRSCPD_CONFIG": try Self.emptyConfig(in: scratch)],
            scratch: scratch
        )
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(backup.stdout.contains("backed up \(index) to \(copy)"), "\(backup.stdout)")
        #expect(daemon.isRunning, "the daemon stopped during the backup\n\(daemon.output)")
        // One self-contained file: no write-ahead log or partial file beside it.
        let beside = try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/backups")
        #expect(beside == ["index-copy.sqlite"], "\(beside)")

        let rows = ExternalTool.run(
            "/usr/bin/python3",
            [
                "-c",
                """
                import sqlite3, sys
                db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
                print(db.execute("PRAGMA journal_mode").fetchone()[0])
                for (uid,) in db.execute("SELECT sop_uid FROM instance"):
                    print(uid)
                """, copy,
            ])
        try #require(rows.succeeded, "\(rows.transcript)")
        let lines = rows.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "delete", "the copy is not in WAL mode: \(lines.first ?? "")")
        #expect(Set(lines.dropFirst()) == expected, "\(rows.stdout)")
        #expect(lines.count - 1 == expected.count)

        // The daemon kept serving: one more store after the backup succeeds.
        let more = try StoreInteropTests.makeFiles(
            in: URL(fileURLWithPath: incoming + "-2"), count: 1, study: "1.2.826.0.1.3680043.10.1489.18.2",
            series: "1.2.826.0.1.3680043.10.1489.18.2.1", instanceBase: "1.2.826.0.1.3680043.10.1489.18.2.1"
        )
        #expect(
            ExternalTool.run(
                "/usr/bin/storescu", ["-aec", "QRSCPD", "-to", "30", "127.0.0.1", "\(port)"] + more, timeout: 120
            ).succeeded)
        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 20) == 0, "\(daemon.output)")
    }

    @Test("backup-index without an index file, or onto the live index itself: a clear error, nothing written")
    func backupIndexErrors() throws {
        let scratch = try LifecycleScratch()
        let config = try Self.emptyConfig(in: scratch)
        let none = try LaunchedDaemon.runToExit(
            arguments: ["backup-index", scratch.path + "/copy"], environment: ["QRSCPD_CONFIG": config],
            scratch: scratch)
        #expect(none.status == 1)
        #expect(none.stderr.contains("no index file to back up"), "\(none.stderr)")
        let missing = try LaunchedDaemon.runToExit(
            arguments: ["backup-index", scratch.path + "/copy", "--index-db", scratch.path + "/absent.sqlite"],
            environment: ["QRSCPD_CONFIG": config], scratch: scratch
        )
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no index at \(scratch.path)/absent.sqlite"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/copy"))
        let live = scratch.path + "/live.sqlite"
        _ = FileManager.default.createFile(atPath: live, contents: Data())
        let itself = try LaunchedDaemon.runToExit(
            arguments: ["backup-index", scratch.path + "/./live.sqlite", "--index-db", live],
            environment: ["QRSCPD_CONFIG": config], scratch: scratch
        )
        #expect(itself.status == 2)
        #expect(itself.stderr.contains("is the live index itself"), "\(itself.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: live)).isEmpty, "the live index was written")
        let usage = try LaunchedDaemon.runToExit(
            arguments: ["backup-index"], environment: ["QRSCPD_CONFIG": config], scratch: scratch)
        #expect(usage.status == 1)
        #expect(usage.stderr.contains("Usage: qrscpd backup-index"), "\(usage.stderr)")
    }
}

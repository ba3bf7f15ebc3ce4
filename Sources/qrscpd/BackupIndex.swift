// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DaemonSettings
import Foundation
import GRDB

/// `qrscpd backup-index FILE`: a consistent copy of the live index, safe while the daemon runs.
struct BackupIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup-index",
        abstract: "Copy the SQLite index to FILE, safely while the daemon runs.",
        discussion: """
            The index is read from --index-db, else QRSCPD_INDEX_DB, else index.database in the \
            config file. The copy is one consistent snapshot taken with SQLite's online backup, \
            including what is still in the index's write-ahead log; the daemon keeps serving and \
            storing meanwhile. FILE is a single self-contained database: it is written beside \
            FILE as FILE.partial, synced and renamed, so FILE is never half written; an existing \
            FILE is replaced.
            """
    )

    @Argument(help: "Where to write the copy.")
    var file: String

    @OptionGroup var sources: SettingsSourceOptions

    func validate() throws {
        if file.isEmpty { throw ValidationError("FILE must not be empty") }
    }

    /// Resolves the index path, copies it and reports on stdout. Returns the exit status:
    /// 1 when no index is configured, 2 when the copy fails.
    func runBackup() -> Int32 {
        var flags = CommandLineSettings()
        flags.indexDatabase = sources.indexDatabase
        let loader = SettingsLoader(flags: flags, explicitConfigPath: sources.configFile)
        let index: String
        do {
            guard let path = try loader.indexDatabase() else {
                StandardErrorWriter.write(
                    "qrscpd: no index file to back up: the index is in memory unless --index-db, "
                        + "QRSCPD_INDEX_DB or index.database in the config file names one\n"
                )
                return 1
            }
            index = path
        } catch {
            StandardErrorWriter.write("qrscpd: \(error)\n")
            return 1
        }
        do {
            let bytes = try IndexBackup.copy(index: index, to: file)
            StandardErrorWriter.write("backed up \(index) to \(file) (\(bytes) bytes)\n", fd: 1)
            return 0
        } catch {
            StandardErrorWriter.write("qrscpd: backing up \(index) to \(file) failed: \(error)\n")
            return 2
        }
    }
}

/// Copies a live index through SQLite's online backup API (GRDB `backup(to:)`): the source is
/// read in one read transaction, so the copy is a consistent snapshot even while another
/// process (the daemon) writes, and in WAL mode the daemon's writers are never blocked.
enum IndexBackup {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Copies the index at `source` to `destination` and returns the copy's size in bytes.
    ///
    /// The copy is written to `destination.partial`, checked (`PRAGMA quick_check`), switched to
    /// a rollback journal (so that it is one file, with no `-wal` beside it), synced, and
    /// renamed over `destination`; a failure removes the partial file and leaves `destination`
    /// as it was.
    static func copy(index source: String, to destination: String) throws -> Int64 {
        guard FileManager.default.fileExists(atPath: source) else { throw Failure("no index at \(source)") }
        let partial = destination + ".partial"
        if let live = realPath(source), live == realPath(destination) || live == realPath(partial) {
            throw Failure("\(destination) is the live index itself")
        }
        var readOnly = Configuration()
        readOnly.readonly = true
        // A WAL reader can meet a short lock while the daemon checkpoints.
        readOnly.busyMode = .timeout(10)
        // Opening an index nobody has open creates its -wal and -shm files; run as root,
        // SQLite gives them to the index file's owner, so the daemon's user keeps its index.
        let live = try DatabaseQueue(path: source, configuration: readOnly)
        defer { try? live.close() }

        try? FileManager.default.removeItem(atPath: partial)
        do {
            let copy = try DatabaseQueue(path: partial)
            try live.backup(to: copy)
            try copy.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                let check = try String.fetchOne(db, sql: "PRAGMA quick_check")
                guard check == "ok" else {
                    throw Failure("the copy fails its integrity check: \(check ?? "no answer")")
                }
            }
            try copy.close()
            try sync(path: partial)
            guard rename(partial, destination) == 0 else {
                throw Failure("cannot rename \(partial) to \(destination): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        // The rename is durable once the directory is synced.
        let directory = (destination as NSString).deletingLastPathComponent
        try sync(path: directory.isEmpty ? "." : directory)
        let attributes = try FileManager.default.attributesOfItem(atPath: destination)
        return (attributes[.size] as? NSNumber)?.int64Value ?? 0
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func sync(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure("cannot open \(path) to sync it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure("fsync \(path): \(String(cString: strerror(errno)))") }
    }
}

// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import GRDB

/// Size and modification time of an indexed file, as recorded when it was indexed.
public struct FileStamp: Sendable, Hashable {
    public var size: Int64
    public var modificationTime: Double
    public init(size: Int64, modificationTime: Double) {
        self.size = size
        self.modificationTime = modificationTime
    }
}

/// The SQLite index (GRDB), one `DatabasePool` in WAL mode: many readers (C-FIND pages,
/// retrieve planning) run while one writer (scanner, C-STORE) indexes.
///
/// - With a path (`--index-db FILE`) the index is persistent and reused across
///   restarts; its schema is created or upgraded by `Schema.migrator`.
/// - Without a path the index is "in memory" like the tool it replaces: a pool over a
///   private database file in a fresh temporary directory (`$TMPDIR`, else /tmp), with
///   `synchronous=OFF`. The directory is deleted by `close()` or when the store is
///   deallocated; one left by a crashed process (`qrscpd-index-<pid>-…` with a dead pid)
///   is deleted when the next temporary index is created. A real `:memory:` database cannot be shared by a pool's reader
///   connections, and a `DatabaseQueue` would serialise readers behind the writer.
///
/// Thread safety: every method may be called from any thread; each call runs in its
/// own transaction (reads see a consistent snapshot; no transaction outlives a call).
public final class SQLiteIndexStore: IndexStore, Sendable {
    /// The database (exposed for tests and tools; services use the methods).
    public let pool: DatabasePool
    /// The database file, or nil for the temporary in-memory-style index.
    public let path: String?
    private let temporaryDirectory: String?

    /// Opens (creating and migrating as needed) the index at `path`, or a temporary
    /// index when `path` is nil.
    public init(path: String? = nil) throws {
        var config = Configuration()
        let temporary = path == nil
        config.prepareDatabase { db in
            try db.execute(sql: temporary ? "PRAGMA synchronous = OFF" : "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA cache_size = -32768")  // 32 MiB per connection
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        config.maximumReaderCount = max(4, ProcessInfo.processInfo.activeProcessorCount * 2)
        // The default QoS class, like the worker pool's (Reactor's WorkerPool.qos): GRDB's own
        // default (.userInitiated) has libdispatch lower the nice value of any worker thread it
        // starts for the index, which needs CAP_SYS_NICE; the systemd unit does not grant it.
        config.qos = .default
        if let path {
            self.path = path
            temporaryDirectory = nil
            pool = try DatabasePool(path: path, configuration: config)
        } else {
            let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
            SQLiteIndexStore.removeStaleTemporaryIndexes(in: base)
            var template = Array("\(base)/qrscpd-index-\(getpid())-XXXXXX".utf8CString)
            let dir: String = try template.withUnsafeMutableBufferPointer { buf in
                guard let p = mkdtemp(buf.baseAddress!) else {
                    throw IndexError.unreadable("cannot create a temporary directory in \(base): errno \(errno)")
                }
                return String(cString: p)
            }
            self.path = nil
            temporaryDirectory = dir
            do {
                pool = try DatabasePool(path: dir + "/index.sqlite", configuration: config)
            } catch {
                try? FileManager.default.removeItem(atPath: dir)
                throw error
            }
        }
        try Schema.migrator.migrate(pool)
    }

    /// Deletes temporary indexes left by processes that died without closing them
    /// (`qrscpd-index-<pid>-*` whose pid no longer exists).
    private static func removeStaleTemporaryIndexes(in base: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { return }
        for name in names where name.hasPrefix("qrscpd-index-") {
            let parts = name.split(separator: "-")
            guard parts.count == 4, let pid = Int32(parts[2]), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: base + "/" + name)
            }
        }
    }

    deinit {
        if let temporaryDirectory {
            try? pool.close()
            try? FileManager.default.removeItem(atPath: temporaryDirectory)
        }
    }

    /// Closes the database (and deletes a temporary index). Further calls fail.
    ///
    /// A file index is checkpointed first (``checkpoint()``), so that after a clean stop the
    /// index file alone holds every row: an administrator who copies `index.sqlite` without
    /// its `-wal` file still copies the whole index.
    public func close() throws {
        if temporaryDirectory == nil { try checkpoint() }
        try pool.close()
        if let temporaryDirectory { try? FileManager.default.removeItem(atPath: temporaryDirectory) }
    }

    /// The migrations applied to the database, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Schema.migrator.appliedIdentifiers(db).sorted() }
    }
}

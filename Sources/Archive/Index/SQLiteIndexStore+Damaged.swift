// SPDX-License-Identifier: Apache-2.0
import GRDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension FileStamp {
    /// The stamp of a file as `fstat`/`stat` reports it, computed as the scanner compares it.
    public init(_ status: stat) {
        self.init(
            size: Int64(status.st_size),
            modificationTime: Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9)
    }
}

/// An indexed instance whose file was found damaged, as `--scan-only` lists it.
public struct DamagedInstance: Sendable, Hashable, CustomStringConvertible {
    public var sopInstanceUID: String
    public var path: String
    public var reason: String

    public var description: String { "\(path): \(reason) (SOP instance \(sopInstanceUID))" }
}

extension SQLiteIndexStore {
    /// Flags the instance's row and stamps it with the file's size and modification time as
    /// found: the scanner then leaves the row (and its flag) alone until the file changes, and
    /// a file put right (changed) is indexed again, which clears the flag.
    public func markDamaged(sopInstanceUID: String, path: String, stamp: FileStamp, reason: String) throws {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE instance SET damaged = ?, size = ?, mtime = ? WHERE sop_uid = ? AND path = ?",
                arguments: [reason, stamp.size, stamp.modificationTime, sopInstanceUID, path])
        }
    }

    /// The instances flagged damaged, by path.
    public func damagedInstances() throws -> [DamagedInstance] {
        try pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT sop_uid, path, damaged FROM instance WHERE damaged IS NOT NULL ORDER BY path"
            )
            .map { DamagedInstance(sopInstanceUID: $0[0], path: $0[1], reason: $0[2]) }
        }
    }
}

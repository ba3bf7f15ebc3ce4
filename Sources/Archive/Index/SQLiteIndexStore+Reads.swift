// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import GRDB

/// Reading the index: single instances, counts and the indexed files.
extension SQLiteIndexStore {
    public func instance(sopInstanceUID: String) throws -> IndexedInstance? {
        try pool.read { db in
            let sql = """
                SELECT i.sop_uid, i.sop_class, i.transfer_syntax, s.study_uid, se.series_uid, i.path, i.size, i.mtime
                FROM instance i JOIN series se ON se.id = i.series_ref JOIN study s ON s.id = i.study_ref
                WHERE i.sop_uid = ?
                """
            guard let row = try Row.fetchOne(db.cachedStatement(sql: sql), arguments: [sopInstanceUID]) else {
                return nil
            }
            return IndexedInstance(
                sopInstanceUID: row[0], sopClassUID: row[1], transferSyntaxUID: row[2],
                studyInstanceUID: row[3], seriesInstanceUID: row[4], path: row[5],
                size: row[6], modificationTime: row[7])
        }
    }

    /// Read on the writer connection: the C-STORE commit that asks writes through that
    /// connection next, and its page cache stays valid across its own commits, while a
    /// reader connection drops its cache after every commit and reads the pages it needs
    /// back from the WAL. No transaction is needed for one snapshot: while this runs, the
    /// writer connection (the only one that writes) is ours.
    public func instances(sopInstanceUIDs: [String]) throws -> [String: IndexedInstance] {
        guard !sopInstanceUIDs.isEmpty else { return [:] }
        return try pool.writeWithoutTransaction { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT i.sop_uid, i.sop_class, i.transfer_syntax, s.study_uid, se.series_uid, i.path, i.size, i.mtime
                    FROM instance i JOIN series se ON se.id = i.series_ref JOIN study s ON s.id = i.study_ref
                    WHERE i.sop_uid = ?
                    """)
            var found: [String: IndexedInstance] = [:]
            for uid in sopInstanceUIDs {
                guard let row = try Row.fetchOne(statement, arguments: [uid]) else { continue }
                found[uid] = IndexedInstance(
                    sopInstanceUID: row[0], sopClassUID: row[1], transferSyntaxUID: row[2],
                    studyInstanceUID: row[3], seriesInstanceUID: row[4], path: row[5],
                    size: row[6], modificationTime: row[7])
            }
            return found
        }
    }

    public func instanceCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM instance")) ?? 0 }
    }

    /// Counts of patients, studies, series and instances.
    public func counts() throws -> (patients: Int, studies: Int, series: Int, instances: Int) {
        let t = try totals()
        return (t.patients, t.studies, t.series, t.instances)
    }

    /// The counts and the bytes of the indexed files, as recorded when each was indexed (the
    /// storage tree is not walked). One pass over the narrow `instance_size` index gives the
    /// instance count and the sum, so a scrape costs what the counts alone did.
    public func totals() throws -> IndexTotals {
        try pool.read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT COUNT(*) FROM patient), (SELECT COUNT(*) FROM study),
                           (SELECT COUNT(*) FROM series), COUNT(*), COALESCE(SUM(size), 0) FROM instance
                    """)!
            return IndexTotals(
                patients: row[0], studies: row[1], series: row[2], instances: row[3], storedBytes: row[4])
        }
    }

    /// Every indexed file under `prefix` ("" = all) with the size and modification
    /// time recorded at indexing (what the incremental scanner compares against).
    public func indexedFiles(under prefix: String = "") throws -> [String: FileStamp] {
        try pool.read { db in
            var out: [String: FileStamp] = [:]
            let cursor = try Row.fetchCursor(db, sql: "SELECT path, size, mtime FROM instance")
            while let row = try cursor.next() {
                let p: String = row[0]
                if prefix.isEmpty || p.hasPrefix(prefix) {
                    out[p] = FileStamp(size: row[1], modificationTime: row[2])
                }
            }
            return out
        }
    }

    /// The instances of a study, series or single instance, for C-GET/C-MOVE planning.
    public func instances(
        studyInstanceUID: String, seriesInstanceUID: String? = nil,
        sopInstanceUID: String? = nil
    ) throws -> [IndexedInstance] {
        try pool.read { db in
            var sql = """
                SELECT i.sop_uid, i.sop_class, i.transfer_syntax, s.study_uid, se.series_uid, i.path, i.size, i.mtime
                FROM instance i JOIN series se ON se.id = i.series_ref JOIN study s ON s.id = i.study_ref
                WHERE s.study_uid = ?
                """
            var args: [String] = [studyInstanceUID]
            if let seriesInstanceUID {
                sql += " AND se.series_uid = ?"
                args.append(seriesInstanceUID)
            }
            if let sopInstanceUID {
                sql += " AND i.sop_uid = ?"
                args.append(sopInstanceUID)
            }
            sql += " ORDER BY i.id"
            return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: StatementArguments(args)).map { row in
                IndexedInstance(
                    sopInstanceUID: row[0], sopClassUID: row[1], transferSyntaxUID: row[2],
                    studyInstanceUID: row[3], seriesInstanceUID: row[4], path: row[5],
                    size: row[6], modificationTime: row[7])
            }
        }
    }
}

/// What the index holds: entities by level and the bytes of the indexed files.
public struct IndexTotals: Sendable, Equatable {
    public var patients: Int
    public var studies: Int
    public var series: Int
    public var instances: Int
    /// Sum of the indexed files' sizes (as recorded at indexing), in bytes.
    public var storedBytes: Int64

    public init(patients: Int, studies: Int, series: Int, instances: Int, storedBytes: Int64) {
        self.patients = patients
        self.studies = studies
        self.series = series
        self.instances = instances
        self.storedBytes = storedBytes
    }
}

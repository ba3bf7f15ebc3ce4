// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import GRDB

/// Writing the index: instances added, replaced and removed, and the parent rows they need.
extension SQLiteIndexStore {
    // MARK: Adding and removing instances

    public func index(_ record: InstanceRecord) throws {
        let prepared = try PreparedRecord(record)
        try pool.write { db in
            var cache = ParentCache()
            _ = try Self.write(prepared, db, rejectDuplicates: false, cache: &cache)
        }
    }

    /// All records in one transaction (one WAL commit for the group). When that
    /// transaction fails, each record is retried in its own so that one bad row fails alone.
    public func index(batch records: [InstanceRecord]) -> [(any Error)?] {
        var errors = [(any Error)?](repeating: nil, count: records.count)
        var prepared: [(Int, PreparedRecord)] = []
        prepared.reserveCapacity(records.count)
        for (i, r) in records.enumerated() {
            do { prepared.append((i, try PreparedRecord(r))) } catch { errors[i] = error }
        }
        guard !prepared.isEmpty else { return errors }
        do {
            try pool.write { db in
                var cache = ParentCache()
                for (_, p) in prepared { _ = try Self.write(p, db, rejectDuplicates: false, cache: &cache) }
            }
        } catch {
            guard prepared.count > 1 else {
                errors[prepared[0].0] = error
                return errors
            }
            for (i, p) in prepared {
                do {
                    try pool.write { db in
                        var cache = ParentCache()
                        _ = try Self.write(p, db, rejectDuplicates: false, cache: &cache)
                    }
                } catch {
                    errors[i] = error
                }
            }
        }
        return errors
    }

    /// Indexes many records in one transaction (the batch API for the scanner, the
    /// benchmark and bulk imports: ~1,000,000 rows go in as 2,000 calls of 500).
    /// Records that cannot be indexed are returned with the reason, the others are
    /// stored.
    @discardableResult
    public func index(_ records: [InstanceRecord]) throws -> [(record: Int, error: IndexError)] {
        var failures: [(Int, IndexError)] = []
        var prepared: [(Int, PreparedRecord)] = []
        prepared.reserveCapacity(records.count)
        for (i, r) in records.enumerated() {
            do { prepared.append((i, try PreparedRecord(r))) } catch { failures.append((i, error)) }
        }
        try pool.write { db in
            var cache = ParentCache()
            for (_, p) in prepared { _ = try Self.write(p, db, rejectDuplicates: false, cache: &cache) }
        }
        return failures
    }

    /// Writes prepared records in one transaction; with `rejectDuplicates`, a record
    /// whose SOP Instance UID is indexed from another file that still exists is not
    /// written and its error returned at its position.
    func write(_ records: [PreparedRecord], rejectDuplicates: Bool) throws -> [IndexError?] {
        try pool.write { db in
            var cache = ParentCache()
            return try records.map { try Self.write($0, db, rejectDuplicates: rejectDuplicates, cache: &cache) }
        }
    }

    public func remove(sopInstanceUID: String) throws {
        try pool.write { db in
            if let id = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM instance WHERE sop_uid = ?"),
                arguments: [sopInstanceUID])
            {
                try Self.removeInstance(id: id, db)
            }
        }
    }

    /// Removes the instances indexed from these paths (files that disappeared).
    /// Returns how many instances were removed.
    @discardableResult
    public func removeInstances(paths: some Sequence<String>) throws -> Int {
        try pool.write { db in
            var n = 0
            let stmt = try db.cachedStatement(sql: "SELECT id FROM instance WHERE path = ?")
            for p in paths {
                for id in try Int64.fetchAll(stmt, arguments: [p]) {
                    try Self.removeInstance(id: id, db)
                    n += 1
                }
            }
            return n
        }
    }

    /// Removes the instances whose path starts with `prefix` (e.g. the storage root plus
    /// "/") and is not in `keep`. Returns how many were removed.
    @discardableResult
    public func removeFiles(notIn keep: Set<String>, under prefix: String = "") throws -> Int {
        let gone = try indexedFiles(under: prefix).keys.filter { !keep.contains($0) }
        return try removeInstances(paths: gone)
    }

    // MARK: Rows

    /// Parent rows written earlier in the same transaction, by Series Instance UID: a
    /// record whose parents equal the cached ones skips their upserts.
    struct ParentCache {
        var bySeries: [String: (record: PreparedRecord, series: Int64, study: Int64)] = [:]
        var byStudy: [String: (record: PreparedRecord, study: Int64, patient: Int64)] = [:]
        var byPatient: [String: (record: PreparedRecord, patient: Int64)] = [:]

        mutating func clear() {
            bySeries.removeAll()
            byStudy.removeAll()
            byPatient.removeAll()
        }
    }

    static func write(
        _ r: PreparedRecord, _ db: Database, rejectDuplicates: Bool,
        cache: inout ParentCache
    ) throws -> IndexError? {
        // The instance as indexed before (same SOP Instance UID), and any other instance
        // previously indexed from this path (the file was replaced).
        var old: (id: Int64, series: Int64)? = nil
        var displaced: [Int64] = []
        for row in try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, series_ref, path, sop_uid FROM instance WHERE sop_uid = ? OR path = ?"),
            arguments: [r.sopInstanceUID, r.path])
        {
            if (row[3] as String) == r.sopInstanceUID {
                let oldPath: String = row[2]
                if rejectDuplicates, oldPath != r.path, FileManager.default.fileExists(atPath: oldPath) {
                    return .duplicateSOPInstance(uid: r.sopInstanceUID, indexedPath: oldPath)
                }
                old = (row[0], row[1])
            } else {
                displaced.append(row[0])
            }
        }
        if !displaced.isEmpty {
            cache.clear()  // removals may prune cached parents
            for id in displaced { try removeInstance(id: id, db) }
        }
        if let cached = cache.bySeries[r.seriesUID], cached.record.sameParents(as: r) {
            try writeInstance(r, series: cached.series, studyRef: cached.study, db)
            if let old, old.series != cached.series {
                cache.clear()
                try prune(series: old.series, db)
            }
            return nil
        }
        let patientRef: Int64
        let studyRef: Int64
        var oldPatient: Int64? = nil
        if let cs = cache.byStudy[r.studyUID], cs.record.sameStudy(as: r) {
            studyRef = cs.study
            patientRef = cs.patient
        } else {
            oldPatient = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT patient_ref FROM study WHERE study_uid = ?"),
                arguments: [r.studyUID])
            if let cp = cache.byPatient[r.patientKey], cp.record.samePatient(as: r) {
                patientRef = cp.patient
            } else {
                patientRef = try upsert(
                    db,
                    sql: """
                        INSERT INTO patient (patient_id, issuer, name, name_norm, birth_date, sex, attrs)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (patient_id, issuer) DO UPDATE SET
                          name = excluded.name, name_norm = excluded.name_norm, birth_date = excluded.birth_date,
                          sex = excluded.sex, attrs = excluded.attrs
                        WHERE patient.name IS NOT excluded.name OR patient.name_norm IS NOT excluded.name_norm
                          OR patient.birth_date IS NOT excluded.birth_date OR patient.sex IS NOT excluded.sex
                          OR patient.attrs IS NOT excluded.attrs
                        RETURNING id
                        """,
                    arguments: [
                        r.patientID, r.issuer, r.patientName, r.patientNameNorm, r.birthDate, r.sex,
                        blob(r.patientAttrs),
                    ],
                    existing: "SELECT id FROM patient WHERE patient_id = ? AND issuer = ?",
                    key: [r.patientID, r.issuer])
            }
            studyRef = try upsert(
                db,
                sql: """
                    INSERT INTO study (patient_ref, study_uid, study_date, study_time, accession, study_id,
                                       ref_phys, ref_phys_norm, description, attrs)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (study_uid) DO UPDATE SET
                      patient_ref = excluded.patient_ref, study_date = excluded.study_date, study_time = excluded.study_time,
                      accession = excluded.accession, study_id = excluded.study_id, ref_phys = excluded.ref_phys,
                      ref_phys_norm = excluded.ref_phys_norm, description = excluded.description, attrs = excluded.attrs
                    WHERE study.patient_ref IS NOT excluded.patient_ref OR study.study_date IS NOT excluded.study_date
                      OR study.study_time IS NOT excluded.study_time OR study.accession IS NOT excluded.accession
                      OR study.study_id IS NOT excluded.study_id OR study.ref_phys IS NOT excluded.ref_phys
                      OR study.ref_phys_norm IS NOT excluded.ref_phys_norm OR study.description IS NOT excluded.description
                      OR study.attrs IS NOT excluded.attrs
                    RETURNING id
                    """,
                arguments: [
                    patientRef, r.studyUID, r.studyDate, r.studyTime, r.accession, r.studyID,
                    r.referringPhysician, r.referringPhysicianNorm, r.studyDescription,
                    blob(r.studyAttrs),
                ],
                existing: "SELECT id FROM study WHERE study_uid = ?", key: [r.studyUID])
            cache.byStudy[r.studyUID] = (r, studyRef, patientRef)
            cache.byPatient[r.patientKey] = (r, patientRef)
        }
        let oldStudy = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT study_ref FROM series WHERE series_uid = ?"),
            arguments: [r.seriesUID])

        let seriesRef = try upsert(
            db,
            sql: """
                INSERT INTO series (study_ref, series_uid, modality, series_number, series_date, series_time, attrs)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (series_uid) DO UPDATE SET
                  study_ref = excluded.study_ref, modality = excluded.modality, series_number = excluded.series_number,
                  series_date = excluded.series_date, series_time = excluded.series_time, attrs = excluded.attrs
                WHERE series.study_ref IS NOT excluded.study_ref OR series.modality IS NOT excluded.modality
                  OR series.series_number IS NOT excluded.series_number OR series.series_date IS NOT excluded.series_date
                  OR series.series_time IS NOT excluded.series_time OR series.attrs IS NOT excluded.attrs
                RETURNING id
                """,
            arguments: [
                studyRef, r.seriesUID, r.modality, r.seriesNumber, r.seriesDate, r.seriesTime,
                blob(r.seriesAttrs),
            ],
            existing: "SELECT id FROM series WHERE series_uid = ?", key: [r.seriesUID])
        try writeInstance(r, series: seriesRef, studyRef: studyRef, db)
        // Parents the instance (or its series/study) moved away from may now be empty.
        let moved =
            (old.map { $0.series != seriesRef } ?? false) || (oldStudy.map { $0 != studyRef } ?? false)
            || (oldPatient.map { $0 != patientRef } ?? false)
        if moved {
            cache.clear()
            if let old, old.series != seriesRef { try prune(series: old.series, db) }
            if let oldStudy, oldStudy != studyRef { try prune(study: oldStudy, db) }
            if let oldPatient, oldPatient != patientRef { try prune(patient: oldPatient, db) }
        }
        cache.bySeries[r.seriesUID] = (r, seriesRef, studyRef)
        return nil
    }

    private static func blob(_ b: [UInt8]) -> Data? { b.isEmpty ? nil : Data(b) }

    /// Runs a parent upsert whose `DO UPDATE` only fires when a column differs, and returns
    /// the row's id. An unchanged parent (the usual case: the next instance of a series)
    /// is then not rewritten: rewriting it dirtied its table page and a page of every index
    /// on the updated columns, each a WAL frame of its own at every commit. `RETURNING`
    /// yields no row when the existing row was left alone; `existing` (a SELECT of the id by
    /// the conflict key `key`) finds it then.
    private static func upsert(
        _ db: Database, sql: String, arguments: StatementArguments, existing: String,
        key: StatementArguments
    ) throws -> Int64 {
        if let id = try Int64.fetchOne(db.cachedStatement(sql: sql), arguments: arguments) { return id }
        guard let id = try Int64.fetchOne(db.cachedStatement(sql: existing), arguments: key) else {
            throw IndexError.unreadable("row vanished during its upsert")
        }
        return id
    }

    private static func writeInstance(_ r: PreparedRecord, series seriesRef: Int64, studyRef: Int64, _ db: Database)
        throws
    {
        try db.cachedStatement(
            sql: """
                INSERT INTO instance (series_ref, study_ref, sop_uid, sop_class, instance_number, path, size, mtime,
                                      transfer_syntax, attrs)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (sop_uid) DO UPDATE SET
                  series_ref = excluded.series_ref, study_ref = excluded.study_ref, sop_class = excluded.sop_class,
                  instance_number = excluded.instance_number, path = excluded.path, size = excluded.size,
                  mtime = excluded.mtime, transfer_syntax = excluded.transfer_syntax, attrs = excluded.attrs,
                  damaged = NULL
                """
        ).execute(arguments: [
            seriesRef, studyRef, r.sopInstanceUID, r.sopClassUID, r.instanceNumber, r.path,
            r.size, r.mtime, r.transferSyntaxUID, blob(r.instanceAttrs),
        ])
    }

    private static func removeInstance(id: Int64, _ db: Database) throws {
        let series = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT series_ref FROM instance WHERE id = ?"),
            arguments: [id])
        try db.cachedStatement(sql: "DELETE FROM instance WHERE id = ?").execute(arguments: [id])
        if let series { try prune(series: series, db) }
    }

    private static func prune(series: Int64, _ db: Database) throws {
        guard
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM instance WHERE series_ref = ?)"),
                arguments: [series]) == false
        else { return }
        let study = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT study_ref FROM series WHERE id = ?"), arguments: [series])
        try db.cachedStatement(sql: "DELETE FROM series WHERE id = ?").execute(arguments: [series])
        if let study { try prune(study: study, db) }
    }

    private static func prune(study: Int64, _ db: Database) throws {
        guard
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM series WHERE study_ref = ?)"),
                arguments: [study]) == false
        else { return }
        let patient = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT patient_ref FROM study WHERE id = ?"), arguments: [study])
        try db.cachedStatement(sql: "DELETE FROM study WHERE id = ?").execute(arguments: [study])
        if let patient { try prune(patient: patient, db) }
    }

    private static func prune(patient: Int64, _ db: Database) throws {
        guard
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM study WHERE patient_ref = ?)"),
                arguments: [patient]) == false
        else { return }
        try db.cachedStatement(sql: "DELETE FROM patient WHERE id = ?").execute(arguments: [patient])
    }
}

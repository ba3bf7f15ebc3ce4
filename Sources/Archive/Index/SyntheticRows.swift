// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import GRDB

/// Shape of a synthetic index for benchmarks (`SQLiteIndexStore.insertSynthetic`).
///
/// Generated values, for query benchmarks to aim at (p = patient, s = study of the
/// patient, r = series of the study, i = instance of the series, all from 0; `n` is the
/// global study number p × studiesPerPatient + s):
/// - Patient ID `SYN` + p as 7 digits (`SYN0000042`); Patient's Name `<SURNAME><p>^<GIVEN>`
///   with SURNAME cycling through `surnames` and GIVEN through `givenNames`
///   (p = 42 → `DOE42^JOHN`); birth date 19500101 + p mod 50 years; sex M/F alternating.
/// - Study Instance UID `2.25.77.<p>.<s>`; Study Date cycling through 3,650 days from
///   2015-01-01 by n; Study Time `HH0000` with HH = 7 + n mod 12; Accession `ACC<n>`;
///   Study ID `<s+1>`; description `SYNTHETIC STUDY <n mod 100>`.
/// - Series Instance UID `<study>.<r>`; Modality cycling CT MR US CR DX by r + n;
///   Series Number r + 1.
/// - SOP Instance UID `<series>.<i>`; SOP Class CT Image Storage; Instance Number i + 1;
///   path `<pathPrefix>/<p>/<s>/<r>/<i>.dcm`, size 1024, mtime 0.
public struct SyntheticShape: Sendable, Hashable {
    public var patients: Int
    public var studiesPerPatient: Int
    public var seriesPerStudy: Int
    public var instancesPerSeries: Int
    public var pathPrefix: String
    /// Number added to the patient index p (to append more synthetic patients later).
    public var firstPatient: Int = 0

    /// The same shape numbering patients from `first`.
    public func offset(by first: Int) -> SyntheticShape {
        var s = self
        s.firstPatient = first
        return s
    }

    public init(
        patients: Int, studiesPerPatient: Int = 1, seriesPerStudy: Int = 1, instancesPerSeries: Int = 1,
        pathPrefix: String = "/synthetic"
    ) {
        self.patients = patients
        self.studiesPerPatient = studiesPerPatient
        self.seriesPerStudy = seriesPerStudy
        self.instancesPerSeries = instancesPerSeries
        self.pathPrefix = pathPrefix
    }

    public static let surnames = [
        "SMITH", "JONES", "DOE", "MÜLLER", "GARCIA", "LEE", "BROWN", "TAYLOR", "NGUYEN", "ROSSI",
    ]
    public static let givenNames = ["JOHN", "MARY", "ANNA", "PETER", "LI", "JÜRGEN", "SOFIA"]
    public static let modalities = ["CT", "MR", "US", "CR", "DX"]
}

extension SQLiteIndexStore {
    /// Inserts synthetic patient/study/series/instance rows directly (no files, no
    /// data sets, plain INSERTs in transactions of ~50,000 instances): the benchmark's
    /// way to build a 1,000,000-instance index in seconds. The UIDs must not collide
    /// with rows already in the index. Returns the number of instances inserted.
    @discardableResult
    public func insertSynthetic(_ shape: SyntheticShape) throws -> Int {
        var inserted = 0
        let perPatient = max(1, shape.studiesPerPatient * shape.seriesPerStudy * shape.instancesPerSeries)
        let patientsPerTransaction = max(1, 50_000 / perPatient)
        var p = 0
        while p < shape.patients {
            let end = min(shape.patients, p + patientsPerTransaction)
            let first = p
            inserted += try pool.write { db in
                var n = 0
                for p in first..<end { n += try Self.insertSyntheticPatient(p + shape.firstPatient, shape, db) }
                return n
            }
            p = end
        }
        return inserted
    }

    private static func insertSyntheticPatient(_ p: Int, _ shape: SyntheticShape, _ db: Database) throws -> Int {
        let name =
            "\(SyntheticShape.surnames[p % SyntheticShape.surnames.count])\(p)^"
            + SyntheticShape.givenNames[p % SyntheticShape.givenNames.count]
        let patientID = "SYN" + String(repeating: "0", count: max(0, 7 - String(p).count)) + String(p)
        let patientRef = try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    INSERT INTO patient (patient_id, issuer, name, name_norm, birth_date, sex) VALUES (?, '', ?, ?, ?, ?)
                    RETURNING id
                    """),
            arguments: [
                patientID, name, TextValues.normalizedPN(name), String(1950 + p % 50) + "0101",
                p % 2 == 0 ? "M" : "F",
            ])!
        let studyStmt = try db.cachedStatement(
            sql: """
                INSERT INTO study (patient_ref, study_uid, study_date, study_time, accession, study_id, description)
                VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id
                """)
        let seriesStmt = try db.cachedStatement(
            sql: """
                INSERT INTO series (study_ref, series_uid, modality, series_number) VALUES (?, ?, ?, ?) RETURNING id
                """)
        let instanceStmt = try db.cachedStatement(
            sql: """
                INSERT INTO instance (series_ref, study_ref, sop_uid, sop_class, instance_number, path, size, mtime, transfer_syntax)
                VALUES (?, ?, ?, '1.2.840.10008.5.1.4.1.1.2', ?, ?, 1024, 0, '1.2.840.10008.1.2.1')
                """)
        let base = DateComponents(
            calendar: Calendar(identifier: .gregorian), timeZone: TimeZone(identifier: "UTC"),
            year: 2015, month: 1, day: 1
        ).date!
        var count = 0
        for s in 0..<shape.studiesPerPatient {
            let n = p * shape.studiesPerPatient + s
            let date = base.addingTimeInterval(Double(n % 3650) * 86400)
            let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
            let da = String(format: "%04d%02d%02d", c.year!, c.month!, c.day!)
            let studyUID = "2.25.77.\(p).\(s)"
            let studyRef = try Int64.fetchOne(
                studyStmt,
                arguments: [
                    patientRef, studyUID, da, String(format: "%02d0000", 7 + n % 12), "ACC\(n)", "\(s + 1)",
                    "SYNTHETIC STUDY \(n % 100)",
                ])!
            for r in 0..<shape.seriesPerStudy {
                let seriesUID = "\(studyUID).\(r)"
                let seriesRef = try Int64.fetchOne(
                    seriesStmt,
                    arguments: [
                        studyRef, seriesUID, SyntheticShape.modalities[(r + n) % SyntheticShape.modalities.count],
                        r + 1,
                    ])!
                for i in 0..<shape.instancesPerSeries {
                    try instanceStmt.execute(arguments: [
                        seriesRef, studyRef, "\(seriesUID).\(i)", i + 1,
                        "\(shape.pathPrefix)/\(p)/\(s)/\(r)/\(i).dcm",
                    ])
                    count += 1
                }
            }
        }
        return count
    }
}

// SPDX-License-Identifier: Apache-2.0
import DICOM
import GRDB
import Testing

@testable import Archive

/// What one commit of the index writes: parents that did not change are left alone (no row
/// update, so no table or index page rewritten), parents that did change are updated.
@Suite struct IndexWriteTests {
    private func record(_ inst: FixtureInstance, path: String) -> InstanceRecord {
        InstanceRecord(
            path: path, size: 100, modificationTime: 1.5,
            transferSyntaxUID: TransferSyntax.explicitVRLittleEndian.uid, header: inst.dataSet())
    }

    /// Rows inserted, updated or deleted by indexing `records` in one call of
    /// `index(batch:)`, and the WAL frames (pages) its commit appended.
    private func cost(of records: [InstanceRecord], in store: SQLiteIndexStore) throws -> (rows: Int, walFrames: Int) {
        // Empty the WAL first, so that the frame count afterwards is this commit's alone.
        try store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        let before = try store.pool.write { $0.totalChangesCount }
        #expect(store.index(batch: records).allSatisfy { $0 == nil })
        let after = try store.pool.write { $0.totalChangesCount }
        let frames = try store.pool.writeWithoutTransaction { db in
            try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)").map { $0[1] as Int } ?? -1
        }
        return (after - before, frames)
    }

    private func study(_ store: SQLiteIndexStore, _ column: String) throws -> String? {
        try store.pool.read { db in
            try String.fetchOne(db, sql: "SELECT \(column) FROM study WHERE study_uid = '1.2.3.1'")
        }
    }

    @Test func anotherInstanceOfAnIndexedSeriesWritesOnlyItsOwnRow() throws {
        let store = try SQLiteIndexStore()
        let first = try cost(of: [record(Fixture.instances[0], path: "/s/1.dcm")], in: store)
        #expect(first.rows == 4)  // patient, study, series, instance inserted
        let second = try cost(of: [record(Fixture.instances[1], path: "/s/2.dcm")], in: store)
        #expect(second.rows == 1)  // the instance only: its patient, study and series are unchanged
        // Parents rewritten at every commit cost a table page and index pages each: with
        // them left alone, the commit writes fewer pages than the first one.
        #expect(second.walFrames > 0 && second.walFrames < first.walFrames)
        let c = try store.counts()
        #expect(c.patients == 1 && c.studies == 1 && c.series == 1 && c.instances == 2)
    }

    @Test func reindexingTheSameUnchangedInstanceUpdatesOnlyItsRow() throws {
        let store = try SQLiteIndexStore()
        _ = try cost(of: [record(Fixture.instances[0], path: "/s/1.dcm")], in: store)
        #expect(try cost(of: [record(Fixture.instances[0], path: "/s/1.dcm")], in: store).rows == 1)
        #expect(try store.instanceCount() == 1)
    }

    @Test func changedStudyAttributesAreWritten() throws {
        let store = try SQLiteIndexStore()
        _ = try cost(of: [record(Fixture.instances[0], path: "/s/1.dcm")], in: store)
        var changed = Fixture.instances[1]
        changed.studyDescription = "CT Chest (amended)"
        #expect(try cost(of: [record(changed, path: "/s/2.dcm")], in: store).rows == 2)  // study and instance
        #expect(try study(store, "description") == "CT Chest (amended)")
        // Back to the first value: written again.
        #expect(try cost(of: [record(Fixture.instances[0], path: "/s/1.dcm")], in: store).rows == 2)
        #expect(try study(store, "description") == "CT Chest")
    }

    @Test func changedPatientAndSeriesAttributesAreWritten() throws {
        let store = try SQLiteIndexStore()
        _ = try cost(of: [record(Fixture.instances[0], path: "/s/1.dcm")], in: store)
        var renamed = Fixture.instances[1]
        renamed.patientName = "Doe^Johnny"
        #expect(try cost(of: [record(renamed, path: "/s/2.dcm")], in: store).rows == 2)  // patient and instance
        let name = try store.pool.read { db in try String.fetchOne(db, sql: "SELECT name_norm FROM patient") }
        #expect(name == TextValues.normalizedPN("Doe^Johnny"))

        var renumbered = renamed
        renumbered.sopUID = "1.2.3.1.1.3"
        renumbered.seriesNumber = 9
        #expect(try cost(of: [record(renumbered, path: "/s/3.dcm")], in: store).rows == 2)  // series and instance
        let number = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT series_number FROM series") }
        #expect(number == 9)
        // A value that goes away (NULL) is a change too.
        var noTime = renumbered
        noTime.sopUID = "1.2.3.1.1.4"
        noTime.studyTime = ""
        #expect(try cost(of: [record(noTime, path: "/s/4.dcm")], in: store).rows == 2)
        #expect(try study(store, "study_time") == nil)
    }

    @Test func aStudyMovedToAnotherPatientIsRelinkedAndTheOldPatientPruned() throws {
        let store = try SQLiteIndexStore()
        _ = try cost(of: [record(Fixture.instances[0], path: "/s/1.dcm")], in: store)
        var moved = Fixture.instances[1]
        moved.patientID = "PID-NEW"
        let c = try cost(of: [record(moved, path: "/s/2.dcm")], in: store)
        #expect(c.rows == 4)  // new patient, study relinked, instance inserted, old patient deleted
        let ids = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT patient_id FROM patient") }
        #expect(ids == ["PID-NEW"])
        #expect(try store.counts().instances == 2)
    }
}

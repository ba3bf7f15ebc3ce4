// SPDX-License-Identifier: Apache-2.0
import DICOM
import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Archive

@Suite struct ScannerTests {
    @Test func firstScanIndexesGoodFilesAndSkipsBadOnesWithReasons() throws {
        let (store, root, summary) = try Fixture.scannedStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(summary.seen == 13)
        #expect(summary.indexed == 10)
        #expect(summary.parsed == 13)
        #expect(summary.unchanged == 0)
        #expect(summary.removed == 0)
        #expect(summary.skipped.count == 3)
        let reasons = Dictionary(
            uniqueKeysWithValues: summary.skipped.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.reason) })
        #expect(reasons["notes.txt"]?.contains("not a DICOM file") == true)
        #expect(reasons["truncated.dcm"]?.contains("truncated") == true)
        #expect(reasons["nouid.dcm"]?.contains("SOP Instance UID") == true)
        #expect(try store.instanceCount() == 10)
        let c = try store.counts()
        #expect(c.patients == 6 && c.studies == 7 && c.series == 8 && c.instances == 10)
        let inst = try #require(try store.instance(sopInstanceUID: "1.2.3.1.1.2"))
        #expect(inst.studyInstanceUID == "1.2.3.1")
        #expect(inst.seriesInstanceUID == "1.2.3.1.1")
        #expect(inst.sopClassUID == Fixture.ct)
        #expect(inst.path.hasSuffix("/PID001/1.2.3.1/1.2.3.1.1.2.dcm"))
        #expect(inst.path.hasPrefix("/"))
        #expect(inst.transferSyntaxUID == TransferSyntax.explicitVRLittleEndian.uid)
        #expect(
            try store.instance(sopInstanceUID: "1.2.3.1.1.1")?.transferSyntaxUID
                == TransferSyntax.implicitVRLittleEndian.uid)
        var st = stat()
        #expect(stat(inst.path, &st) == 0)
        #expect(inst.size == Int64(st.st_size))
    }

    @Test func rescanIsIncrementalAndFollowsDeletionsAndChanges() throws {
        let (store, root, _) = try Fixture.scannedStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let scanner = StorageScanner(store: store, root: root)
        let again = try scanner.scan()
        #expect(again.seen == 13)
        #expect(again.unchanged == 10)
        #expect(again.indexed == 0)
        #expect(again.parsed == 3)  // only the bad files are read again
        #expect(again.removed == 0)

        // Delete one file, change another (new modality, new size), add a new one.
        try FileManager.default.removeItem(atPath: "\(root)/PID002/1.2.3.3/1.2.3.3.1.2.dcm")
        var changed = Fixture.instances[7]
        changed.modality = "MRX"
        changed.studyDescription = "MR Kolano lewe"
        try changed.write(to: "\(root)/PID004/1.2.3.5/1.2.3.5.1.1.dcm")
        var added = Fixture.instances[8]
        added.sopUID = "1.2.3.6.1.2"
        added.instanceNumber = 2
        try added.write(to: "\(root)/PID005/1.2.3.6/1.2.3.6.1.2.dcm")

        let third = try scanner.scan()
        #expect(third.seen == 13)
        #expect(third.removed == 1)
        #expect(third.indexed == 2)
        #expect(third.unchanged == 8)
        #expect(try store.instanceCount() == 10)
        #expect(try store.instance(sopInstanceUID: "1.2.3.3.1.2") == nil)
        #expect(try store.instance(sopInstanceUID: "1.2.3.6.1.2") != nil)
        let r = try findAll(store, Query("SERIES").with(Tag(0x0020, 0x000D), .UI, "1.2.3.5").with(.modality, .CS))
        #expect(r.values(.modality) == ["MRX"])
        let s = try findAll(
            store, Query("STUDY").with(Tag(0x0020, 0x000D), .UI, "1.2.3.3").with(Tags.studyInstances, .IS))
        #expect(s.first?.string(Tags.studyInstances) == "1")
    }

    @Test func indexedFileThatBecomesInvalidIsRemoved() throws {
        let (store, root, _) = try Fixture.scannedStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Data("garbage, no longer DICOM".utf8).write(
            to: URL(fileURLWithPath: "\(root)/PID005/1.2.3.6/1.2.3.6.1.1.dcm"))
        let s = try StorageScanner(store: store, root: root).scan()
        #expect(s.removed == 1)
        #expect(s.skipped.count == 4)
        #expect(try store.instance(sopInstanceUID: "1.2.3.6.1.1") == nil)
        #expect(try store.counts().patients == 5)
    }

    @Test func removingEveryFileOfAStudyRemovesItsParents() throws {
        let (store, root, _) = try Fixture.scannedStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.removeItem(atPath: "\(root)/PID003")
        let summary = try StorageScanner(store: store, root: root).scan()
        #expect(summary.removed == 1)
        let c = try store.counts()
        #expect(c.patients == 5 && c.studies == 6 && c.series == 7 && c.instances == 9)
    }

    @Test func totalsCountEveryLevelAndSumTheIndexedFilesSizes() throws {
        let (store, root, _) = try Fixture.scannedStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        func indexedBytes() throws -> Int64 {
            try store.indexedFiles().keys.reduce(Int64(0)) { sum, path in
                var st = stat()
                #expect(stat(path, &st) == 0, "\(path)")
                return sum + Int64(st.st_size)
            }
        }
        let t = try store.totals()
        #expect(t.patients == 6 && t.studies == 7 && t.series == 8 && t.instances == 10)
        let bytes = try indexedBytes()
        #expect(t.storedBytes > 0 && t.storedBytes == bytes, "the sizes of the files on disk")
        try FileManager.default.removeItem(atPath: "\(root)/PID003")
        _ = try StorageScanner(store: store, root: root).scan()
        let after = try store.totals()
        let bytesAfter = try indexedBytes()
        #expect(after.instances == 9 && after.storedBytes == bytesAfter && after.storedBytes < t.storedBytes)
    }

    @Test func progressIsReported() throws {
        let root = try Fixture.writeTree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try SQLiteIndexStore()
        let reports = Mutex<[ScanProgress]>([])
        let summary = try StorageScanner(store: store, root: root, batchSize: 4, progressInterval: 0).scan { p in
            reports.withLock { $0.append(p) }
        }
        let all = reports.withLock { $0 }
        #expect(all.count >= 4)
        #expect(all.last?.seen == summary.seen)
        #expect(all.last?.indexed == 10)
        #expect(all.last?.skipped == 3)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.seen <= $1.seen })
    }

    @Test func duplicateSOPInstanceInAnotherFileIsSkipped() throws {
        let (store, root, _) = try Fixture.scannedStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Fixture.instances[0].write(to: "\(root)/copy.dcm")
        let s = try StorageScanner(store: store, root: root).scan()
        #expect(
            s.skipped.contains { $0.path.hasSuffix("/copy.dcm") && $0.reason.contains("duplicate SOP Instance UID") })
        #expect(try store.instance(sopInstanceUID: "1.2.3.1.1.1")?.path.hasSuffix("/1.2.3.1.1.1.dcm") == true)
    }

    @Test func missingRootThrows() throws {
        let store = try SQLiteIndexStore()
        #expect(throws: IndexError.self) { try StorageScanner(store: store, root: "/nonexistent/qrscpd-test").scan() }
    }

    @Test func largeHeaderBeyondFirstReadIsReadCompletely() throws {
        let root = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var ds = Fixture.instances[3].dataSet()
        // A 3 KiB description pushes the UIDs that follow beyond a 1 KiB first read.
        ds.set(Tag(0x0008, 0x1030), vr: .LO, string: String(repeating: "x", count: 60))
        ds.set(Tag(0x0020, 0x4000), vr: .LT, string: String(repeating: "comment ", count: 400))
        let bytes = try DICOMFile.encode(dataSet: ds, transferSyntax: .explicitVRLittleEndian)
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/big.dcm"))
        let store = try SQLiteIndexStore()
        let s = try StorageScanner(store: store, root: root, headerReadSize: 1024).scan()
        #expect(s.indexed == 1)
        #expect(s.skipped.isEmpty)
        #expect(try store.instance(sopInstanceUID: "1.2.3.2.1.1") != nil)
    }
}

@Suite struct StoreTests {
    private func record(_ inst: FixtureInstance, path: String) -> InstanceRecord {
        InstanceRecord(
            path: path, size: 100, modificationTime: 1.5, transferSyntaxUID: TransferSyntax.explicitVRLittleEndian.uid,
            header: inst.dataSet())
    }

    @Test func batchIndexRemoveAndIndexedFiles() throws {
        let store = try SQLiteIndexStore()
        var bad = Fixture.instances[1]
        bad.studyUID = ""
        let failures = try store.index(
            Fixture.instances.enumerated().map { record($1, path: "/s/\($0).dcm") }
                + [record(bad, path: "/s/bad.dcm")])
        #expect(failures.count == 1)
        #expect(failures.first?.record == 10)
        #expect(failures.first?.error == .missingAttribute(tag: Tag(0x0020, 0x000D), name: "Study Instance UID"))
        #expect(try store.instanceCount() == 10)
        let files = try store.indexedFiles()
        #expect(files.count == 10)
        #expect(files["/s/0.dcm"] == FileStamp(size: 100, modificationTime: 1.5))
        #expect(try store.indexedFiles(under: "/other/").isEmpty)

        try store.remove(sopInstanceUID: "1.2.3.4.1.1")
        #expect(try store.instance(sopInstanceUID: "1.2.3.4.1.1") == nil)
        #expect(try store.counts().patients == 5)
        #expect(try store.removeInstances(paths: ["/s/0.dcm", "/s/1.dcm", "/s/nothing.dcm"]) == 2)
        #expect(try store.instanceCount() == 7)
        #expect(try store.removeFiles(notIn: ["/s/2.dcm"], under: "/s/") == 6)
        #expect(try store.instanceCount() == 1)
        #expect(try store.counts().studies == 1)
    }

    @Test func reindexOfAChangedRecordReplaces() throws {
        let store = try SQLiteIndexStore()
        try store.index(record(Fixture.instances[3], path: "/s/a.dcm"))
        var moved = Fixture.instances[3]
        moved.patientID = "NEWPID"
        moved.seriesUID = "1.2.3.2.9"
        try store.index(record(moved, path: "/s/a.dcm"))
        let c = try store.counts()
        #expect(c.patients == 1 && c.studies == 1 && c.series == 1 && c.instances == 1)
        let r = try findAll(store, Query("STUDY").with(.patientID, .LO))
        #expect(r.values(.patientID) == ["NEWPID"])
        // Another SOP instance written to the same path replaces the old one.
        try store.index(record(Fixture.instances[4], path: "/s/a.dcm"))
        #expect(try store.instanceCount() == 1)
        #expect(try store.instance(sopInstanceUID: "1.2.3.3.1.1")?.path == "/s/a.dcm")
    }

    @Test func batchWithChangingParentsKeepsTheLastValuesAndPrunes() throws {
        let store = try SQLiteIndexStore()
        var a = Fixture.instances[0]
        var b = Fixture.instances[1]
        b.studyDescription = "CT Chest v2"
        var c = Fixture.instances[2]  // same study, other series
        c.studyDescription = "CT Chest v2"
        var d = Fixture.instances[3]  // other study of the same patient
        d.patientName = "Doe^John"
        try store.index([a, b, c, d].enumerated().map { record($1, path: "/b/\($0).dcm") })
        let r = try findAll(
            store,
            Query("STUDY").with(Tag(0x0020, 0x000D), .UI).with(Tags.studyDescription, .LO)
                .with(Tags.studySeries, .IS))
        #expect(r.values(Tags.studyDescription) == ["CT Chest v2", "MR Head 100%"])
        #expect(r.values(Tags.studySeries) == ["1", "2"])
        #expect(try store.counts().patients == 1)
        // The study moves to another patient within one batch: the old patient goes.
        a.patientID = "MOVED"
        b.patientID = "MOVED"
        c.patientID = "MOVED"
        try store.index([a, b, c].enumerated().map { record($1, path: "/b/\($0).dcm") })
        d.patientID = "MOVED"
        try store.index([d].map { record($0, path: "/b/3.dcm") })
        #expect(try store.counts().patients == 1)
        #expect(try findAll(store, Query("STUDY").with(.patientID, .LO)).values(.patientID) == ["MOVED", "MOVED"])
        #expect(try store.instanceCount() == 4)
    }

    @Test func retrievePlanningLookup() throws {
        let store = Fixture.shared
        #expect(try store.instances(studyInstanceUID: "1.2.3.1").count == 3)
        #expect(
            try store.instances(studyInstanceUID: "1.2.3.1", seriesInstanceUID: "1.2.3.1.1").map(\.sopInstanceUID)
                == ["1.2.3.1.1.1", "1.2.3.1.1.2"])
        #expect(
            try store.instances(
                studyInstanceUID: "1.2.3.1", seriesInstanceUID: "1.2.3.1.1",
                sopInstanceUID: "1.2.3.1.1.2"
            ).count == 1)
    }

    @Test func temporaryIndexIsDeletedOnClose() throws {
        let store = try SQLiteIndexStore()
        let dir = store.pool.path.split(separator: "/").dropLast().joined(separator: "/")
        #expect(FileManager.default.fileExists(atPath: "/" + dir))
        try store.close()
        #expect(!FileManager.default.fileExists(atPath: "/" + dir))
    }

    @Test func persistentIndexMigratesFromV1AndKeepsData() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/index.sqlite"
        do {
            // An index written by a qrscpd that only knew migration v1.
            let pool = try GRDBPool(path: path)
            try Schema.migrator.migrate(pool.pool, upTo: "v1")
            try pool.pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO patient (id, patient_id, issuer, name, name_norm) VALUES (1, 'OLD1', '', 'Old^Patient', 'OLD^PATIENT');
                        INSERT INTO study (id, patient_ref, study_uid, study_date) VALUES (1, 1, '9.9.1', '20200101');
                        INSERT INTO series (id, study_ref, series_uid, modality) VALUES (1, 1, '9.9.1.1', 'OT');
                        INSERT INTO instance (series_ref, study_ref, sop_uid, sop_class, path, size, mtime, transfer_syntax)
                          VALUES (1, 1, '9.9.1.1.1', '1.2.3', '/old/file.dcm', 10, 2.0, '1.2.840.10008.1.2');
                        """)
            }
            try pool.pool.close()
        }
        let store = try SQLiteIndexStore(path: path)
        #expect(try store.appliedMigrations() == Schema.migrationIDs)
        #expect(try store.instanceCount() == 1)
        let r = try findAll(store, Query("STUDY").with(.patientName, .PN, "old*").with(Tag(0x0020, 0x000D), .UI))
        #expect(r.values(Tag(0x0020, 0x000D)) == ["9.9.1"])
        #expect(try store.indexedFiles()["/old/file.dcm"] == FileStamp(size: 10, modificationTime: 2.0))
        try store.index(record(Fixture.instances[0], path: "/new/a.dcm"))
        try store.close()
        // Re-opening keeps everything.
        let again = try SQLiteIndexStore(path: path)
        #expect(try again.instanceCount() == 2)
    }
}

@Suite struct SyntheticTests {
    @Test func syntheticRowsAreQueryable() throws {
        let store = try SQLiteIndexStore()
        let n = try store.insertSynthetic(
            SyntheticShape(
                patients: 50, studiesPerPatient: 2, seriesPerStudy: 2,
                instancesPerSeries: 3))
        #expect(n == 600)
        let c = try store.counts()
        #expect(c.patients == 50 && c.studies == 100 && c.series == 200 && c.instances == 600)
        let byID = try findAll(
            store,
            Query("STUDY").with(.patientID, .LO, "SYN0000042").with(Tag(0x0020, 0x000D), .UI)
                .with(.patientName, .PN).with(Tags.studyInstances, .IS).with(Tags.modalitiesInStudy, .CS))
        #expect(byID.values(Tag(0x0020, 0x000D)) == ["2.25.77.42.0", "2.25.77.42.1"])
        #expect(byID.values(.patientName) == ["DOE42^JOHN", "DOE42^JOHN"])
        #expect(byID.values(Tags.studyInstances) == ["6", "6"])
        let byName = try findAll(
            store,
            Query("STUDY").with(.specificCharacterSet, .CS, "ISO_IR 192")
                .with(.patientName, .PN, "müller3*").with(.patientID, .LO))
        #expect(byName.values(.patientID) == ["SYN0000003", "SYN0000003", "SYN0000033", "SYN0000033"])
        let first = try findAll(store, Query("STUDY").with(.studyDate, .DA, "20150101").with(Tags.accession, .SH))
        #expect(first.values(Tags.accession) == ["ACC0"])
    }
}

@Suite struct ConcurrencyTests {
    @Test func readersRunWhileOneWriterIndexes() throws {
        let store = try SQLiteIndexStore()
        try store.insertSynthetic(
            SyntheticShape(patients: 20, studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 1))
        let req = try Query("STUDY").with(Tag(0x0020, 0x000D), .UI).request()
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            do {
                if worker == 0 {
                    for b in 0..<20 {
                        try store.insertSynthetic(
                            SyntheticShape(patients: 1, studiesPerPatient: 5, pathPrefix: "/w\(b)")
                                .offset(by: 1000 + b))
                    }
                } else {
                    var last = 0
                    for _ in 0..<50 {
                        let n = try findAll(store, Query("STUDY").with(Tag(0x0020, 0x000D), .UI), limit: 7).count
                        if n < last { failures.withLock { $0.append("count went down \(last) → \(n)") } }
                        last = n
                        _ = try store.find(req, after: nil, limit: 3)
                    }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(try store.counts().studies == 120)
    }

    @Test func lastPageHasNoToken() throws {
        let req = try Query("STUDY").with(.patientID, .LO, "PID001").with(Tag(0x0020, 0x000D), .UI).request()
        let page = try Fixture.shared.find(req, after: nil, limit: 2)
        #expect(page.matches.count == 2)
        #expect(page.next == nil)
        let unlimited = try Fixture.shared.find(try Query("STUDY").request(), after: nil, limit: 0)
        #expect(unlimited.matches.count == 7)
        #expect(unlimited.next == nil)
    }
}

@Suite struct TemporaryIndexTests {
    @Test func temporaryIndexIsDeletedWhenReleased() throws {
        var dir = ""
        do {
            let store = try SQLiteIndexStore()
            dir = String(store.pool.path.dropLast("/index.sqlite".count))
            try store.insertSynthetic(SyntheticShape(patients: 2))
            #expect(FileManager.default.fileExists(atPath: dir))
        }
        #expect(!dir.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir))
    }
}

@Suite struct ScannerEncodingTests {
    @Test func deflatedBigEndianAndRawDataSetFilesAreIndexed() throws {
        let root = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Fixture.instances[0].write(to: root + "/deflated.dcm", transferSyntax: .deflatedExplicitVRLittleEndian)
        try Fixture.instances[1].write(to: root + "/big.dcm", transferSyntax: .explicitVRBigEndian)
        // A raw data set without preamble and File Meta Information (old files).
        let raw = try DataSetWriter.write(Fixture.instances[6].dataSet(), transferSyntax: .implicitVRLittleEndian)
        try Data(raw).write(to: URL(fileURLWithPath: root + "/raw.dcm"))
        let store = try SQLiteIndexStore()
        let s = try StorageScanner(store: store, root: root, headerReadSize: 1024).scan()
        #expect(s.skipped == [])
        #expect(s.indexed == 3)
        #expect(
            try store.instance(sopInstanceUID: "1.2.3.1.1.1")?.transferSyntaxUID
                == TransferSyntax.deflatedExplicitVRLittleEndian.uid)
        #expect(
            try store.instance(sopInstanceUID: "1.2.3.1.1.2")?.transferSyntaxUID
                == TransferSyntax.explicitVRBigEndian.uid)
        #expect(try store.instance(sopInstanceUID: "1.2.3.4.1.1") != nil)
        let r = try findAll(
            store,
            Query("STUDY").with(.specificCharacterSet, .CS, "ISO_IR 192").with(.patientName, .PN, "müller^jürgen")
                .with(Tags.studyDescription, .LO))
        #expect(r.values(Tags.studyDescription) == ["Röntgen Thorax"])
    }
}

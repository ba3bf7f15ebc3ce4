// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import Testing

@testable import Archive

typealias Tag = DICOM.Tag

/// Deterministic test archive: DICOM files written with the project's DICOM writer into a
/// fresh temporary directory, plus a few bad files.
struct FixtureInstance {
    var charset: String? = nil
    var patientID: String
    var patientName: String
    var birthDate = "19700101"
    var sex = "M"
    var studyUID: String
    var studyDate: String
    var studyTime: String
    var accession: String
    var studyID = "1"
    var referringPhysician = "Smith^Anna"
    var studyDescription: String
    var seriesUID: String
    var modality: String
    var seriesNumber: Int
    var sopUID: String
    var sopClass = "1.2.840.10008.5.1.4.1.1.2"
    var instanceNumber: Int
    var institution = "General Hospital"
    var procedureCode: String? = nil

    func dataSet() -> DataSet {
        let cs = SpecificCharacterSet(charset)
        var ds = DataSet()
        func text(_ tag: Tag, _ vr: VR, _ s: String) {
            var b = cs.encode(s)
            if b.count & 1 == 1 { b.append(0x20) }
            ds.set(tag, vr: vr, bytes: b[...])
        }
        if let charset { ds.set(.specificCharacterSet, vr: .CS, string: charset) }
        ds.set(Tag(0x0008, 0x0008), vr: .CS, strings: ["ORIGINAL", "PRIMARY", "AXIAL"])
        ds.set(.sopClassUID, vr: .UI, string: sopClass)
        ds.set(.sopInstanceUID, vr: .UI, string: sopUID)
        ds.set(.studyDate, vr: .DA, string: studyDate)
        ds.set(Tag(0x0008, 0x0023), vr: .DA, string: studyDate)  // Content Date
        ds.set(Tag(0x0008, 0x0030), vr: .TM, string: studyTime)
        ds.set(Tag(0x0008, 0x0050), vr: .SH, string: accession)
        ds.set(.modality, vr: .CS, string: modality)
        text(Tag(0x0008, 0x0080), .LO, institution)
        text(Tag(0x0008, 0x0090), .PN, referringPhysician)
        text(Tag(0x0008, 0x1030), .LO, studyDescription)
        if let procedureCode {
            var item = DataSet()
            item.set(Tag(0x0008, 0x0100), vr: .SH, string: procedureCode)
            item.set(Tag(0x0008, 0x0102), vr: .SH, string: "LOCAL")
            item.set(Tag(0x0008, 0x0104), vr: .LO, string: "Procedure \(procedureCode)")
            ds.set(Tag(0x0008, 0x1032), items: [item])
        }
        text(.patientName, .PN, patientName)
        ds.set(.patientID, vr: .LO, string: patientID)
        ds.set(Tag(0x0010, 0x0030), vr: .DA, string: birthDate)
        ds.set(Tag(0x0010, 0x0040), vr: .CS, string: sex)
        ds.set(Tag(0x0010, 0x1010), vr: .AS, string: "054Y")
        ds.set(Tag(0x0018, 0x0050), vr: .DS, string: "2.5")
        ds.set(.studyInstanceUID, vr: .UI, string: studyUID)
        ds.set(.seriesInstanceUID, vr: .UI, string: seriesUID)
        ds.set(Tag(0x0020, 0x0010), vr: .SH, string: studyID)
        ds.set(Tag(0x0020, 0x0011), vr: .IS, string: String(seriesNumber))
        ds.set(Tag(0x0020, 0x0013), vr: .IS, string: String(instanceNumber))
        ds.set(Tag(0x0028, 0x0010), vr: .US, uint16: 4)
        ds.set(Tag(0x0028, 0x0011), vr: .US, uint16: 4)
        ds.set(.pixelData, vr: .OW, bytes: [UInt8](repeating: 7, count: 32)[...])
        return ds
    }

    func write(to path: String, transferSyntax: TransferSyntax = .explicitVRLittleEndian) throws {
        let bytes = try DICOMFile.encode(dataSet: dataSet(), transferSyntax: transferSyntax)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

enum Fixture {
    static let ct = "1.2.840.10008.5.1.4.1.1.2"
    static let mr = "1.2.840.10008.5.1.4.1.1.4"
    static let us = "1.2.840.10008.5.1.4.1.1.6.1"
    static let pr = "1.2.840.10008.5.1.4.1.1.11.1"
    static let cr = "1.2.840.10008.5.1.4.1.1.1"

    /// Studies: S1 20241231 (CT ×2, PR ×1), S2 20250101 (MR) for PID001 Doe^John;
    /// S3 20250215 (US ×2) for PID002 doe^jane; S4 20250215 (CR) for PID003 Müller^Jürgen
    /// (ISO_IR 100); S5 20230510 (MR) for PID004 Łukasz^Żółw (ISO_IR 192); S6 20250301
    /// (CT) for PID005 山田^太郎 (ISO_IR 192); S7 20220101 (CT) for PID006 " Van Der Berg^Anne".
    static let instances: [FixtureInstance] = [
        FixtureInstance(
            patientID: "PID001", patientName: "Doe^John", studyUID: "1.2.3.1", studyDate: "20241231",
            studyTime: "235959", accession: "ACC1", studyDescription: "CT Chest", seriesUID: "1.2.3.1.1",
            modality: "CT", seriesNumber: 1, sopUID: "1.2.3.1.1.1", instanceNumber: 1, procedureCode: "CT456"),
        FixtureInstance(
            patientID: "PID001", patientName: "Doe^John", studyUID: "1.2.3.1", studyDate: "20241231",
            studyTime: "235959", accession: "ACC1", studyDescription: "CT Chest", seriesUID: "1.2.3.1.1",
            modality: "CT", seriesNumber: 1, sopUID: "1.2.3.1.1.2", instanceNumber: 2, procedureCode: "CT456"),
        FixtureInstance(
            patientID: "PID001", patientName: "Doe^John", studyUID: "1.2.3.1", studyDate: "20241231",
            studyTime: "235959", accession: "ACC1", studyDescription: "CT Chest", seriesUID: "1.2.3.1.2",
            modality: "PR", seriesNumber: 2, sopUID: "1.2.3.1.2.1", sopClass: pr, instanceNumber: 1,
            procedureCode: "CT456"),
        FixtureInstance(
            patientID: "PID001", patientName: "Doe^John", studyUID: "1.2.3.2", studyDate: "20250101",
            studyTime: "080000", accession: "ACC_2", studyID: "2", studyDescription: "MR Head 100%",
            seriesUID: "1.2.3.2.1", modality: "MR", seriesNumber: 1, sopUID: "1.2.3.2.1.1", sopClass: mr,
            instanceNumber: 1, institution: "Clinic_B"),
        FixtureInstance(
            patientID: "PID002", patientName: "doe^jane", birthDate: "19800202", sex: "F",
            studyUID: "1.2.3.3", studyDate: "20250215", studyTime: "103000.5", accession: "ACC%3",
            referringPhysician: "jones^bob", studyDescription: "US Abdomen", seriesUID: "1.2.3.3.1",
            modality: "US", seriesNumber: 1, sopUID: "1.2.3.3.1.1", sopClass: us, instanceNumber: 1,
            procedureCode: "US123"),
        FixtureInstance(
            patientID: "PID002", patientName: "doe^jane", birthDate: "19800202", sex: "F",
            studyUID: "1.2.3.3", studyDate: "20250215", studyTime: "103000.5", accession: "ACC%3",
            referringPhysician: "jones^bob", studyDescription: "US Abdomen", seriesUID: "1.2.3.3.1",
            modality: "US", seriesNumber: 1, sopUID: "1.2.3.3.1.2", sopClass: us, instanceNumber: 2,
            procedureCode: "US123"),
        FixtureInstance(
            charset: "ISO_IR 100", patientID: "PID003", patientName: "Müller^Jürgen", birthDate: "19650505",
            studyUID: "1.2.3.4", studyDate: "20250215", studyTime: "1400", accession: "ACC4",
            studyDescription: "Röntgen Thorax", seriesUID: "1.2.3.4.1", modality: "CR", seriesNumber: 1,
            sopUID: "1.2.3.4.1.1", sopClass: cr, instanceNumber: 1, institution: "Klinikum Süd"),
        FixtureInstance(
            charset: "ISO_IR 192", patientID: "PID004", patientName: "Łukasz^Żółw", birthDate: "19900909",
            studyUID: "1.2.3.5", studyDate: "20230510", studyTime: "091500", accession: "ACC5",
            studyDescription: "MR Kolano", seriesUID: "1.2.3.5.1", modality: "MR", seriesNumber: 3,
            sopUID: "1.2.3.5.1.1", sopClass: mr, instanceNumber: 7),
        FixtureInstance(
            charset: "ISO_IR 192", patientID: "PID005", patientName: "山田^太郎", birthDate: "19751111",
            studyUID: "1.2.3.6", studyDate: "20250301", studyTime: "120000", accession: "ACC6",
            studyDescription: "CT 頭部", seriesUID: "1.2.3.6.1", modality: "CT", seriesNumber: 1,
            sopUID: "1.2.3.6.1.1", instanceNumber: 1),
        FixtureInstance(
            patientID: "PID006", patientName: " Van Der Berg^Anne ", sex: "F", studyUID: "1.2.3.7",
            studyDate: "20220101", studyTime: "10:30:00", accession: "ACC7", studyDescription: "CT Abdomen",
            seriesUID: "1.2.3.7.1", modality: "CT", seriesNumber: 1, sopUID: "1.2.3.7.1.1", instanceNumber: 1),
    ]

    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/archive-tests-XXXXXX").utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let p else { throw IndexError.unreadable("mkdtemp") }
        return String(cString: p)
    }

    /// Writes the good files (in nested directories) and three bad ones; returns the root.
    static func writeTree() throws -> String {
        let root = try temporaryDirectory()
        do {
            for (i, inst) in instances.enumerated() {
                let dir = "\(root)/\(inst.patientID)/\(inst.studyUID)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let ts: TransferSyntax = i % 3 == 0 ? .implicitVRLittleEndian : .explicitVRLittleEndian
                try inst.write(to: "\(dir)/\(inst.sopUID).dcm", transferSyntax: ts)
            }
            let bad = root + "/bad"
            try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: true)
            try Data("hello, this is not DICOM at all\n".utf8).write(to: URL(fileURLWithPath: bad + "/notes.txt"))
            let full = try DICOMFile.encode(dataSet: instances[0].dataSet(), transferSyntax: .explicitVRLittleEndian)
            try Data(full[..<(full.count / 2)]).write(to: URL(fileURLWithPath: bad + "/truncated.dcm"))
            var noUID = instances[0].dataSet()
            noUID.remove(.sopInstanceUID)
            let b = try DICOMFile.encode(
                dataSet: noUID, transferSyntax: .explicitVRLittleEndian, sopInstanceUID: "1.2.3.999")
            try Data(b).write(to: URL(fileURLWithPath: bad + "/nouid.dcm"))
            // Hidden files are ignored.
            try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/.partial"))
        } catch {
            // The caller removes the tree only once it has it.
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
        return root
    }

    /// A scanned store over a fresh tree.
    static func scannedStore() throws -> (SQLiteIndexStore, String, ScanSummary) {
        let root = try writeTree()
        do {
            let store = try SQLiteIndexStore()
            let summary = try StorageScanner(store: store, root: root).scan()
            return (store, root, summary)
        } catch {
            // The caller removes the tree only once it has it.
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
    }

    /// Shared scanned store for the matching tests (read-only use). A static is never
    /// deallocated, so neither defer nor deinit cleans up after it: the tests query the index
    /// only, so the scanned tree goes at once, and the temporary index is closed (deleted) at exit.
    static let shared: SQLiteIndexStore = {
        let (store, root, _) = try! scannedStore()
        try? FileManager.default.removeItem(atPath: root)
        atexit { try? Fixture.shared.close() }
        return store
    }()
}

/// Builds a request identifier.
struct Query {
    var ds = DataSet()
    init(_ level: String) { ds.set(.queryRetrieveLevel, vr: .CS, string: level) }
    func with(_ tag: Tag, _ vr: VR, _ value: String = "") -> Query {
        var q = self
        q.ds.set(tag, vr: vr, string: value)
        return q
    }
    func with(_ tag: Tag, _ vr: VR, bytes: [UInt8]) -> Query {
        var q = self
        var b = bytes
        if b.count & 1 == 1 { b.append(0x20) }
        q.ds.set(tag, vr: vr, bytes: b[...])
        return q
    }
    func with(_ tag: Tag, items: [DataSet]) -> Query {
        var q = self
        q.ds.set(tag, items: items)
        return q
    }
    func request(_ model: QueryModel = .studyRoot) throws -> FindRequest {
        try FindRequest(model: model, identifier: ds)
    }
}

/// All matches of a request over all pages.
func findAll(_ store: SQLiteIndexStore, _ q: Query, model: QueryModel = .studyRoot, limit: Int = 100) throws
    -> [DataSet]
{
    let req = try q.request(model)
    var out: [DataSet] = []
    var token: ResumeToken? = nil
    repeat {
        let page = try store.find(req, after: token, limit: limit)
        out += page.matches
        token = page.next
    } while token != nil
    return out
}

extension Array where Element == DataSet {
    /// Values of `tag` in the matches, decoded as UTF-8 (responses are UTF-8), sorted.
    func values(_ tag: Tag) -> [String] {
        map { $0.decodedString(tag, inherited: SpecificCharacterSet("ISO_IR 192")) ?? "<absent>" }.sorted()
    }
}

enum Tags {
    static let studyTime = Tag(0x0008, 0x0030)
    static let accession = Tag(0x0008, 0x0050)
    static let modalitiesInStudy = Tag(0x0008, 0x0061)
    static let sopClassesInStudy = Tag(0x0008, 0x0062)
    static let institution = Tag(0x0008, 0x0080)
    static let referringPhysician = Tag(0x0008, 0x0090)
    static let studyDescription = Tag(0x0008, 0x1030)
    static let procedureCodeSequence = Tag(0x0008, 0x1032)
    static let codeValue = Tag(0x0008, 0x0100)
    static let codingScheme = Tag(0x0008, 0x0102)
    static let birthDate = Tag(0x0010, 0x0030)
    static let sex = Tag(0x0010, 0x0040)
    static let patientAge = Tag(0x0010, 0x1010)
    static let sliceThickness = Tag(0x0018, 0x0050)
    static let studyID = Tag(0x0020, 0x0010)
    static let seriesNumber = Tag(0x0020, 0x0011)
    static let instanceNumber = Tag(0x0020, 0x0013)
    static let contentDate = Tag(0x0008, 0x0023)
    static let imageType = Tag(0x0008, 0x0008)
    static let patientStudies = Tag(0x0020, 0x1200)
    static let patientSeries = Tag(0x0020, 0x1202)
    static let patientInstances = Tag(0x0020, 0x1204)
    static let studySeries = Tag(0x0020, 0x1206)
    static let studyInstances = Tag(0x0020, 0x1208)
    static let seriesInstances = Tag(0x0020, 0x1209)
    static let instanceAvailability = Tag(0x0008, 0x0056)
}

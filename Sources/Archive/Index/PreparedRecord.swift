// SPDX-License-Identifier: Apache-2.0
import DICOM

/// Why a file or record cannot be indexed.
public enum IndexError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A required attribute (Study/Series/SOP Instance UID, SOP Class UID) is absent or empty.
    case missingAttribute(tag: Tag, name: String)
    /// The file is not DICOM (no "DICM" prefix and no recognisable data set).
    case notDICOM(String)
    /// The file could not be parsed.
    case unreadable(String)
    /// Another indexed file holds the same SOP Instance UID.
    case duplicateSOPInstance(uid: String, indexedPath: String)

    public var description: String {
        switch self {
        case .missingAttribute(let tag, let name): return "missing \(name) \(tag)"
        case .notDICOM(let m): return "not a DICOM file: \(m)"
        case .unreadable(let m): return "unreadable: \(m)"
        case .duplicateSOPInstance(let uid, let p):
            return "duplicate SOP Instance UID \(uid) (already indexed from \(p))"
        }
    }
}

/// The column values and entity blobs of one instance, computed outside the database
/// transaction (so the scanner can prepare records on every core).
struct PreparedRecord: Sendable {
    // patient
    var patientID: String
    var issuer: String
    var patientName: String?
    var patientNameNorm: String?
    var birthDate: String?
    var sex: String?
    var patientAttrs: [UInt8]
    // study
    var studyUID: String
    var studyDate: String?
    var studyTime: String?
    var accession: String?
    var studyID: String?
    var referringPhysician: String?
    var referringPhysicianNorm: String?
    var studyDescription: String?
    var studyAttrs: [UInt8]
    // series
    var seriesUID: String
    var modality: String?
    var seriesNumber: Int64?
    var seriesDate: String?
    var seriesTime: String?
    var seriesAttrs: [UInt8]
    // instance
    var sopInstanceUID: String
    var sopClassUID: String
    var instanceNumber: Int64?
    var path: String
    var size: Int64
    var mtime: Double
    var transferSyntaxUID: String
    var instanceAttrs: [UInt8]

    init(_ record: InstanceRecord) throws(IndexError) {
        // Text decoded with the file's Specific Character Set, re-encoded as UTF-8.
        let ds = TextValues.toUTF8(record.header)
        func text(_ t: Tag) -> String? {
            guard let v = ds.utf8String(t), !v.isEmpty else { return nil }
            return v
        }
        func required(_ t: Tag, _ name: String) throws(IndexError) -> String {
            guard let v = text(t) else { throw .missingAttribute(tag: t, name: name) }
            return v
        }
        func int(_ t: Tag) -> Int64? { text(t).flatMap { Int64($0) } }
        func temporal(_ t: Tag, _ vr: VR) -> String? { text(t).map { ValueMatcher.normalizedTemporal(vr: vr, $0) } }

        studyUID = try required(Tag(0x0020, 0x000D), "Study Instance UID")
        seriesUID = try required(Tag(0x0020, 0x000E), "Series Instance UID")
        sopInstanceUID = try required(Tag(0x0008, 0x0018), "SOP Instance UID")
        sopClassUID = try required(Tag(0x0008, 0x0016), "SOP Class UID")

        patientID = text(Tag(0x0010, 0x0020)) ?? ""
        issuer = text(Tag(0x0010, 0x0021)) ?? ""
        patientName = text(Tag(0x0010, 0x0010))
        patientNameNorm = patientName.map(TextValues.normalizedPN)
        birthDate = temporal(Tag(0x0010, 0x0030), .DA)
        sex = text(Tag(0x0010, 0x0040))

        studyDate = temporal(Tag(0x0008, 0x0020), .DA)
        studyTime = temporal(Tag(0x0008, 0x0030), .TM)
        accession = text(Tag(0x0008, 0x0050))
        studyID = text(Tag(0x0020, 0x0010))
        referringPhysician = text(Tag(0x0008, 0x0090))
        referringPhysicianNorm = referringPhysician.map(TextValues.normalizedPN)
        studyDescription = text(Tag(0x0008, 0x1030))

        modality = text(Tag(0x0008, 0x0060))
        seriesNumber = int(Tag(0x0020, 0x0011))
        seriesDate = temporal(Tag(0x0008, 0x0021), .DA)
        seriesTime = temporal(Tag(0x0008, 0x0031), .TM)

        instanceNumber = int(Tag(0x0020, 0x0013))
        path = record.path
        size = record.size
        mtime = record.modificationTime
        transferSyntaxUID = record.transferSyntaxUID

        var levels: [[DataElement]] = [[], [], [], []]
        for e in ds where AttributeLevels.keepsInBlob(e) {
            levels[AttributeLevels.depth(AttributeLevels.level(of: e.tag).level)].append(e)
        }
        func encode(_ elements: [DataElement]) -> [UInt8] {
            (try? DataSetWriter.write(DataSet(elements), transferSyntax: .explicitVRLittleEndian)) ?? []
        }
        patientAttrs = encode(levels[0])
        studyAttrs = encode(levels[1])
        seriesAttrs = encode(levels[2])
        instanceAttrs = encode(levels[3])
    }
}

extension PreparedRecord {
    /// Whether the patient, study and series parts equal `other`'s (then a batch writer
    /// need not upsert them again).
    func sameParents(as o: PreparedRecord) -> Bool {
        seriesUID == o.seriesUID && modality == o.modality && seriesNumber == o.seriesNumber
            && seriesDate == o.seriesDate && seriesTime == o.seriesTime && seriesAttrs == o.seriesAttrs
            && sameStudy(as: o)
    }

    /// Whether the patient and study parts equal `other`'s.
    func sameStudy(as o: PreparedRecord) -> Bool {
        studyUID == o.studyUID && studyDate == o.studyDate && studyTime == o.studyTime && accession == o.accession
            && studyID == o.studyID && referringPhysician == o.referringPhysician
            && studyDescription == o.studyDescription && studyAttrs == o.studyAttrs && samePatient(as: o)
    }

    /// Whether the patient part equals `other`'s.
    func samePatient(as o: PreparedRecord) -> Bool {
        patientID == o.patientID && issuer == o.issuer && patientName == o.patientName && birthDate == o.birthDate
            && sex == o.sex && patientAttrs == o.patientAttrs
    }

    var patientKey: String { patientID + "\u{0}" + issuer }
}

/// Decodes an entity blob (Explicit VR Little Endian, UTF-8 text).
func decodeAttrs(_ blob: [UInt8]?) -> DataSet {
    guard let blob, !blob.isEmpty else { return DataSet() }
    return (try? DataSetReader.read(blob[...], transferSyntax: .explicitVRLittleEndian)) ?? DataSet()
}

// SPDX-License-Identifier: Apache-2.0
// swift-format-ignore-file: AlwaysUseLowerCamelCase
import DICOM
import Foundation

/// UID root of the generated samples: the project's root, arc 9 (samples).
/// `.9.1.*` demo archive, `.9.2.*` C-FIND fixtures, `.9.3.*` bulk benchmark data.
enum SampleUIDs {
    static let root = "\(Implementation.uidRoot).9"
}

enum SOPClass {
    static let ct = "1.2.840.10008.5.1.4.1.1.2"
    static let mr = "1.2.840.10008.5.1.4.1.1.4"
    static let cr = "1.2.840.10008.5.1.4.1.1.1"
    static let secondaryCapture = "1.2.840.10008.5.1.4.1.1.7"

    static func forModality(_ modality: String) -> String {
        switch modality {
        case "CT": return ct
        case "MR": return mr
        case "CR": return cr
        default: return secondaryCapture
        }
    }
}

/// What to write: patients, their studies, series and instances.
struct PatientSpec {
    var id: String
    var name: String
    /// Specific Character Set (0008,0005) for every file of this patient; nil = default repertoire.
    var characterSet: String?
    var birthDate: String
    var sex: String
    var studies: [StudySpec]
}

struct StudySpec {
    var uid: String
    var date: String
    var time: String
    var accessionNumber: String
    var studyID: String
    var description: String
    var referringPhysician: String
    var series: [SeriesSpec]
}

struct SeriesSpec {
    var uid: String
    var modality: String
    var number: Int
    var description: String
    var bodyPart: String
    var instances: [InstanceSpec]
}

struct InstanceSpec {
    var uid: String
    var number: Int
    var transferSyntax: TransferSyntax
    var rows: Int
    var columns: Int
}

/// The ground truth of a generated archive, written as JSON beside it for the interop tests.
/// Keys are DICOM keywords; strings are the Unicode values (as decoded with the file's
/// Specific Character Set).
struct GroundTruth: Codable {
    struct Patient: Codable {
        var PatientID: String
        var PatientName: String
        var SpecificCharacterSet: String?
        var PatientBirthDate: String
        var PatientSex: String
        var NumberOfPatientRelatedStudies: Int
        var NumberOfPatientRelatedSeries: Int
        var NumberOfPatientRelatedInstances: Int
    }

    struct Study: Codable {
        var StudyInstanceUID: String
        var PatientID: String
        var StudyDate: String
        var StudyTime: String
        var AccessionNumber: String
        var StudyID: String
        var StudyDescription: String
        var ReferringPhysicianName: String
        var ModalitiesInStudy: [String]
        var NumberOfStudyRelatedSeries: Int
        var NumberOfStudyRelatedInstances: Int
    }

    struct Series: Codable {
        var SeriesInstanceUID: String
        var StudyInstanceUID: String
        var PatientID: String
        var Modality: String
        var SeriesNumber: Int
        var SeriesDescription: String
        var BodyPartExamined: String
        var NumberOfSeriesRelatedInstances: Int
    }

    struct Instance: Codable {
        var SOPInstanceUID: String
        var SOPClassUID: String
        var SeriesInstanceUID: String
        var StudyInstanceUID: String
        var PatientID: String
        var InstanceNumber: Int
        var TransferSyntaxUID: String
        var Rows: Int
        var Columns: Int
        /// File path relative to the archive directory.
        var path: String
    }

    var uidRoot: String
    var patients: [Patient] = []
    var studies: [Study] = []
    var series: [Series] = []
    var instances: [Instance] = []
}

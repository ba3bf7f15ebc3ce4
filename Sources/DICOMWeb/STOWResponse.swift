// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMJSON

/// The result of one part of a STOW-RS request and the response body built from all of them
/// (PS3.18 §10.5.3, Table 10.5.3-1).
public struct STOWResult: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case stored
        /// Not stored; the Failure Reason (0008,1197), a PS3.4 C-STORE status such as A700,
        /// A900, 0111, C000.
        case failed(reason: UInt16, comment: String)
    }

    public var sopClassUID: String
    public var sopInstanceUID: String
    public var outcome: Outcome

    public init(sopClassUID: String, sopInstanceUID: String, outcome: Outcome) {
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.outcome = outcome
    }

    /// The HTTP status for these results: 200 all stored, 202 some stored, 409 none stored
    /// (PS3.18 §10.5.3.1), 400 for a request with no part at all.
    public static func status(_ results: [STOWResult]) -> Int {
        if results.isEmpty { return 400 }
        let stored = results.filter { $0.outcome == .stored }.count
        return stored == results.count ? 200 : stored == 0 ? 409 : 202
    }

    /// The response data set: Retrieve URL of the study (when one study was named), Referenced
    /// SOP Sequence for the stored instances (each with its Retrieve URL) and Failed SOP
    /// Sequence with Failure Reasons. `instanceURL` makes an instance's Retrieve URL.
    public static func responseDataSet(
        _ results: [STOWResult], studyURL: String?,
        instanceURL: (STOWResult) -> String?
    ) -> DataSet {
        var ds = DataSet()
        if let studyURL { ds.set(Tag(0x0008, 0x1190), vr: .UR, string: studyURL) }
        var referenced: [DataSet] = []
        var failed: [DataSet] = []
        for r in results {
            var item = DataSet()
            item.set(Tag(0x0008, 0x1150), vr: .UI, string: r.sopClassUID)
            item.set(Tag(0x0008, 0x1155), vr: .UI, string: r.sopInstanceUID)
            switch r.outcome {
            case .stored:
                if let url = instanceURL(r) { item.set(Tag(0x0008, 0x1190), vr: .UR, string: url) }
                referenced.append(item)
            case .failed(let reason, _):
                item.set(
                    DataElement(
                        tag: Tag(0x0008, 0x1197), vr: .US,
                        bytes: [UInt8(reason & 0xFF), UInt8(reason >> 8)][...]))
                failed.append(item)
            }
        }
        if !failed.isEmpty { ds.set(DataElement(tag: Tag(0x0008, 0x1198), items: failed)) }
        if !referenced.isEmpty { ds.set(DataElement(tag: Tag(0x0008, 0x1199), items: referenced)) }
        return ds
    }

    /// The response as `application/dicom+json`.
    public static func responseJSON(
        _ results: [STOWResult], studyURL: String?,
        instanceURL: (STOWResult) -> String?
    ) -> [UInt8] {
        DICOMJSONEncoder().encode(responseDataSet(results, studyURL: studyURL, instanceURL: instanceURL))
    }
}

/// Where a Part 10 file's data set starts, from its first bytes: the SOP Class and Instance
/// UIDs and transfer syntax of its File Meta Information.
public struct Part10Preamble: Sendable, Hashable {
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var transferSyntaxUID: String
    /// Offset of the data set (after the meta information).
    public var dataSetOffset: Int

    /// Most bytes read before giving up on finding the end of the meta information.
    public static let maxLength = 64 * 1024

    /// nil while more bytes are needed; throws when `bytes` cannot be the start of a Part 10
    /// file with "DICM" and a meta group length.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws -> Part10Preamble? {
        let b = bytes.startIndex
        guard bytes.count >= 144 else { return nil }
        guard bytes[b + 128] == 0x44, bytes[b + 129] == 0x49, bytes[b + 130] == 0x43, bytes[b + 131] == 0x4D else {
            throw DICOMError.invalidFile("not a DICOM Part 10 file (no DICM at byte 128)")
        }
        guard bytes[b + 132] == 2, bytes[b + 133] == 0, bytes[b + 134] == 0, bytes[b + 135] == 0,
            bytes[b + 136] == 0x55, bytes[b + 137] == 0x4C
        else {
            throw DICOMError.invalidFile("File Meta Information without a group length first")
        }
        let gl = Int(bytes[b + 140]) | Int(bytes[b + 141]) << 8 | Int(bytes[b + 142]) << 16 | Int(bytes[b + 143]) << 24
        let end = 144 + gl
        guard end <= maxLength else { throw DICOMError.invalidFile("File Meta Information too long") }
        guard bytes.count >= end else { return nil }
        let header = try DICOMFile.readHeader(bytes[b..<(b + end)])
        guard let sopClass = header.meta.uid(.mediaStorageSOPClassUID), !sopClass.isEmpty,
            let sopInstance = header.meta.uid(.mediaStorageSOPInstanceUID), !sopInstance.isEmpty
        else {
            throw DICOMError.invalidFile("File Meta Information without SOP Class or Instance UID")
        }
        return Part10Preamble(
            sopClassUID: sopClass, sopInstanceUID: sopInstance,
            transferSyntaxUID: header.transferSyntax.uid, dataSetOffset: end)
    }
}

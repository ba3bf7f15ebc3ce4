// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMFiles
import DICOMWeb
import Foundation
import TestSupport
import Testing

/// Element walking (``ElementWalker``, ``StoredDataSet``) against our whole-file parser on
/// pydicom's test files: sequences of defined and undefined length, UN sequences, private
/// sequences, encapsulated and native Pixel Data, big and little endian, implicit and explicit VR.
@Suite("walking stored elements by their headers")
struct StoredDataSetTests {
    static let names = [
        "CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_padded.dcm",
        "rtplan.dcm", "rtstruct.dcm", "rtdose.dcm", "UN_sequence.dcm", "nested_priv_SQ.dcm", "priv_SQ.dcm",
        "test-SR.dcm", "waveform_ecg.dcm", "examples_overlay.dcm", "SC_rgb_jpeg_dcmtk.dcm", "JPEG2000.dcm",
        "SC_rgb_rle_2frame.dcm", "emri_small_jpeg_2k_lossless.dcm",
    ]

    /// A window over bytes in memory, with reads counted.
    static func window(_ bytes: [UInt8]) -> FileWindow {
        FileWindow(fileSize: bytes.count) { o, c in Array(bytes[min(o, bytes.count)..<min(o + c, bytes.count)]) }
    }

    static func binary(_ vr: VR) -> Bool { [.OB, .OD, .OF, .OL, .OV, .OW, .UN].contains(vr) }

    @Test("the data set read without bulk values equals the whole parse minus exactly the long binary values")
    func equalsWholeParse() throws {
        guard let testDirData = try pydicomFrames(["--test-files-dir"]) else { return }
        let testDir = String(decoding: testDirData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var checked = 0
        for name in Self.names {
            let path = testDir + "/" + name
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let bytes = try DICOMFile.readBytes(path)
            let whole = try DICOMFile(bytes: bytes[...])
            let stored = try StoredDataSet(Self.window(bytes), bulkLimit: 1024, maxRead: 1 << 26)
            let bulkTags = Set(stored.bulk.map(\.tag))
            for element in whole.dataSet {
                if bulkTags.contains(element.tag) {
                    let long: Bool
                    switch element.value {
                    case .bytes(let b): long = b.count > 1024
                    case .fragments(let f): long = f.reduce(0) { $0 + $1.count + 8 } > 1024
                    case .sequence: long = false
                    }
                    #expect(long, "\(name): \(element.tag) left unread")
                } else {
                    #expect(stored.dataSet[element.tag] == element, "\(name): \(element.tag) differs")
                    switch element.value {
                    case .bytes(let b) where b.count > 1024 && element.vr != .SQ && Self.binary(element.vr):
                        Issue.record("\(name): long binary \(element.tag) was read")
                    case .fragments(let f) where f.reduce(0, { $0 + $1.count + 8 }) > 1024 && element.tag == .pixelData:
                        Issue.record("\(name): long Pixel Data was read")
                    default: break
                    }
                }
            }
            #expect(stored.dataSet.count + bulkTags.count == whole.dataSet.count, "\(name)")

            // Each top-level value found by its tag is the parsed value's bytes (little endian).
            if !whole.transferSyntax.isBigEndian {
                for element in whole.dataSet {
                    guard case .bytes(let value) = element.value, element.vr != .SQ else { continue }
                    let found = try ElementWalker.find(element.tag, in: Self.window(bytes), maxProbe: 1 << 26)
                    let range = found.flatMap { f in f.length.map { f.valueOffset..<f.valueOffset + $0 } }
                    #expect(range.map { Array(bytes[$0]) } == Array(value), "\(name): \(element.tag)")
                }
            }
            checked += 1
        }
        #expect(checked >= 12 || !InteropPolicy.isCI)
    }

    @Test("a deflated data set is refused; values over the read limit are refused")
    func refusals() throws {
        guard let testDirData = try pydicomFrames(["--test-files-dir"]) else { return }
        let testDir = String(decoding: testDirData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let deflated = testDir + "/image_dfl.dcm"
        try #require(FileManager.default.fileExists(atPath: deflated), "pydicom's test files hold image_dfl.dcm")
        let deflatedBytes = try DICOMFile.readBytes(deflated)
        #expect(throws: FrameLocationError.self) {
            try StoredDataSet(Self.window(deflatedBytes), bulkLimit: 1024, maxRead: 1 << 26)
        }
        let bytes = try DICOMFile.readBytes(testDir + "/rtplan.dcm")
        #expect(throws: FrameLocationError.self) {
            try StoredDataSet(Self.window(bytes), bulkLimit: 1024, maxRead: 2048)
        }
    }
}

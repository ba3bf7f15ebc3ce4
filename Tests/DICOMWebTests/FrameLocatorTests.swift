// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMFiles
import DICOMWeb
import Foundation
import TestSupport
import Testing

/// Runs scripts/pydicom-frames-reference.py; nil (a failure under CI) when python3 or pydicom is missing.
func pydicomFrames(_ arguments: [String]) throws -> Data? {
    switch try PydicomReference.run("pydicom-frames-reference.py", arguments) {
    case .success(let data): return data
    case .failure(let status):
        if InteropPolicy.isCI { Issue.record("\(status)") }
        return nil
    }
}

@Suite("frame byte ranges against pydicom's frames")
struct FrameLocatorTests {
    @Test("native and encapsulated multi-frame files: every frame equals pydicom's")
    func framesEqualPydicom() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-frames-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard try pydicomFrames(["--make-fixtures", dir]) != nil,
            let testDirData = try pydicomFrames(["--test-files-dir"])
        else { return }
        let testDir = String(decoding: testDirData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var paths = try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { dir + "/" + $0 }
        #expect(paths.count == 6)
        paths += [
            "rtdose.dcm", "SC_rgb_rle_2frame.dcm", "SC_rgb_jpeg_dcmtk.dcm", "JPEG2000.dcm", "MR_small.dcm",
            "MR_small_bigendian.dcm", "emri_small_jpeg_2k_lossless.dcm",
        ]
        .map { testDir + "/" + $0 }.filter { FileManager.default.fileExists(atPath: $0) }
        guard let json = try pydicomFrames(["--frames"] + paths),
            let reference = try JSONSerialization.jsonObject(with: json) as? [String: [String: Any]]
        else { return }
        var checked = 0
        for path in paths {
            guard let entry = reference[path], let encoded = entry["frames"] as? [String] else {
                Issue.record("pydicom gave no frames for \(path): \(String(describing: reference[path]))")
                continue
            }
            let expected = encoded.map { Array(Data(base64Encoded: $0)!) }
            let bytes = try DICOMFile.readBytes(path)
            let located = try StoredFrames(prefix: bytes[...], fileSize: bytes.count) { o, c in
                Array(bytes[min(o, bytes.count)..<min(o + c, bytes.count)])
            }
            let frames = located.frames.map { ranges in ranges.flatMap { Array(bytes[$0]) } }
            #expect(frames.count == expected.count, "\(path)")
            #expect(frames == expected, "\(path)")
            #expect(located.transferSyntax.uid == entry["transfer_syntax"] as? String)
            checked += 1
        }
        #expect(checked >= 8)
    }

    @Test("a prefix cut before Pixel Data throws; a frame list past the value throws")
    func refusals() throws {
        let image = ImagePixelDescription(rows: 2, columns: 2, samplesPerPixel: 1, bitsAllocated: 16, numberOfFrames: 3)
        #expect(image.nativeFrameLength == 8)
        #expect(throws: FrameLocationError.self) {
            try FrameLocator.nativeFrames(valueOffset: 0, valueLength: 23, image: image)
        }
        #expect(
            try FrameLocator.nativeFrames(valueOffset: 10, valueLength: 24, image: image) == [
                10..<18, 18..<26, 26..<34,
            ])
        let bits = ImagePixelDescription(rows: 3, columns: 3, samplesPerPixel: 1, bitsAllocated: 1, numberOfFrames: 2)
        #expect(bits.nativeFrameLength == nil)
    }
}

// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMFiles
import Foundation
import Testing

@testable import qrscpd_samples

typealias Tag = DICOM.Tag

/// The band-by-band writer of large benchmark images produces a valid Part 10 file that the
/// DICOM module reads back with the requested geometry and the same pixels as a whole-image build.
@Suite struct StreamedImageTests {
    @Test func streamedInstanceReadsBackWithRequestedSizeAndPixels() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("qrscpd-samples-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var writer = try ArchiveWriter(directory: directory)
        let patient = PatientSpec(
            id: "P1", name: "TEST^STREAM", characterSet: nil, birthDate: "19700101", sex: "O",
            studies: [])
        let study = StudySpec(
            uid: "1.2.3.1", date: "20250101", time: "120000", accessionNumber: "A1", studyID: "1",
            description: "STREAM", referringPhysician: "REF^DOC", series: [])
        let series = SeriesSpec(
            uid: "1.2.3.2", modality: "CT", number: 1, description: "S", bodyPart: "CHEST",
            instances: [])
        // 301 x 1000 pixels in bands of 7 rows: uneven bands, the last one partial.
        let instance = InstanceSpec(
            uid: "1.2.3.3.1", number: 1, transferSyntax: .explicitVRLittleEndian,
            rows: 301, columns: 1000)
        try writer.writeInstanceStreamingPixels(
            patient: patient, study: study, series: series, instance: instance,
            to: "big.dcm", seed: 5, bandBytes: 7 * 2000)

        let path = directory.appendingPathComponent("big.dcm").path
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size == writer.bytesWritten)
        #expect(writer.filesWritten == 1)

        let file = try DICOMFile(contentsOf: path)
        #expect(file.transferSyntax == .explicitVRLittleEndian)
        #expect(file.meta.uid(.mediaStorageSOPInstanceUID) == "1.2.3.3.1")
        #expect(file.dataSet.uid(.sopInstanceUID) == "1.2.3.3.1")
        #expect(file.dataSet.uint16(ImageFactory.tag("Rows")) == 301)
        #expect(file.dataSet.uint16(ImageFactory.tag("Columns")) == 1000)
        let pixels = try #require(file.dataSet[.pixelData])
        #expect(pixels.vr == .OW)
        #expect(Array(pixels.bytes) == ImageFactory.syntheticPixels(rows: 301, columns: 1000, seed: 5))
        #expect(file.dataSet.tags.last == .pixelData)
    }

    @Test func bandsConcatenateToTheWholeImage() {
        let whole = ImageFactory.syntheticPixels(rows: 50, columns: 37, seed: 3)
        let bands = [0..<13, 13..<26, 26..<50].flatMap {
            ImageFactory.syntheticPixelRows($0, rows: 50, columns: 37, seed: 3)
        }
        #expect(bands == whole)
    }
}

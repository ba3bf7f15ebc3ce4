// SPDX-License-Identifier: Apache-2.0
import DICOMFiles
import Foundation
import Testing

@testable import DICOM

@Suite struct FileTests {
    func sample() -> DataSet {
        var ds = sampleDataSet()
        ds.set(.sopClassUID, vr: .UI, string: "1.2.840.10008.5.1.4.1.1.2")
        ds.set(.sopInstanceUID, vr: .UI, string: "1.2.826.0.1.3680043.10.1489.99.1")
        return ds
    }

    @Test(arguments: fourSyntaxes)
    func writeThenRead(_ ts: TransferSyntax) throws {
        let ds = sample()
        let bytes = try DICOMFile.encode(dataSet: ds, transferSyntax: ts, sourceAETitle: "QRSCPD")
        #expect(bytes.prefix(128).allSatisfy { $0 == 0 })
        #expect(Array(bytes[128..<132]) == Array("DICM".utf8))
        // (0002,0000) UL, value = byte count of the rest of group 0002
        #expect(Array(bytes[132..<140]) == [0x02, 0x00, 0x00, 0x00, 0x55, 0x4C, 0x04, 0x00])
        let gl = Int(bytes[140]) | Int(bytes[141]) << 8 | Int(bytes[142]) << 16 | Int(bytes[143]) << 24
        let f = try DICOMFile(bytes: bytes[...])
        #expect(f.dataSetOffset == 144 + gl)
        #expect(f.hasPreamble)
        #expect(f.transferSyntax == ts)
        #expect(f.meta.uint32(.fileMetaInformationGroupLength) == UInt32(gl))
        #expect(f.meta.bytes(.fileMetaInformationVersion) == [0x00, 0x01])
        #expect(f.meta.uid(.mediaStorageSOPClassUID) == "1.2.840.10008.5.1.4.1.1.2")
        #expect(f.meta.uid(.mediaStorageSOPInstanceUID) == "1.2.826.0.1.3680043.10.1489.99.1")
        #expect(f.meta.uid(.transferSyntaxUID) == ts.uid)
        #expect(f.meta.uid(.implementationClassUID) == Implementation.classUID)
        #expect(f.meta.string(.implementationVersionName) == Implementation.versionName)
        #expect(f.meta.string(.sourceApplicationEntityTitle) == "QRSCPD")
        #expect(f.meta.elements.allSatisfy { $0.tag.group == 2 })
        #expect(normalize(f.dataSet) == normalize(ds))
        // The data set bytes after the meta are exactly the writer's encoding.
        let tail = try DataSetWriter.write(ds, transferSyntax: ts)
        #expect(Array(bytes[f.dataSetOffset...]) == tail)
        let again = try DataSetReader.read(bytes[f.dataSetOffset...], transferSyntax: ts)
        #expect(normalize(again) == normalize(ds))
    }

    @Test func pixelDataOffsetAndStop() throws {
        var ds = sample()
        ds[.pixelData] = DataElement(fragments: [[], [1, 2, 3, 4]])
        let bytes = try DICOMFile.encode(dataSet: ds, transferSyntax: .jpegBaseline)
        let f = try DICOMFile(bytes: bytes[...], options: .init(stopBeforePixelData: true))
        #expect(f.dataSet[.pixelData] == nil)
        let px = try #require(f.pixelDataOffset)
        #expect(Array(bytes[px..<(px + 4)]) == [0xE0, 0x7F, 0x10, 0x00])
        let full = try DICOMFile(bytes: bytes[...])
        #expect(full.dataSet[.pixelData]?.fragments?.map { Array($0) } == [[], [1, 2, 3, 4]])
    }

    @Test func fileWithoutPreambleOrMeta() throws {
        let ds = sample()
        // Raw implicit VR LE data set, no preamble, no meta.
        let raw = try DataSetWriter.write(ds, transferSyntax: .implicitVRLittleEndian)
        let f = try DICOMFile(bytes: raw[...])
        #expect(!f.hasPreamble && f.meta.isEmpty && f.dataSetOffset == 0)
        #expect(f.transferSyntax == .implicitVRLittleEndian)
        #expect(normalize(f.dataSet) == normalize(ds))
        // Raw explicit LE and BE are recognised too.
        for ts in [TransferSyntax.explicitVRLittleEndian, .explicitVRBigEndian] {
            let b = try DataSetWriter.write(ds, transferSyntax: ts)
            let g = try DICOMFile(bytes: b[...])
            #expect(g.transferSyntax == ts)
            #expect(normalize(g.dataSet) == normalize(ds))
        }
        // "DICM" + meta without preamble.
        let full = try DICOMFile.encode(dataSet: ds, transferSyntax: .explicitVRLittleEndian)
        let noPre = Array(full[128...])
        let h = try DICOMFile(bytes: noPre[...])
        #expect(!h.hasPreamble)
        #expect(h.meta.uid(.transferSyntaxUID) == TransferSyntax.explicitVRLittleEndian.uid)
        #expect(normalize(h.dataSet) == normalize(ds))
    }

    @Test func metaWithoutGroupLength() throws {
        let ds = sample()
        var meta = DICOMFile.makeMeta(
            sopClassUID: "1.2.3", sopInstanceUID: "1.2.3.4",
            transferSyntax: .explicitVRBigEndian)
        meta.remove(.fileMetaInformationGroupLength)
        var bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        try DataSetWriter.write(meta, transferSyntax: .explicitVRLittleEndian, into: &bytes)
        let offset = bytes.count
        try DataSetWriter.write(ds, transferSyntax: .explicitVRBigEndian, into: &bytes)
        let f = try DICOMFile(bytes: bytes[...])
        #expect(f.dataSetOffset == offset)
        #expect(f.transferSyntax == .explicitVRBigEndian)
        #expect(f.meta.uid(.mediaStorageSOPInstanceUID) == "1.2.3.4")
        #expect(normalize(f.dataSet) == normalize(ds))
    }

    @Test func writeToDiskAndReadBack() throws {
        let path = NSTemporaryDirectory() + "dicomtests-\(UUID().uuidString).dcm"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let meta = DICOMFile.makeMeta(
            sopClassUID: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUID: "1.2.3",
            transferSyntax: .deflatedExplicitVRLittleEndian)
        let file = DICOMFile(meta: meta, transferSyntax: .deflatedExplicitVRLittleEndian, dataSet: sample())
        try file.write(to: path)
        let back = try DICOMFile(contentsOf: path)
        #expect(back.transferSyntax == .deflatedExplicitVRLittleEndian)
        #expect(normalize(back.dataSet) == normalize(sample()))
    }

    @Test func readsDeflatedPydicomFile() throws {
        guard let dir = pydicomTestFilesDir() else { return }
        let f = try DICOMFile(contentsOf: dir.appendingPathComponent("image_dfl.dcm").path)
        #expect(f.transferSyntax.isDeflated)
        #expect(f.dataSet.count > 10)
        #expect(f.dataSet.uid(.sopClassUID)?.hasPrefix("1.2.840.10008.5.1.4.1.1") == true)
        // Re-encode uncompressed and compare.
        let plain = try DICOMFile.encode(dataSet: f.dataSet, transferSyntax: .explicitVRLittleEndian)
        let g = try DICOMFile(bytes: plain[...])
        #expect(normalize(g.dataSet) == normalize(f.dataSet))
    }
}

@Suite struct FileQuirkTests {
    @Test func metaSyntaxContradictingDataIsCorrected() throws {
        var ds = DataSet()
        ds.set(.patientName, vr: .PN, string: "Doe^J")
        ds.set(.patientID, vr: .LO, string: "42")
        let meta = DICOMFile.makeMeta(
            sopClassUID: "1.2", sopInstanceUID: "1.3", transferSyntax: .explicitVRLittleEndian)
        var bytes = try DICOMFile.encodeHeader(meta: meta)
        let offset = bytes.count
        try DataSetWriter.write(ds, transferSyntax: .implicitVRLittleEndian, into: &bytes)
        let f = try DICOMFile(bytes: bytes[...])
        #expect(f.transferSyntax == .implicitVRLittleEndian)
        #expect(f.dataSetOffset == offset)
        #expect(f.dataSet.string(.patientID) == "42")
        // Meta only (empty data set): the declared syntax is kept.
        let metaOnly = try DICOMFile.encodeHeader(meta: meta)
        let g = try DICOMFile(bytes: metaOnly[...])
        #expect(g.transferSyntax == .explicitVRLittleEndian)
        #expect(g.dataSet.isEmpty && g.dataSetOffset == metaOnly.count)
    }
}

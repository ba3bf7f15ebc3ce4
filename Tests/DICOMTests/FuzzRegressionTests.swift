// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOM

/// Inputs found by the libFuzzer targets (Tests/Fuzz, docs/FUZZING.md), replayed through the
/// steps the target runs, each with the clean result expected since its fix.
@Suite struct FuzzRegressionTests {
    /// fuzz-dataset: (3008,0020), a sequence in the dictionary, carried as DA in Explicit VR Big
    /// Endian. Converting it to Implicit VR Little Endian (as C-GET does for an Implicit-only
    /// peer) wrote bytes that every Implicit VR reader parses as items and fails on; the
    /// conversion now fails with a clear error instead.
    @Test func nonSequenceUnderSequenceTagIsNotWrittenImplicitly() throws {
        let input: [UInt8] = [0x30, 0x08, 0x00, 0x20, 0x44, 0x41, 0x00, 0x01, 0x00]
        let dataSet = try DataSetReader.read(input[...], transferSyntax: .explicitVRBigEndian)
        #expect(throws: DICOMError.notEncodableInImplicitVR(tag: Tag(0x3008, 0x0020), vr: .DA)) {
            try DataSetWriter.write(dataSet, transferSyntax: .implicitVRLittleEndian)
        }
        // The explicit syntaxes carry the VR and still convert.
        for syntax in [TransferSyntax.explicitVRLittleEndian, .deflatedExplicitVRLittleEndian] {
            let written = try DataSetWriter.write(dataSet, transferSyntax: syntax)
            #expect(try DataSetReader.read(written[...], transferSyntax: syntax).tags == [Tag(0x3008, 0x0020)])
        }
    }

    /// A UN value of defined length under a sequence tag holds an Implicit VR Little Endian
    /// sequence (PS3.5 §6.2.2): it still converts to Implicit VR, where it reads as the sequence.
    @Test func unknownSequenceBytesStillConvertToImplicit() throws {
        let item: [UInt8] = [
            0xFE, 0xFF, 0x00, 0xE0, 0x08, 0x00, 0x00, 0x00,  // item, 8 bytes
            0x08, 0x00, 0x50, 0x11, 0x00, 0x00, 0x00, 0x00,
        ]  // (0008,1150), empty
        let input: [UInt8] = [0x08, 0x00, 0x40, 0x11, 0x55, 0x4E, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00] + item
        let dataSet = try DataSetReader.read(input[...], transferSyntax: .explicitVRLittleEndian)
        let written = try DataSetWriter.write(dataSet, transferSyntax: .implicitVRLittleEndian)
        let reread = try DataSetReader.read(written[...], transferSyntax: .implicitVRLittleEndian)
        #expect(reread[Tag(0x0008, 0x1140)]?.items?.count == 1)
    }

    /// fuzz-dataset: encapsulated fragments of undefined length under (0008,2640), not Pixel
    /// Data, in Explicit VR Little Endian. In Implicit VR a reader takes undefined length on any
    /// tag but Pixel Data for a sequence and failed on the fragment; the conversion now fails
    /// with a clear error instead, and Pixel Data fragments still convert.
    @Test func fragmentsOutsidePixelDataAreNotWrittenImplicitly() throws {
        let input: [UInt8] = [
            0x08, 0x00, 0x40, 0x26, 0x4F, 0x42, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
            0xFE, 0xFF, 0x00, 0xE0, 0x04, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63, 0x64,
            0xFE, 0xFF, 0xDD, 0xE0, 0x00, 0x00, 0x00, 0x00,
        ]
        let dataSet = try DataSetReader.read(input[...], transferSyntax: .explicitVRLittleEndian)
        #expect(throws: DICOMError.notEncodableInImplicitVR(tag: Tag(0x0008, 0x2640), vr: .OB)) {
            try DataSetWriter.write(dataSet, transferSyntax: .implicitVRLittleEndian)
        }
        let pixels = DataSet([DataElement(fragments: [[0x61, 0x62, 0x63, 0x64][...]])])
        let written = try DataSetWriter.write(pixels, transferSyntax: .implicitVRLittleEndian)
        let reread = try DataSetReader.read(written[...], transferSyntax: .implicitVRLittleEndian)
        #expect(reread[.pixelData]?.fragments?.count == 1)
    }
}

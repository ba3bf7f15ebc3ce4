// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOM

let fourSyntaxes: [TransferSyntax] = [
    .implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian, .deflatedExplicitVRLittleEndian,
]

@Suite struct CodecTests {
    @Test func sampleCoversEveryVR() {
        let ds = sampleDataSet()
        #expect(Set(ds.elements.map(\.vr)) == Set(VR.allCases))
    }

    @Test(arguments: fourSyntaxes)
    func roundTrip(_ ts: TransferSyntax) throws {
        let ds = sampleDataSet()
        let bytes = try DataSetWriter.write(ds, transferSyntax: ts)
        #expect(bytes.count % 2 == 0)
        let back = try DataSetReader.read(bytes[...], transferSyntax: ts)
        #expect(normalize(back) == normalize(ds))
        #expect(back.elements.allSatisfy { $0.isBigEndian == ts.isBigEndian || $0.vr == .SQ })
        // typed getters work regardless of byte order
        #expect(back.uint16(tagForVR[.US]!, at: 0) == 0x0102)
        #expect(back.uint16(tagForVR[.US]!, at: 1) == 0xFFFE)
        #expect(back.uint16(tagForVR[.US]!, at: 2) == nil)
        #expect(back.int16(tagForVR[.SS]!) == -2)
        #expect(back.uint32(tagForVR[.UL]!) == 0xDEAD_BEEF)
        #expect(back.int32(tagForVR[.SL]!) == -123_456)
        #expect(back.float(tagForVR[.FL]!, at: 1) == -0.25)
        #expect(back.double(tagForVR[.FD]!) == 3.141592653589793)
        #expect(back.int64(tagForVR[.SV]!) == -9_000_000_000)
        #expect(back.uint64(tagForVR[.UV]!) == 0xFEDC_BA98_7654_3210)
        #expect(back.attributeTag(tagForVR[.AT]!, at: 1) == .pixelData)
        #expect(back.binaries(tagForVR[.OW]!, as: UInt16.self) == [0x0102, 0xFFEE])
        #expect(back.uid(tagForVR[.UI]!) == "1.2.840.10008.5.1.4.1.1.2")
        #expect(back.strings(tagForVR[.CS]!) == ["ORIGINAL", "PRIMARY", "AXIAL"])
        #expect(back.numbers(tagForVR[.DS]!) == [1.5, -2250, 0])
        #expect(back.int(tagForVR[.IS]!, at: 1) == -3)
        #expect(back.string(tagForVR[.LO]!) == "")
        #expect(back.strings(tagForVR[.LO]!) == [])
        #expect(back.string(tagForVR[.LT]!) == "  leading spaces kept, odd")
        #expect(back.decodedString(tagForVR[.PN]!) == "Müller^Hans")
        let seq = try #require(back.items(tagForVR[.SQ]!))
        #expect(seq.count == 3)
        #expect(seq[0].string(.patientID) == "ID7")
        #expect(seq[0].items(Tag(0x0008, 0x1115))?.first?.string(Tag(0x0008, 0x0100)) == "CODE")
        #expect(seq[1].isEmpty)
        #expect(back.items(Tag(0x0008, 0x1140))?.isEmpty == true)
    }

    @Test func convertBetweenEverySyntaxPair() throws {
        let ds = sampleDataSet()
        for a in fourSyntaxes {
            let first = try DataSetReader.read(try DataSetWriter.write(ds, transferSyntax: a)[...], transferSyntax: a)
            for b in fourSyntaxes {
                let bytes = try DataSetWriter.write(first, transferSyntax: b)
                let second = try DataSetReader.read(bytes[...], transferSyntax: b)
                #expect(normalize(second) == normalize(ds), "\(a.uid) -> \(b.uid)")
                // Re-encoding is stable: same bytes as a direct encoding.
                #expect(
                    bytes == (try DataSetWriter.write(ds, transferSyntax: b)) || b.isDeflated, "\(a.uid) -> \(b.uid)")
            }
        }
    }

    @Test func explicitBigEndianBytes() throws {
        var ds = DataSet()
        ds.set(Tag(0x0028, 0x0010), uint16: 0x0102)
        let be = try DataSetWriter.write(ds, transferSyntax: .explicitVRBigEndian)
        #expect(be == [0x00, 0x28, 0x00, 0x10, 0x55, 0x53, 0x00, 0x02, 0x01, 0x02])
        let le = try DataSetWriter.write(ds, transferSyntax: .explicitVRLittleEndian)
        #expect(le == [0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00, 0x02, 0x01])
        let im = try DataSetWriter.write(ds, transferSyntax: .implicitVRLittleEndian)
        #expect(im == [0x28, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x01])
        let r = try DataSetReader.read(be[...], transferSyntax: .explicitVRBigEndian)
        #expect(r[Tag(0x0028, 0x0010)]?.bytes == [0x01, 0x02])
        #expect(r.uint16(Tag(0x0028, 0x0010)) == 0x0102)
        #expect(r.converted(bigEndian: false)[Tag(0x0028, 0x0010)]?.bytes == [0x02, 0x01])
    }

    @Test func paddingAndLongForm() throws {
        var ds = DataSet()
        ds[Tag(0x0008, 0x0018)] = DataElement(tag: Tag(0x0008, 0x0018), vr: .UI, bytes: Array("1.2".utf8)[...])
        ds[Tag(0x0010, 0x0010)] = DataElement(tag: Tag(0x0010, 0x0010), vr: .PN, bytes: Array("Doe".utf8)[...])
        ds[Tag(0x0042, 0x0011)] = DataElement(tag: Tag(0x0042, 0x0011), vr: .OB, bytes: [0xAB])
        let le = try DataSetWriter.write(ds, transferSyntax: .explicitVRLittleEndian)
        #expect(
            le == [
                0x08, 0x00, 0x18, 0x00, 0x55, 0x49, 0x04, 0x00, 0x31, 0x2E, 0x32, 0x00,  // UI "1.2\0"
                0x10, 0x00, 0x10, 0x00, 0x50, 0x4E, 0x04, 0x00, 0x44, 0x6F, 0x65, 0x20,  // PN "Doe "
                0x42, 0x00, 0x11, 0x00, 0x4F, 0x42, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xAB, 0x00,  // OB long form
            ])
        let back = try DataSetReader.read(le[...], transferSyntax: .explicitVRLittleEndian)
        #expect(back.uid(Tag(0x0008, 0x0018)) == "1.2")
        #expect(back.string(Tag(0x0010, 0x0010)) == "Doe")
    }

    @Test func sequenceEncodingBytes() throws {
        var item = DataSet()
        item.set(Tag(0x0028, 0x0010), uint16: 1)
        var ds = DataSet()
        ds.set(Tag(0x0008, 0x1140), items: [item])
        let le = try DataSetWriter.write(ds, transferSyntax: .explicitVRLittleEndian)
        #expect(
            le == [
                0x08, 0x00, 0x40, 0x11, 0x53, 0x51, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
                0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF,
                0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00, 0x01, 0x00,
                0xFE, 0xFF, 0x0D, 0xE0, 0x00, 0x00, 0x00, 0x00,
                0xFE, 0xFF, 0xDD, 0xE0, 0x00, 0x00, 0x00, 0x00,
            ])
        let im = try DataSetWriter.write(ds, transferSyntax: .implicitVRLittleEndian)
        #expect(Array(im.prefix(8)) == [0x08, 0x00, 0x40, 0x11, 0xFF, 0xFF, 0xFF, 0xFF])
        let be = try DataSetWriter.write(ds, transferSyntax: .explicitVRBigEndian)
        #expect(Array(be[12..<20]) == [0xFF, 0xFE, 0xE0, 0x00, 0xFF, 0xFF, 0xFF, 0xFF])
    }

    @Test func readsDefinedLengthSequencesAndItems() throws {
        // (0008,1140) SQ defined length 18: one item of length 10 holding (0028,0010) US 7.
        let bytes: [UInt8] = [
            0x08, 0x00, 0x40, 0x11, 0x53, 0x51, 0x00, 0x00, 18, 0, 0, 0,
            0xFE, 0xFF, 0x00, 0xE0, 10, 0, 0, 0,
            0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00, 0x07, 0x00,
            0x10, 0x00, 0x20, 0x00, 0x4C, 0x4F, 0x02, 0x00, 0x41, 0x20,  // (0010,0020) LO "A "
        ]
        let ds = try DataSetReader.read(bytes[...], transferSyntax: .explicitVRLittleEndian)
        #expect(ds.items(Tag(0x0008, 0x1140))?.first?.uint16(Tag(0x0028, 0x0010)) == 7)
        #expect(ds.string(.patientID) == "A")
        // Implicit VR: same structure, VRs from the dictionary.
        let imp: [UInt8] = [
            0x08, 0x00, 0x40, 0x11, 18, 0, 0, 0,
            0xFE, 0xFF, 0x00, 0xE0, 10, 0, 0, 0,
            0x28, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, 0x00,
            0x10, 0x00, 0x20, 0x00, 0x02, 0x00, 0x00, 0x00, 0x41, 0x20,
            0x09, 0x00, 0x01, 0x10, 0x02, 0x00, 0x00, 0x00, 0x01, 0x02,  // private: UN
        ]
        let ids = try DataSetReader.read(imp[...], transferSyntax: .implicitVRLittleEndian)
        #expect(ids[Tag(0x0008, 0x1140)]?.vr == .SQ)
        #expect(ids[Tag(0x0010, 0x0020)]?.vr == .LO)
        #expect(ids[Tag(0x0009, 0x1001)]?.vr == .UN)
        #expect(ids.items(Tag(0x0008, 0x1140))?.first?[Tag(0x0028, 0x0010)]?.vr == .US)
    }

    @Test func unknownVRWithUndefinedLengthIsImplicitSequence() throws {
        // Explicit VR LE: (0009,1010) UN undefined length, holding an implicit LE item.
        let bytes: [UInt8] = [
            0x09, 0x00, 0x10, 0x10, 0x55, 0x4E, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
            0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF,
            0x10, 0x00, 0x20, 0x00, 0x04, 0x00, 0x00, 0x00, 0x41, 0x42, 0x43, 0x20,  // implicit (0010,0020) "ABC "
            0xFE, 0xFF, 0x0D, 0xE0, 0x00, 0x00, 0x00, 0x00,
            0xFE, 0xFF, 0xDD, 0xE0, 0x00, 0x00, 0x00, 0x00,
            0x10, 0x00, 0x10, 0x00, 0x50, 0x4E, 0x02, 0x00, 0x58, 0x20,
        ]
        let ds = try DataSetReader.read(bytes[...], transferSyntax: .explicitVRLittleEndian)
        let e = try #require(ds[Tag(0x0009, 0x1010)])
        #expect(e.vr == .SQ)
        #expect(e.items?.first?.string(.patientID) == "ABC")
        #expect(e.items?.first?[.patientID]?.vr == .LO)
        #expect(ds.string(.patientName) == "X")
        // Re-encoding as explicit BE and reading back keeps the item values.
        let be = try DataSetWriter.write(ds, transferSyntax: .explicitVRBigEndian)
        let back = try DataSetReader.read(be[...], transferSyntax: .explicitVRBigEndian)
        #expect(back.items(Tag(0x0009, 0x1010))?.first?.string(.patientID) == "ABC")
    }

    @Test func encapsulatedPixelData() throws {
        let frag: [UInt8] = [0xFF, 0xD8, 0xFF, 0xD9]
        let bytes: [UInt8] =
            [
                0xE0, 0x7F, 0x10, 0x00, 0x4F, 0x42, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
                0xFE, 0xFF, 0x00, 0xE0, 0x00, 0x00, 0x00, 0x00,  // empty basic offset table
                0xFE, 0xFF, 0x00, 0xE0, 0x04, 0x00, 0x00, 0x00,
            ] + frag + [0xFE, 0xFF, 0xDD, 0xE0, 0x00, 0x00, 0x00, 0x00]
        let ds = try DataSetReader.read(bytes[...], transferSyntax: .jpegBaseline)
        let f = try #require(ds[.pixelData]?.fragments)
        #expect(f.count == 2)
        #expect(f[0].isEmpty)
        #expect(Array(f[1]) == frag)
        // zero copy: fragment is a slice of the input
        #expect(f[1].startIndex == 28)
        #expect(try DataSetWriter.write(ds, transferSyntax: .jpegBaseline) == bytes)
        // stopBeforePixelData
        var pre = DataSet()
        pre.set(.patientID, vr: .LO, string: "P1")
        var all = try DataSetWriter.write(pre, transferSyntax: .jpegBaseline)
        let pxOffset = all.count
        all += bytes
        let r = try DataSetReader.readResult(
            all[...], transferSyntax: .jpegBaseline,
            options: .init(stopBeforePixelData: true))
        #expect(r.pixelDataOffset == pxOffset)
        #expect(r.dataSet.count == 1)
        #expect(r.dataSet[.pixelData] == nil)
    }

    @Test func deflateRoundTrip() throws {
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 % 7) }
        let z = try Deflate.deflate(data[...])
        #expect(z.count < data.count / 10)
        #expect(z.first != 0x78)  // raw deflate: no zlib header
        #expect(try Deflate.inflate(z[...]) == data)
        #expect(throws: DICOMError.self) { try Deflate.inflate(z[..<(z.count / 2)]) }
        #expect(throws: DICOMError.self) { try Deflate.inflate(z[...], maxOutput: 100) }
        #expect(throws: DICOMError.self) { try Deflate.inflate([0xFF, 0xFF, 0xFF][...]) }
    }

    @Test func characterSets() {
        var ds = DataSet()
        ds.set(.specificCharacterSet, vr: .CS, string: "ISO_IR 100")
        ds.set(.patientName, vr: .PN, bytes: [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72])  // "Müller" Latin-1
        #expect(ds.decodedString(.patientName) == "Müller")
        ds.set(.specificCharacterSet, vr: .CS, string: "ISO_IR 192")
        ds.set(.patientName, vr: .PN, bytes: Array("Żółć^Ω".utf8)[...])
        #expect(ds.decodedString(.patientName) == "Żółć^Ω")
        ds.remove(.specificCharacterSet)
        ds.set(.patientName, vr: .PN, string: "Doe^John ")
        #expect(ds.decodedString(.patientName) == "Doe^John")
        #expect(SpecificCharacterSet("ISO_IR 144").isFullySupported == false)
        #expect(SpecificCharacterSet("\\ISO 2022 IR 100").encoding == .latin1)
        #expect(SpecificCharacterSet(nil) == .default)
        #expect(SpecificCharacterSet("ISO_IR 100").encode("Müller") == [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72])
    }

    @Test func dataSetOrderingAndMutation() {
        var ds = DataSet([
            DataElement(tag: Tag(0x0010, 0x0020), vr: .LO, bytes: Array("B ".utf8)[...]),
            DataElement(tag: Tag(0x0008, 0x0060), vr: .CS, bytes: Array("CT".utf8)[...]),
        ])
        #expect(ds.tags == [Tag(0x0008, 0x0060), Tag(0x0010, 0x0020)])
        ds.set(.patientName, vr: .PN, string: "A")
        #expect(ds.tags == [Tag(0x0008, 0x0060), Tag(0x0010, 0x0010), Tag(0x0010, 0x0020)])
        ds.set(.patientName, vr: .PN, string: "C")
        #expect(ds.count == 3 && ds.string(.patientName) == "C")
        ds[.patientName] = nil
        #expect(!ds.contains(.patientName) && ds.count == 2)
        #expect(ds.elements(inGroup: 0x0010).map(\.tag) == [Tag(0x0010, 0x0020)])
    }
}

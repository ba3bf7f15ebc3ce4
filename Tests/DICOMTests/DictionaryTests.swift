// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOM

@Suite struct DictionaryTests {
    @Test func knowsCommonTags() throws {
        let pn = try #require(DataDictionary.entry(for: Tag(0x0010, 0x0010)))
        #expect(pn.vr == .PN)
        #expect(pn.keyword == "PatientName")
        #expect(pn.vm == "1")
        #expect(DataDictionary.tag(forKeyword: "PatientName") == Tag(0x0010, 0x0010))
        let px = try #require(DataDictionary.entry(for: .pixelData))
        #expect(px.keyword == "PixelData")
        #expect(px.allowedVRs.contains(.OB) && px.allowedVRs.contains(.OW))
        #expect(DataDictionary.entry(for: Tag(0x0008, 0x0060))?.vr == .CS)
        #expect(DataDictionary.tag(forKeyword: "StudyInstanceUID") == Tag(0x0020, 0x000D))
        #expect(DataDictionary.tag(forKeyword: "NoSuchKeyword") == nil)
        #expect(DataDictionary.count > 4500)
    }

    @Test func repeatingGroupsAndRanges() throws {
        let ov = try #require(DataDictionary.entry(for: Tag(0x6002, 0x3000)))
        #expect(ov.keyword == "OverlayData")
        #expect(ov.isRange)
        #expect(DataDictionary.entry(for: Tag(0x6002, 0x0010))?.keyword == "OverlayRows")
        #expect(DataDictionary.entry(for: Tag(0x6001, 0x3000)) == nil)  // odd group: private, not overlay
        let src = try #require(DataDictionary.entry(for: Tag(0x0020, 0x3105)))
        #expect(src.keyword == "SourceImageIDs")
        #expect(src.isRetired)
        #expect(DataDictionary.entry(for: Tag(0x0009, 0x0010))?.vr == .LO)  // private creator
        #expect(DataDictionary.entry(for: Tag(0x0009, 0x1001)) == nil)
        #expect(DataDictionary.entry(for: Tag(0x0028, 0x0000))?.vr == .UL)  // group length
        #expect(DataDictionary.implicitVR(for: Tag(0x0009, 0x1001)) == .UN)
    }

    @Test func uidTable() throws {
        let ct = try #require(UIDDictionary.entry(for: "1.2.840.10008.5.1.4.1.1.2"))
        #expect(ct.name == "CT Image Storage")
        #expect(ct.kind == "SOP Class")
        #expect(ct.isStorageSOPClass)
        let find = try #require(UIDDictionary.entry(for: "1.2.840.10008.5.1.4.1.2.2.1"))
        #expect(!find.isStorageSOPClass)
        #expect(find.kind == "SOP Class")
        #expect(UIDDictionary.entry(for: "1.2.840.10008.1.1")?.isStorageSOPClass == false)
        #expect(UIDDictionary.entry(for: "1.2.840.10008.1.20.1")?.isStorageSOPClass == false)  // commitment
        #expect(UIDDictionary.entry(for: "1.2.840.10008.1.2.1")?.kind == "Transfer Syntax")
        #expect(UIDDictionary.entry(for: "1.2.840.10008.1.2\0")?.name == "Implicit VR Little Endian")
        #expect(UIDDictionary.storageSOPClasses.count > 150)
        #expect(UIDDictionary.storageSOPClasses.contains { $0.uid == "1.2.840.10008.5.1.4.1.1.4" })  // MR
    }

    @Test func transferSyntaxes() {
        #expect(TransferSyntax(uid: "1.2.840.10008.1.2") == .implicitVRLittleEndian)
        #expect(!TransferSyntax.implicitVRLittleEndian.isExplicitVR)
        #expect(TransferSyntax(uid: "1.2.840.10008.1.2.2\0").isBigEndian)
        #expect(TransferSyntax(uid: "1.2.840.10008.1.2.1.99").isDeflated)
        #expect(TransferSyntax(uid: "1.2.840.10008.1.2.4.50").isEncapsulated)
        #expect(TransferSyntax.rleLossless.isEncapsulated)
        #expect(TransferSyntax.htj2k.isEncapsulated)
        let unknown = TransferSyntax(uid: "1.2.3.4")
        #expect(unknown.isExplicitVR && unknown.isEncapsulated && !unknown.isKnown)
        for t in TransferSyntax.known {
            #expect(UIDDictionary.entry(for: t.uid)?.kind == "Transfer Syntax", "\(t.uid)")
        }
    }

    @Test func tagAndVRBasics() {
        #expect(Tag(0x0010, 0x0010).description == "(0010,0010)")
        #expect(Tag(0x7FE0, 0x0010).description == "(7FE0,0010)")
        #expect(Tag(0x0008, 0x0018) < Tag(0x0010, 0x0000))
        #expect(Tag(0x0010_0020) == Tag(0x0010, 0x0020))
        for vr in VR.allCases {
            let (a, b) = vr.bytes
            #expect(VR(byte0: a, byte1: b) == vr)
        }
        let long: Set<VR> = [.OB, .OD, .OF, .OL, .OV, .OW, .SQ, .SV, .UC, .UN, .UR, .UT, .UV]
        for vr in VR.allCases { #expect(vr.hasLongExplicitLength == long.contains(vr)) }
        #expect(VR.allCases.count == 34)
    }
}

// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOMNetwork

@Suite("PDU codec (PS3.8 §9.3)")
struct PDUCodecTests {
    static let vectors: [(String, [UInt8], PDU)] = [
        ("A-ASSOCIATE-RQ", Fixtures.associateRQ, .associateRQ(Fixtures.associateRQValue)),
        ("A-ASSOCIATE-AC", Fixtures.associateAC, .associateAC(Fixtures.associateACValue)),
        ("A-ASSOCIATE-RJ", Fixtures.associateRJ, .associateRJ(.calledAETitleNotRecognized)),
        ("A-RELEASE-RQ", Fixtures.releaseRQ, .releaseRQ),
        ("A-RELEASE-RP", Fixtures.releaseRP, .releaseRP),
        ("A-ABORT", Fixtures.abort, .abort(AbortPDU(source: .serviceProvider, reason: .invalidPDUParameterValue))),
        (
            "P-DATA-TF", Fixtures.pData,
            .pData(
                PDataTF(pdvs: [
                    PDV(contextID: 1, isCommand: true, isLast: true, fragment: [0xAA, 0xBB, 0xCC]),
                    PDV(contextID: 3, isCommand: false, isLast: false, fragment: [1, 2, 3, 4]),
                ]))
        ),
    ]

    @Test("UL-01/UL-02 decode and encode byte-exact", arguments: vectors)
    func roundTrip(name: String, bytes: [UInt8], expected: PDU) throws {
        let header = try #require(PDUHeader.peek(bytes[...]))
        #expect(Int(header.length) == bytes.count - 6)
        #expect(header.pduType == expected.type)
        let decoded = try decodeWhole(bytes)
        #expect(decoded == expected)
        #expect(expected.encoded() == bytes)
    }

    @Test("UL-01 header peek needs 6 bytes, reads big-endian length")
    func headerPeek() {
        #expect(PDUHeader.peek(hex("04 00 00 00 01")[...]) == nil)
        #expect(PDUHeader.peek(hex("04 FF 01 02 03 04")[...]) == PDUHeader(type: 4, length: 0x0102_0304))
        #expect(PDUHeader(type: 4, length: 0x0102_0304).encoded() == hex("04 00 01 02 03 04"))
    }

    @Test("UL-06 AE titles trimmed on read, padded to 16 on write")
    func aeTitles() throws {
        var bytes = Fixtures.associateRQ
        // called AE "  QRSCP" with leading spaces at offset 6+4
        let called = ascii("  QRSCP") + [UInt8](repeating: 0x20, count: 9)
        bytes.replaceSubrange(10..<26, with: called)
        guard case .associateRQ(let rq) = try decodeWhole(bytes) else {
            Issue.record("not RQ")
            return
        }
        #expect(rq.calledAETitle == "QRSCP")
        #expect(Array(rq.encoded()[10..<26]) == ae16("QRSCP"))
    }

    @Test("UL-07 items in unusual order")
    func unusualOrder() throws {
        let bytes = pdu(
            0x01,
            Fixtures.fixedRQ + Fixtures.userInfoRQ + Fixtures.pc1 + Fixtures.appContextItem
                + Fixtures.pc3)
        #expect(try decodeWhole(bytes) == .associateRQ(Fixtures.associateRQValue))
        // sub-items in unusual order too
        let ui = item(
            0x50,
            Fixtures.userIdentity + Fixtures.versionName + Fixtures.roleSelection
                + Fixtures.commonExtNeg + Fixtures.implClass + Fixtures.extNeg + Fixtures.asyncWindow
                + Fixtures.maxLength)
        let bytes2 = pdu(0x01, Fixtures.fixedRQ + Fixtures.appContextItem + Fixtures.pc1 + Fixtures.pc3 + ui)
        #expect(try decodeWhole(bytes2) == .associateRQ(Fixtures.associateRQValue))
    }

    @Test("UL-08 UIDs padded with NUL or space are stripped")
    func paddedUIDs() throws {
        let pc = item(
            0x20,
            [0x01, 0, 0, 0]
                + item(0x30, ascii(UIDs.verification) + [0x00])
                + item(0x40, ascii(UIDs.implicitLE) + [0x20])
                + item(0x40, ascii(UIDs.explicitLE) + [0x00]))
        let ui = item(0x50, Fixtures.maxLength + item(0x52, ascii("1.2.3.4") + [0x00]))
        let bytes = pdu(0x01, Fixtures.fixedRQ + item(0x10, ascii(UIDs.appContext) + [0x00]) + pc + ui)
        guard case .associateRQ(let rq) = try decodeWhole(bytes) else {
            Issue.record("not RQ")
            return
        }
        #expect(rq.applicationContextName == UIDs.appContext)
        #expect(rq.presentationContexts[0].abstractSyntax == UIDs.verification)
        #expect(rq.presentationContexts[0].transferSyntaxes == [UIDs.implicitLE, UIDs.explicitLE])
        #expect(rq.userInformation.implementationClassUID == "1.2.3.4")
    }

    @Test("UL-09 unknown user-information sub-item is preserved, not fatal")
    func unknownSubItem() throws {
        let ui = item(0x50, Fixtures.maxLength + item(0x7E, hex("DE AD BE")) + Fixtures.implClass)
        let bytes = pdu(0x01, Fixtures.fixedRQ + Fixtures.appContextItem + Fixtures.pc1 + ui)
        guard case .associateRQ(let rq) = try decodeWhole(bytes) else {
            Issue.record("not RQ")
            return
        }
        #expect(rq.userInformation.maxPDULength == 16384)
        #expect(rq.userInformation.implementationClassUID == "1.2.3.4")
        #expect(rq.userInformation.unknownSubItems == [UnknownSubItem(type: 0x7E, value: hex("DE AD BE"))])
    }

    @Test("UL-03 non-zero reserved fields accepted")
    func reservedNonZero() throws {
        var fixed = Fixtures.fixedRQ
        fixed[2] = 0xFF
        fixed[3] = 0xFF  // reserved after protocol version
        for i in 36..<68 { fixed[i] = 0xEE }  // 32 reserved bytes
        let pc = item(
            0x20,
            [0x01, 0xAA, 0xBB, 0xCC] + item(0x30, ascii(UIDs.verification), reserved: 0x55)
                + item(0x40, ascii(UIDs.implicitLE), reserved: 0x66), reserved: 0x77)
        let ui = item(0x50, item(0x51, hex("00 00 40 00"), reserved: 0x12), reserved: 0x34)
        let bytes = pdu(0x01, fixed + item(0x10, ascii(UIDs.appContext), reserved: 0x99) + pc + ui, reserved: 0x42)
        guard case .associateRQ(let rq) = try decodeWhole(bytes) else {
            Issue.record("not RQ")
            return
        }
        #expect(
            rq.presentationContexts == [
                .init(
                    id: 1, abstractSyntax: UIDs.verification,
                    transferSyntaxes: [UIDs.implicitLE])
            ])
        #expect(rq.userInformation.maxPDULength == 16384)
        #expect(try decodeWhole(hex("05 FF 00 00 00 04 FF FF FF FF")) == .releaseRQ)
        #expect(
            try decodeWhole(hex("07 01 00 00 00 04 AB CD 00 03"))
                == .abort(AbortPDU(source: .serviceUser, reason: AbortReason(rawValue: 3))))
        #expect(try decodeWhole(hex("03 09 00 00 00 04 77 02 03 02")) == .associateRJ(.localLimitExceeded))
    }

    @Test("UL-10 21H for a rejected context without 40H tolerated on read")
    func rejectedWithoutTS() throws {
        let bytes = pdu(
            0x02,
            Fixtures.fixedRQ + Fixtures.appContextItem + item(0x21, [0x05, 0, 0x04, 0])
                + item(0x50, Fixtures.maxLength))
        guard case .associateAC(let ac) = try decodeWhole(bytes) else {
            Issue.record("not AC")
            return
        }
        #expect(ac.presentationContexts == [.init(id: 5, result: .transferSyntaxesNotSupported, transferSyntax: "")])
    }

    @Test("UL-17/UL-18 P-DATA zero-copy pieces and fragment slices of input")
    func pDataPieces() throws {
        let bytes = Fixtures.pData
        guard case .pData(let p) = try decodeWhole(bytes) else {
            Issue.record("not P-DATA")
            return
        }
        #expect(p.pdvs[0].fragment.startIndex == 12)  // slice of input, indices preserved
        let pieces = p.encodedPieces()
        #expect(pieces.count == 4)
        #expect(pieces.flatMap { Array($0) } == bytes)
        #expect(p.pdvs[0].messageControlHeader == 0x03)
        #expect(p.pdvs[1].messageControlHeader == 0x00)
    }

    @Test("A-ASSOCIATE-RJ Table 9-21 constants")
    func rejectConstants() {
        #expect(AssociateReject.applicationContextNotSupported.encoded() == hex("03 00 00 00 00 04 00 01 01 02"))
        #expect(AssociateReject.protocolVersionNotSupported.encoded() == hex("03 00 00 00 00 04 00 01 02 02"))
        #expect(AssociateReject.localLimitExceeded.encoded() == hex("03 00 00 00 00 04 00 02 03 02"))
        #expect(AssociateReject.callingAETitleNotRecognized.encoded() == hex("03 00 00 00 00 04 00 01 01 03"))
    }
}

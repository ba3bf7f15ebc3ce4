// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOMNetwork

@Suite("DIMSE command sets (PS3.7 §6.3, §9.3)")
struct CommandSetTests {
    /// C-ECHO-RQ, message ID 1, Implicit VR Little Endian, hand-built per PS3.7 §9.3.5.1.
    static let echoRQ: [UInt8] =
        hex("00 00 00 00 04 00 00 00 38 00 00 00")  // (0000,0000) UL 56
        + hex("00 00 02 00 12 00 00 00") + ascii("1.2.840.10008.1.1") + [0x00]  // (0000,0002) UI, NUL pad
        + hex("00 00 00 01 02 00 00 00 30 00")  // (0000,0100) US 0030H
        + hex("00 00 10 01 02 00 00 00 01 00")  // (0000,0110) US 1
        + hex("00 00 00 08 02 00 00 00 01 01")  // (0000,0800) US 0101H

    @Test("DM-01/DM-02 C-ECHO-RQ encodes byte-exact with computed group length")
    func echoRQBytes() throws {
        #expect(CommandSet.cEchoRQ(messageID: 1).encoded() == Self.echoRQ)
        let decoded = try CommandSet(decoding: Self.echoRQ[...])
        #expect(decoded == CommandSet.cEchoRQ(messageID: 1))
        #expect(decoded.commandField == .cEchoRQ)
        #expect(decoded.affectedSOPClassUID == "1.2.840.10008.1.1")
        #expect(decoded.hasDataSet == false)
    }

    @Test("DM-02 wrong group length and retired elements tolerated; other groups skipped")
    func tolerance() throws {
        var bytes = Self.echoRQ
        bytes[8] = 0xFF  // wrong group length
        bytes += hex("00 00 00 40 04 00 00 00 41 42 43 44")  // (0000,4000) retired, kept raw
        bytes += hex("08 00 52 00 06 00 00 00") + ascii("STUDY ")  // group 0008: skipped
        let c = try CommandSet(decoding: bytes[...])
        #expect(c.messageID == 1)
        #expect(c.elements[0x4000] == ascii("ABCD"))
        #expect(c.elements.count == 5)
        #expect(throws: CommandSetDecodingError.self) { try CommandSet(decoding: Self.echoRQ.dropLast()) }
        #expect(throws: CommandSetDecodingError.undefinedLength(element: 0x0002)) {
            try CommandSet(decoding: hex("00 00 02 00 FF FF FF FF")[...])
        }
    }

    @Test(
        "DM-05 data set present iff Command Data Set Type != 0101H",
        arguments: [
            (UInt16(0x0101), false), (0x0000, true), (0x0001, true), (0xFEFE, true),
        ])
    func dataSetType(value: UInt16, expected: Bool) {
        var c = CommandSet()
        c.commandDataSetType = value
        #expect(c.hasDataSet == expected)
    }

    @Test("DM-03/DM-04 message constructors and typed accessors round-trip")
    func constructors() throws {
        let messages: [CommandSet] = [
            .cEchoRSP(respondingTo: 7),
            .cFindRQ(messageID: 2, affectedSOPClassUID: UIDs.studyRootFind, priority: .high),
            .cFindRSP(respondingTo: 2, affectedSOPClassUID: UIDs.studyRootFind, status: .pending, hasIdentifier: true),
            .cGetRQ(messageID: 3, affectedSOPClassUID: UIDs.studyRootGet),
            .cGetRSP(
                respondingTo: 3, affectedSOPClassUID: UIDs.studyRootGet, status: .pending,
                subOperations: .init(remaining: 5, completed: 1, failed: 0, warning: 0)),
            .cMoveRQ(messageID: 4, affectedSOPClassUID: UIDs.studyRootMove, moveDestination: "DEST"),
            .cMoveRSP(
                respondingTo: 4, affectedSOPClassUID: UIDs.studyRootMove, status: .warning,
                subOperations: .init(completed: 3, failed: 1, warning: 0), hasIdentifier: true),
            .cStoreRQ(
                messageID: 5, affectedSOPClassUID: UIDs.ctImage, affectedSOPInstanceUID: "1.2.3.4.5",
                moveOriginatorAETitle: "MOVESCU", moveOriginatorMessageID: 4),
            .cStoreRSP(
                respondingTo: 5, affectedSOPClassUID: UIDs.ctImage, affectedSOPInstanceUID: "1.2.3.4.5",
                status: .success),
            .cCancelRQ(respondingTo: 2),
        ]
        for m in messages {
            let bytes = m.encoded()
            #expect(bytes.count % 2 == 0)
            let groupLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            #expect(groupLength == bytes.count - 12)
            #expect(try CommandSet(decoding: bytes[...]) == m)
        }
        let move = messages[5]
        #expect(move.moveDestination == "DEST")
        #expect(move.encoded().contains(subsequence: ascii("DEST")))
        #expect(move.priority == .medium)
        let store = try CommandSet(decoding: messages[7].encoded()[...])
        #expect(store.moveOriginatorAETitle == "MOVESCU")
        #expect(store.moveOriginatorMessageID == 4)
        #expect(store.affectedSOPInstanceUID == "1.2.3.4.5")
        #expect(messages[6].subOperations == SubOperationCounts(completed: 3, failed: 1, warning: 0))
        #expect(messages[6].remainingSubOperations == nil)
        #expect(messages[9].commandField == .cCancelRQ)
        #expect(messages[9].messageIDBeingRespondedTo == 2)
        #expect(messages[2].hasDataSet && !messages[0].hasDataSet)
    }

    @Test("DM-08 error comment (LO, space pad) and offending element (AT)")
    func errorFields() throws {
        var c = CommandSet.cFindRSP(
            respondingTo: 1, affectedSOPClassUID: UIDs.studyRootFind,
            status: .identifierDoesNotMatchSOPClass, hasIdentifier: false)
        c.errorComment = "bad level"
        c.offendingElements = [0x0008_0052]
        let bytes = c.encoded()
        #expect(bytes.contains(subsequence: hex("00 00 01 09 04 00 00 00 08 00 52 00")))
        #expect(bytes.contains(subsequence: hex("00 00 02 09 0A 00 00 00") + ascii("bad level ")))
        let d = try CommandSet(decoding: bytes[...])
        #expect(d.errorComment == "bad level")
        #expect(d.offendingElements == [0x0008_0052])
    }

    @Test(
        "B1 status classification",
        arguments: [
            (UInt16(0x0000), "success"), (0xFF00, "pending"), (0xFF01, "pending"), (0xFE00, "cancel"),
            (0xB000, "warning"), (0xB007, "warning"), (0x0001, "warning"), (0xA700, "failure"), (0xA801, "failure"),
            (0xC000, "failure"), (0xC123, "failure"), (0x0122, "failure"), (0x0211, "failure"), (0x0124, "failure"),
        ])
    func statusClass(raw: UInt16, cls: String) {
        let s = DIMSEStatus(raw)
        let got = [
            s.isSuccess ? "success" : nil, s.isPending ? "pending" : nil, s.isCancel ? "cancel" : nil,
            s.isWarning ? "warning" : nil, s.isFailure ? "failure" : nil,
        ].compactMap { $0 }
        #expect(got == [cls])
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence s: [UInt8]) -> Bool {
        guard s.count <= count else { return false }
        return (0...(count - s.count)).contains { Array(self[$0..<$0 + s.count]) == s }
    }
}

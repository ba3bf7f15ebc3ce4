// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMNetwork
import Testing

@testable import QRServer

/// The final C-GET/C-MOVE response with its Failed SOP Instance UID List goes out as one
/// P-DATA-TF PDU holding the command PDV then the identifier PDV (what lets DCMTK's getscu,
/// which does not read that identifier, release cleanly).
@Suite("Final retrieve response framing")
struct FinalResponseFramingTests {
    static let getModel = "1.2.840.10008.5.1.4.1.2.2.3"

    static func parts() throws -> (CommandSet, [UInt8]) {
        let command = CommandSet.cGetRSP(
            respondingTo: 7, affectedSOPClassUID: getModel, status: .warning,
            subOperations: SubOperationCounts(completed: 3, failed: 2, warning: 0),
            hasIdentifier: true)
        var identifier = DataSet()
        identifier.set(Tag(0x0008, 0x0058), vr: .UI, strings: ["1.2.3.4", "1.2.3.5"])
        return (command, try DataSetWriter.write(identifier, transferSyntax: .implicitVRLittleEndian))
    }

    @Test("command and identifier in one PDU, command first, both last fragments")
    func onePDU() throws {
        let (command, identifier) = try Self.parts()
        let bytes = try #require(
            FinalResponseFraming.singlePDU(
                contextID: 5, command: command, identifier: identifier,
                peerMaxPDULength: 16384))
        let length = Int(bytes[2]) << 24 | Int(bytes[3]) << 16 | Int(bytes[4]) << 8 | Int(bytes[5])
        #expect(length == bytes.count - 6)
        guard case .pData(let pData) = try PDU.decode(type: bytes[0], body: bytes[6...]) else {
            Issue.record("not a P-DATA-TF")
            return
        }
        #expect(pData.pdvs.count == 2)
        #expect(pData.pdvs.map(\.isCommand) == [true, false])
        #expect(pData.pdvs.allSatisfy { $0.isLast && $0.contextID == 5 })
        #expect(Array(pData.pdvs[0].fragment) == command.encoded())
        #expect(Array(pData.pdvs[1].fragment) == identifier)
    }

    @Test("nil when the two do not fit in the peer's Maximum Length (sent a PDU each then)")
    func tooLong() throws {
        let (command, identifier) = try Self.parts()
        let needed = command.encoded().count + identifier.count + 12
        #expect(
            FinalResponseFraming.singlePDU(
                contextID: 5, command: command, identifier: identifier,
                peerMaxPDULength: UInt32(needed)) != nil)
        #expect(
            FinalResponseFraming.singlePDU(
                contextID: 5, command: command, identifier: identifier,
                peerMaxPDULength: UInt32(needed - 1)) == nil)
    }
}

// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOMNetwork

@Suite("Contiguous DIMSE framing (C-FIND pages)")
struct ContiguousFramingTests {
    static let response = CommandSet.cFindRSP(
        respondingTo: 7, affectedSOPClassUID: UIDs.studyRootFind,
        status: .pending, hasIdentifier: true)

    @Test(
        "append gives the bytes of pieces, for every size around the fragment cap",
        arguments: [UInt32(0), 7, 8, 13, 64, 100, 101, 102, 255, 16384])
    func appendEqualsPieces(max: UInt32) {
        let command = Self.response.encoded()
        for size in [0, 1, 2, 93, 94, 95, 96, 188, 189, 190, 1001] {
            let ds = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            var out: [UInt8] = [0xAA]  // appends after what is already there
            DIMSEFragmenter.append(
                contextID: 3, command: command[...], dataSet: ds[...], peerMaxPDULength: max,
                into: &out)
            let reference = DIMSEFragmenter.pieces(
                contextID: 3, command: command[...], dataSet: [ds[...]],
                peerMaxPDULength: max
            ).flatMap { Array($0) }
            #expect(out == [0xAA] + reference, "max \(max), data set \(size) bytes")
        }
        var commandOnly: [UInt8] = []
        DIMSEFragmenter.append(
            contextID: 3, command: command[...], dataSet: nil, peerMaxPDULength: max, into: &commandOnly)
        #expect(
            commandOnly
                == DIMSEFragmenter.pieces(
                    contextID: 3, command: command[...], dataSet: nil,
                    peerMaxPDULength: max
                ).flatMap { Array($0) })
    }

    @Test(
        "commandPDUs gives the bytes of pieces for a command alone, for every size around the cap",
        arguments: [UInt32(0), 1, 7, 8, 13, 64, 100, 101, 102, 255, 16384])
    func commandPDUsEqualPieces(max: UInt32) {
        let store = CommandSet.cStoreRQ(
            messageID: 5, affectedSOPClassUID: UIDs.ctImage,
            affectedSOPInstanceUID: "1.2.3.4.5", moveOriginatorAETitle: "MOVESCU",
            moveOriginatorMessageID: 4)
        for command in [Self.response, store, CommandSet()] {
            let bytes = DIMSEFragmenter.commandPDUs(contextID: 5, command: command, peerMaxPDULength: max)
            let reference = DIMSEFragmenter.pieces(
                contextID: 5, command: command.encoded()[...], dataSet: nil,
                peerMaxPDULength: max
            ).flatMap { Array($0) }
            #expect(bytes == reference, "max \(max), command of \(command.encodedLength) bytes")
            #expect(bytes.capacity >= bytes.count)
        }
    }

    @Test("a page of appended messages reassembles into the same messages")
    func pageRoundTrip() throws {
        let command = Self.response.encoded()
        var page: [UInt8] = []
        let identifiers: [[UInt8]] = (0..<5).map { n in (0..<(40 + n * 30)).map { UInt8(truncatingIfNeeded: $0 + n) } }
        for id in identifiers {
            DIMSEFragmenter.append(
                contextID: 1, command: command[...], dataSet: id[...], peerMaxPDULength: 64,
                into: &page)
        }
        var buffer = page[...]
        var assembler = DIMSEAssembler(acceptedContextIDs: [1])
        let decoder = PDUStreamDecoder(maxPDataLength: 64, pDataTolerance: 0)
        var messages: [DIMSEMessage] = []
        while !buffer.isEmpty {
            guard case .pdu(.pData(let p), let consumed) = decoder.decode(buffer) else {
                Issue.record("not a valid P-DATA stream")
                return
            }
            #expect(p.pduLength <= 64)
            for o in try assembler.append(p) { if case .message(let m) = o { messages.append(m) } }
            buffer = buffer.dropFirst(consumed)
        }
        #expect(messages.count == identifiers.count)
        #expect(messages.allSatisfy { $0.command == Self.response })
        #expect(messages.map { $0.dataSet?.flatMap { Array($0) } ?? [] } == identifiers)
    }
}

// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Testing

@testable import QRServer

/// The per-page framing of pending C-FIND responses: the command set encoded once per
/// page must decode equal to the one built per response, with FF01 when asked.
@Suite struct PendingResponseFramingTests {
    private func messages(_ pdus: [UInt8], max: UInt32) throws -> [DIMSEMessage] {
        var buffer = pdus[...]
        var assembler = DIMSEAssembler(acceptedContextIDs: [3])
        let decoder = PDUStreamDecoder(maxPDataLength: max, pDataTolerance: 0)
        var out: [DIMSEMessage] = []
        while !buffer.isEmpty {
            guard case .pdu(.pData(let p), let consumed) = decoder.decode(buffer) else {
                Issue.record("not a valid P-DATA stream")
                return out
            }
            #expect(p.pduLength <= Int(max))
            for o in try assembler.append(p) { if case .message(let m) = o { out.append(m) } }
            buffer = buffer.dropFirst(consumed)
        }
        return out
    }

    @Test(arguments: [(false, false), (false, true), (true, false)])
    func framedPageDecodesToOneResponsePerMatch(earlierWarning: Bool, pageWarning: Bool) throws {
        let identifiers: [[UInt8]] = (0..<3).map { n in
            (0..<(10 + 40 * n)).map { UInt8(truncatingIfNeeded: $0 &* 3 + n) }
        }
        var page = EncodedFindPage(next: ResumeToken(9), hasUnsupportedOptionalKeys: pageWarning)
        for id in identifiers {
            page.bytes += id
            page.ends.append(page.bytes.count)
        }
        let framing = PendingResponseFraming(
            contextID: 3, messageID: 41, sopClassUID: UIDs.studyRootFind,
            warnUnsupportedKeys: earlierWarning, peerMaxPDULength: 48)
        let framed = framing.frame(page)
        #expect(framed.count == 3)
        #expect(framed.next == ResumeToken(9))
        #expect(framed.hasUnsupportedOptionalKeys == pageWarning)
        let decoded = try messages(framed.pdus, max: 48)
        let status: DIMSEStatus = earlierWarning || pageWarning ? .pendingWithWarning : .pending
        let expected = CommandSet.cFindRSP(
            respondingTo: 41, affectedSOPClassUID: UIDs.studyRootFind, status: status,
            hasIdentifier: true)
        #expect(decoded.map(\.command) == [expected, expected, expected])
        #expect(decoded.map { $0.dataSet?.flatMap { Array($0) } ?? [] } == identifiers)
    }
}

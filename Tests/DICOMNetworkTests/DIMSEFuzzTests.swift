// SPDX-License-Identifier: Apache-2.0
import TestSupport
import Testing

@testable import DICOMNetwork

@Suite("DIMSE robustness")
struct DIMSEFuzzTests {
    @Test("seeded random command bytes and PDV sequences never trap (20,000 iterations)")
    func fuzz() {
        var rng = SplitMix64(seed: 0xD1C0_0002)
        let valid = CommandSet.cFindRQ(messageID: 1, affectedSOPClassUID: UIDs.studyRootFind).encoded()
        var messages = 0
        var a = DIMSEAssembler(acceptedContextIDs: [1, 3], maxCommandLength: 4096)
        for i in 0..<20_000 {
            var bytes = valid
            if i % 2 == 0 {
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            } else {
                bytes = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            _ = try? CommandSet(decoding: bytes[...])
            let pdv = PDV(
                contextID: UInt8.random(in: 0...4, using: &rng), isCommand: Bool.random(using: &rng),
                isLast: Bool.random(using: &rng), fragment: bytes[...])
            do {
                if case .message? = try a.append(pdv) { messages += 1 }
            } catch {
                a = DIMSEAssembler(acceptedContextIDs: [1, 3], maxCommandLength: 4096)  // association aborted
            }
        }
        #expect(messages > 0)
    }

    @Test("UL-18 message control header: reserved bits set on input are ignored")
    func controlHeaderReservedBits() throws {
        let bytes = hex("04 00 00 00 00 08 00 00 00 04 01 FF AA BB")
        guard case .pData(let p) = try decodeWhole(bytes) else {
            Issue.record("not P-DATA")
            return
        }
        #expect(p.pdvs == [PDV(contextID: 1, isCommand: true, isLast: true, fragment: [0xAA, 0xBB])])
    }
}

// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOMNetwork

@Suite("DIMSE assembly and fragmentation (PS3.8 Annex E)")
struct DIMSEAssemblyTests {
    static let find = CommandSet.cFindRQ(messageID: 9, affectedSOPClassUID: UIDs.studyRootFind)
    static let dataSet: [UInt8] = (0..<1001).map { UInt8(truncatingIfNeeded: $0 &* 7) }

    @Test("UL-19 reassembly across many PDUs and byte-sized fragments")
    func byteSizedFragments() throws {
        var a = DIMSEAssembler(acceptedContextIDs: [1, 3])
        let cmd = Self.find.encoded()
        var outputs: [DIMSEAssemblerOutput] = []
        for (i, b) in cmd.enumerated() {
            if let o = try a.append(PDV(contextID: 1, isCommand: true, isLast: i == cmd.count - 1, fragment: [b])) {
                outputs.append(o)
            }
        }
        #expect(outputs.isEmpty)
        for (i, b) in Self.dataSet.enumerated() {
            if let o = try a.append(
                PDV(
                    contextID: 1, isCommand: false, isLast: i == Self.dataSet.count - 1,
                    fragment: [b]))
            {
                outputs.append(o)
            }
            if i == 499 { #expect(a.accumulatedDataSetLength(contextID: 1) == 500) }
        }
        #expect(outputs.count == 1)
        guard case .message(let m) = outputs[0] else {
            Issue.record("no message")
            return
        }
        #expect(m.contextID == 1)
        #expect(m.command == Self.find)
        #expect(m.dataSet?.count == Self.dataSet.count)  // fragments, not concatenated
        #expect(m.dataSet?.flatMap { Array($0) } == Self.dataSet)
        #expect(a.isIdle)
    }

    @Test("UL-19 messages on two contexts interleaved")
    func interleaved() throws {
        var a = DIMSEAssembler(acceptedContextIDs: [1, 3])
        let echo = CommandSet.cEchoRQ(messageID: 1).encoded()
        let find = Self.find.encoded()
        #expect(try a.append(PDV(contextID: 3, isCommand: true, isLast: false, fragment: find.prefix(10))) == nil)
        #expect(try a.append(PDV(contextID: 1, isCommand: true, isLast: false, fragment: echo.prefix(5))) == nil)
        #expect(try a.append(PDV(contextID: 3, isCommand: true, isLast: true, fragment: find.dropFirst(10))) == nil)
        let o = try a.append(PDV(contextID: 1, isCommand: true, isLast: true, fragment: echo.dropFirst(5)))
        #expect(o == .message(DIMSEMessage(contextID: 1, command: .cEchoRQ(messageID: 1), dataSet: nil)))
        let d = try a.append(PDV(contextID: 3, isCommand: false, isLast: true, fragment: [1, 2]))
        #expect(d == .message(DIMSEMessage(contextID: 3, command: Self.find, dataSet: [[1, 2]])))
    }

    @Test("UL-20 protocol errors map to A-ABORT reasons")
    func errors() throws {
        var a = DIMSEAssembler(acceptedContextIDs: [1], maxCommandLength: 100)
        #expect(throws: DIMSEAssemblyError.unacceptedContext(3)) {
            try a.append(PDV(contextID: 3, isCommand: true, isLast: true, fragment: []))
        }
        #expect(throws: DIMSEAssemblyError.dataSetWithoutCommand(contextID: 1)) {
            try a.append(PDV(contextID: 1, isCommand: false, isLast: true, fragment: [0]))
        }
        #expect(DIMSEAssemblyError.unacceptedContext(3).abortReason == .invalidPDUParameterValue)
        #expect(DIMSEAssemblyError.dataSetWithoutCommand(contextID: 1).abortReason == .unexpectedPDU)
        let big = [UInt8](repeating: 0, count: 60)
        _ = try a.append(PDV(contextID: 1, isCommand: true, isLast: false, fragment: big[...]))
        #expect(throws: DIMSEAssemblyError.commandTooLarge(contextID: 1, size: 120, limit: 100)) {
            try a.append(PDV(contextID: 1, isCommand: true, isLast: false, fragment: big[...]))
        }
        var single = DIMSEAssembler(acceptedContextIDs: [1], maxCommandLength: 100)
        let bigCommand = CommandSet.cStoreRQ(
            messageID: 1, affectedSOPClassUID: UIDs.ctImage,
            affectedSOPInstanceUID: String(repeating: "1.", count: 40) + "1"
        ).encoded()
        #expect(throws: DIMSEAssemblyError.commandTooLarge(contextID: 1, size: bigCommand.count, limit: 100)) {
            try single.append(PDV(contextID: 1, isCommand: true, isLast: true, fragment: bigCommand[...]))
        }
        let echo = CommandSet.cEchoRQ(messageID: 4)
        #expect(
            try single.append(PDV(contextID: 1, isCommand: true, isLast: true, fragment: echo.encoded()[...]))
                == .message(DIMSEMessage(contextID: 1, command: echo)))
        #expect(single.isIdle)
        var b = DIMSEAssembler(acceptedContextIDs: [1])
        #expect(throws: DIMSEAssemblyError.self) {
            try b.append(PDV(contextID: 1, isCommand: true, isLast: true, fragment: [0, 0, 1]))
        }
        var c = DIMSEAssembler(acceptedContextIDs: [1])
        _ = try c.append(PDV(contextID: 1, isCommand: true, isLast: true, fragment: Self.find.encoded()[...]))
        #expect(throws: DIMSEAssemblyError.commandDuringDataSet(contextID: 1)) {
            try c.append(PDV(contextID: 1, isCommand: true, isLast: true, fragment: []))
        }
    }

    @Test("incremental data set delivery for streaming")
    func incremental() throws {
        var a = DIMSEAssembler(acceptedContextIDs: [1], deliverDataSetIncrementally: true)
        let store = CommandSet.cStoreRQ(messageID: 1, affectedSOPClassUID: UIDs.ctImage, affectedSOPInstanceUID: "1.2")
        #expect(
            try a.append(PDV(contextID: 1, isCommand: true, isLast: true, fragment: store.encoded()[...]))
                == .command(contextID: 1, store))
        #expect(
            try a.append(PDV(contextID: 1, isCommand: false, isLast: false, fragment: [1, 2, 3]))
                == .dataSetFragment(contextID: 1, fragment: [1, 2, 3], isLast: false))
        #expect(a.accumulatedDataSetLength(contextID: 1) == 3)
        #expect(
            try a.append(PDV(contextID: 1, isCommand: false, isLast: true, fragment: [4]))
                == .dataSetFragment(contextID: 1, fragment: [4], isLast: true))
        #expect(a.isIdle)
        // a message without data set still arrives whole
        #expect(
            try a.append(
                PDV(
                    contextID: 1, isCommand: true, isLast: true,
                    fragment: CommandSet.cEchoRQ(messageID: 2).encoded()[...]))
                == .message(DIMSEMessage(contextID: 1, command: .cEchoRQ(messageID: 2))))
    }

    /// Splits the flat writev pieces back into PDUs through the stream decoder.
    private func decodePieces(_ pieces: [ArraySlice<UInt8>], max: UInt32) throws -> [PDataTF] {
        var buffer = pieces.flatMap { Array($0) }[...]
        var out: [PDataTF] = []
        let decoder = PDUStreamDecoder(maxPDataLength: max, pDataTolerance: 0)
        while !buffer.isEmpty {
            guard case .pdu(.pData(let p), let consumed) = decoder.decode(buffer) else {
                Issue.record("not a valid P-DATA stream")
                return out
            }
            out.append(p)
            buffer = buffer.dropFirst(consumed)
        }
        return out
    }

    @Test(
        "UL-12 fragmenter never exceeds the peer max and round-trips",
        arguments: [
            UInt32(0), 7, 8, 13, 64, 255,
            1000, 16383, 16384,
        ])
    func fragmenterLimits(max: UInt32) throws {
        let command = Self.find.encoded()
        let ds: [ArraySlice<UInt8>] = [Self.dataSet[0..<300], Self.dataSet[300..<301], Self.dataSet[301...]]
        for pdus in [
            DIMSEFragmenter.pData(contextID: 5, command: command[...], dataSet: ds, peerMaxPDULength: max),
            try decodePieces(
                DIMSEFragmenter.pieces(
                    contextID: 5, command: command[...], dataSet: ds,
                    peerMaxPDULength: max), max: max),
        ] {
            let limit = max == 0 ? DIMSEFragmenter.unlimitedCap : max
            var a = DIMSEAssembler(acceptedContextIDs: [5])
            var messages: [DIMSEMessage] = []
            for p in pdus {
                #expect(p.pduLength <= Int(limit))
                #expect(p.encoded().count - 6 == p.pduLength)
                for o in try a.append(p) { if case .message(let m) = o { messages.append(m) } }
            }
            #expect(messages.count == 1)
            #expect(messages.first?.command == Self.find)
            #expect(messages.first?.dataSet?.flatMap { Array($0) } == Self.dataSet)
        }
    }

    @Test("UL-12 pieces pack full PDUs across slices")
    func piecesPacking() throws {
        let ds: [ArraySlice<UInt8>] = [Self.dataSet[0..<10], Self.dataSet[10..<20]]
        let pieces = DIMSEFragmenter.pieces(contextID: 1, command: [1, 2][...], dataSet: ds, peerMaxPDULength: 21)
        // command PDU: header(12) + [1,2]; data PDU 1: header + 10 + 5; data PDU 2: header + 5
        #expect(pieces.map(\.count) == [12, 2, 12, 10, 5, 12, 5])
        #expect(Array(pieces[0]) == hex("04 00 00 00 00 08 00 00 00 04 01 03"))
        #expect(Array(pieces[2]) == hex("04 00 00 00 00 15 00 00 00 11 01 00"))
        #expect(Array(pieces[5]) == hex("04 00 00 00 00 0B 00 00 00 07 01 02"))
    }

    @Test(
        "a data set streamed in stretches reassembles into one message; only the last PDV ends it",
        arguments: [UInt32(0), 64, 1000])
    func streamedStretches(max: UInt32) throws {
        let command = Self.find.encoded()
        let data = Self.dataSet
        let cut = data.count / 3
        var pieces = DIMSEFragmenter.pieces(contextID: 5, command: command[...], dataSet: nil, peerMaxPDULength: max)
        pieces += DIMSEFragmenter.dataSetPieces(contextID: 5, [data[..<cut]], isLast: false, peerMaxPDULength: max)
        let middle = try decodePieces(
            DIMSEFragmenter.dataSetPieces(
                contextID: 5, [data[cut..<(2 * cut)]], isLast: false,
                peerMaxPDULength: max), max: max)
        #expect(middle.allSatisfy { !$0.pdvs[0].isLast && !$0.pdvs[0].isCommand })
        pieces += DIMSEFragmenter.dataSetPieces(
            contextID: 5, [data[cut..<(2 * cut)]], isLast: false, peerMaxPDULength: max)
        pieces += DIMSEFragmenter.dataSetPieces(contextID: 5, [data[(2 * cut)...]], isLast: true, peerMaxPDULength: max)
        var a = DIMSEAssembler(acceptedContextIDs: [5])
        var messages: [DIMSEMessage] = []
        for p in try decodePieces(pieces, max: max) {
            for o in try a.append(p) { if case .message(let m) = o { messages.append(m) } }
        }
        #expect(messages.count == 1)
        #expect(messages.first?.command == Self.find)
        #expect(messages.first?.dataSet?.flatMap { Array($0) } == data)
    }

    @Test("fragmenter payload slices share storage with the input (no copy)")
    func zeroCopy() {
        let data = Self.dataSet
        let pieces = DIMSEFragmenter.pieces(
            contextID: 1, command: [0, 0][...], dataSet: [data[...]],
            peerMaxPDULength: 256)
        let pdus = DIMSEFragmenter.pData(
            contextID: 1, command: [0, 0][...], dataSet: [data[...]],
            peerMaxPDULength: 256)
        data.withUnsafeBufferPointer { base in
            let lo = UInt(bitPattern: base.baseAddress!)
            let hi = lo + UInt(base.count)
            let payloadPieces = pieces.filter { $0.count > 12 || $0.count == data.count % 250 }
            #expect(!payloadPieces.isEmpty)
            for p in payloadPieces {
                p.withUnsafeBufferPointer { #expect((lo..<hi).contains(UInt(bitPattern: $0.baseAddress!))) }
            }
            for p in pdus.dropFirst() {
                p.pdvs[0].fragment.withUnsafeBufferPointer {
                    #expect((lo..<hi).contains(UInt(bitPattern: $0.baseAddress!)))
                }
            }
        }
    }
}

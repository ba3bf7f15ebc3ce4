// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOMNetwork

/// The rule for which data sets stream, and the bound on those that are accumulated (the
/// upper-layer driver's: C-STORE-RQ streams, everything else arrives whole, up to a limit).
@Suite("DIMSE assembly: which data sets stream, and the accumulation limit")
struct DataSetStreamingTests {
    static let store = CommandSet.cStoreRQ(
        messageID: 1, affectedSOPClassUID: UIDs.ctImage, affectedSOPInstanceUID: "1.2")
    static let find = CommandSet.cFindRQ(messageID: 2, affectedSOPClassUID: UIDs.studyRootFind)

    static func assembler(limit: Int? = 10) -> DIMSEAssembler {
        DIMSEAssembler(
            acceptedContextIDs: [1, 3], streaming: .commands([.cStoreRQ]), maxAccumulatedDataSetLength: limit)
    }

    @Test("a C-STORE-RQ data set streams while a C-FIND identifier on another context accumulates")
    func rule() throws {
        var a = Self.assembler()
        #expect(
            try a.append(PDV(contextID: 1, isCommand: true, isLast: true, fragment: Self.store.encoded()[...]))
                == .command(contextID: 1, Self.store))
        #expect(
            try a.append(PDV(contextID: 3, isCommand: true, isLast: true, fragment: Self.find.encoded()[...])) == nil)
        #expect(a.isAccumulatingDataSet)
        #expect(
            try a.append(PDV(contextID: 1, isCommand: false, isLast: false, fragment: [1, 2]))
                == .dataSetFragment(contextID: 1, fragment: [1, 2], isLast: false))
        #expect(try a.append(PDV(contextID: 3, isCommand: false, isLast: false, fragment: [9, 8, 7])) == nil)
        // Streamed bytes do not count against the accumulation limit.
        #expect(
            try a.append(
                PDV(contextID: 1, isCommand: false, isLast: true, fragment: [UInt8](repeating: 0, count: 50)[...]))
                == .dataSetFragment(contextID: 1, fragment: [UInt8](repeating: 0, count: 50)[...], isLast: true))
        #expect(
            try a.append(PDV(contextID: 3, isCommand: false, isLast: true, fragment: [6]))
                == .message(DIMSEMessage(contextID: 3, command: Self.find, dataSet: [[9, 8, 7], [6]])))
        #expect(!a.isAccumulatingDataSet)
        #expect(a.isIdle)
    }

    @Test("an accumulated data set one byte over the limit throws; at the limit it is delivered")
    func limit() throws {
        var a = Self.assembler()
        _ = try a.append(PDV(contextID: 3, isCommand: true, isLast: true, fragment: Self.find.encoded()[...]))
        #expect(
            try a.append(
                PDV(contextID: 3, isCommand: false, isLast: false, fragment: [UInt8](repeating: 1, count: 6)[...]))
                == nil)
        #expect(throws: DIMSEAssemblyError.dataSetTooLarge(contextID: 3, commandField: 0x0020, size: 11, limit: 10)) {
            try a.append(
                PDV(contextID: 3, isCommand: false, isLast: true, fragment: [UInt8](repeating: 1, count: 5)[...]))
        }
        #expect(
            DIMSEAssemblyError.dataSetTooLarge(contextID: 3, commandField: 0x0020, size: 11, limit: 10).abortReason
                == .notSpecified)

        var b = Self.assembler()
        _ = try b.append(PDV(contextID: 3, isCommand: true, isLast: true, fragment: Self.find.encoded()[...]))
        let output = try b.append(
            PDV(contextID: 3, isCommand: false, isLast: true, fragment: [UInt8](repeating: 1, count: 10)[...]))
        #expect(
            output
                == .message(
                    DIMSEMessage(contextID: 3, command: Self.find, dataSet: [[UInt8](repeating: 1, count: 10)[...]])))
    }

    @Test("the Boolean form maps onto the rule")
    func booleanForm() {
        var a = DIMSEAssembler(acceptedContextIDs: [1], deliverDataSetIncrementally: true)
        #expect(a.streaming == .always)
        a.deliverDataSetIncrementally = false
        #expect(a.streaming == .never)
        #expect(a.maxAccumulatedDataSetLength == nil)
    }
}

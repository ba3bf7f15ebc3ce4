// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOMNetwork

@Suite("Data set framing for payloads sent from files")
struct FileFramingTests {
    @Test(
        "headers interleaved with the payload ranges give the bytes of dataSetPieces",
        arguments: [UInt32(0), 7, 8, 13, 64, 100, 16384])
    func framesEqualPieces(max: UInt32) {
        for size in [0, 1, 2, 93, 94, 95, 96, 188, 189, 190, 1001, 20000] {
            let stretch = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            for isLast in [false, true] {
                let frames = DIMSEFragmenter.dataSetFrames(
                    contextID: 5, length: size, isLast: isLast,
                    peerMaxPDULength: max)
                let framed = frames.flatMap { $0.header + stretch[$0.payload] }
                let reference = DIMSEFragmenter.dataSetPieces(
                    contextID: 5, [stretch[...]], isLast: isLast,
                    peerMaxPDULength: max
                ).flatMap { Array($0) }
                #expect(framed == reference, "max \(max), stretch \(size) bytes, last \(isLast)")
                #expect(frames.allSatisfy { $0.header.count == 12 })
            }
        }
    }

    @Test("consecutive stretches give the bytes of the whole data set framed at once")
    func stretchesEqualWhole() {
        let max: UInt32 = 106  // fragments of 100 bytes
        let dataSet = (0..<1050).map { UInt8(truncatingIfNeeded: $0) }
        var framed: [UInt8] = []
        var start = 0
        for length in [300, 500, 250] {
            let end = start + length
            for frame in DIMSEFragmenter.dataSetFrames(
                contextID: 1, length: length, isLast: end == dataSet.count,
                peerMaxPDULength: max)
            {
                framed +=
                    frame.header + dataSet[(start + frame.payload.lowerBound)..<(start + frame.payload.upperBound)]
            }
            start = end
        }
        let reference = DIMSEFragmenter.dataSetPieces(
            contextID: 1, [dataSet[...]], isLast: true,
            peerMaxPDULength: max
        ).flatMap { Array($0) }
        #expect(framed == reference)
    }

    @Test(
        "headers written into memory are the frames' headers, one after the other",
        arguments: [UInt32(0), 7, 13, 100, 16384])
    func writtenHeadersEqualFrameHeaders(max: UInt32) {
        for size in [0, 1, 93, 94, 189, 1001, 20000, 100_000] {
            for isLast in [false, true] {
                let frames = DIMSEFragmenter.dataSetFrames(
                    contextID: 9, length: size, isLast: isLast,
                    peerMaxPDULength: max)
                let count = DIMSEFragmenter.dataSetFrameCount(length: size, peerMaxPDULength: max)
                #expect(count == frames.count, "max \(max), stretch \(size) bytes")
                var written = [UInt8](repeating: 0xAA, count: count * DIMSEFragmenter.frameHeaderLength + 3)
                let reported = written.withUnsafeMutableBytes {
                    DIMSEFragmenter.writeDataSetFrameHeaders(
                        contextID: 9, length: size, isLast: isLast,
                        peerMaxPDULength: max, into: $0)
                }
                #expect(reported == count)
                #expect(
                    Array(written.dropLast(3)) == frames.flatMap(\.header),
                    "max \(max), stretch \(size), last \(isLast)")
                #expect(written.suffix(3).allSatisfy { $0 == 0xAA }, "nothing written past the headers")
            }
        }
    }
}

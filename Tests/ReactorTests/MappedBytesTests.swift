// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Dispatch
import Testing
@testable import Reactor

#if canImport(Glibc)
import Glibc
#endif

@Suite struct MappedBytesTests {
    /// `range` of `file` as PDU-like pairs: a 12-byte header slice, then `chunk` mapped bytes.
    private func pdus(_ mapping: FileMapping, _ range: Range<Int>, chunk: Int, seed: UInt64) -> [OutputPiece] {
        var pieces: [OutputPiece] = []
        var offset = range.lowerBound
        var index: UInt64 = 0
        while offset < range.upperBound {
            let header = randomBytes(count: 12, seed: seed &+ index)
            let count = min(chunk, range.upperBound - offset)
            pieces.append(.bytes(header[...]))
            pieces.append(.mapped(MappedBytes(mapping: mapping, offset: offset, length: count)))
            offset += count
            index += 1
        }
        return pieces
    }

    @Test("mapped bytes, byte slices and file regions go out in order and in full, through partial writes")
    func mappedBytesKeepOrder() throws {
        let content = randomBytes(count: 3 * 1024 * 1024 + 17, seed: 41)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        // A mapping starting off a page boundary, sent as 16 KiB PDUs with a header before each.
        let mappedRange = 5_001..<(content.count - 3)
        let regionRange = 100..<200_100
        let chunk = 16 * 1024
        var expected: [UInt8] = []
        var headerSeed: UInt64 = 1000
        var offset = mappedRange.lowerBound
        while offset < mappedRange.upperBound {
            let count = min(chunk, mappedRange.upperBound - offset)
            expected += randomBytes(count: 12, seed: headerSeed) + content[offset..<(offset + count)]
            headerSeed += 1
            offset += count
        }
        let tail = randomBytes(count: 1000, seed: 3)
        expected += content[regionRange] + tail
        try withRunningLoop { loop in
            let (writer, reader) = try smallBufferPair()
            defer { close(reader) }
            let outcome = Locked(OutputOutcome())
            let closed = Waiter()
            let (received, readDone) = startSlowReader(reader)
            try runOutput(loop, fd: writer, outcome: outcome, closed: closed) {
                let mapping = try FileMapping(file: file, offset: mappedRange.lowerBound, length: mappedRange.count)
                var pieces = pdus(mapping, mappedRange, chunk: chunk, seed: 1000)
                pieces.append(.file(FileRegion(file: file, offset: regionRange.lowerBound, length: regionRange.count)))
                pieces.append(.bytes(tail[...]))
                return pieces
            }
            #expect(closed.wait(seconds: 60))
            #expect(readDone.wait(seconds: 60))
            let result = outcome.value
            #expect(result.closes == 1)
            #expect(result.closeError == nil)
            #expect(result.partialWrites > 0)
            #expect(received.value.count == expected.count)
            #expect(received.value == expected)
        }
    }

    /// Reading a page of a shared mapping past the end of its file raises SIGBUS in user space;
    /// the kernel's copy in `writev` must fail with EFAULT instead, so a shrunk file ends the
    /// connection with an error and the process lives on.
    @Test("a file that got shorter than its mapping closes the connection with an error, no SIGBUS")
    func truncatedMappedFileIsAnError() throws {
        let content = randomBytes(count: 2 * 1024 * 1024, seed: 51)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        let half = content.count / 2
        try withRunningLoop { loop in
            let (writer, reader) = try smallBufferPair()
            defer { close(reader) }
            let outcome = Locked(OutputOutcome())
            let closed = Waiter()
            // The reader does not read yet: the mapped bytes stay queued while the file is cut.
            try runOutput(loop, fd: writer, outcome: outcome, closed: closed) {
                let mapping = try FileMapping(file: file, offset: 0, length: content.count)
                return [.bytes([1, 2, 3][...]), .mapped(MappedBytes(mapping: mapping, offset: 0, length: content.count))]
            }
            #expect(truncate(path, off_t(half)) == 0)
            let (received, readDone) = startSlowReader(reader)
            #expect(closed.wait(seconds: 30))
            #expect(readDone.wait(seconds: 30))
            let result = outcome.value
            #expect(result.closes == 1)
            #expect(result.closedWithFileRegionError, "closed with \(result.closeError ?? "no error")")
            // Only bytes the file still had went out, in order, before the error (the kernel may
            // drop the part of a socket buffer chunk it copied before the fault, so not all of them).
            let got = received.value
            let expected = [1, 2, 3] + content[..<half]
            #expect(got.count >= 3 && got.count <= expected.count, "received \(got.count) of \(expected.count)")
            #expect(got.elementsEqual(expected.prefix(got.count)), "received bytes are not a prefix of the file")
        }
    }
}

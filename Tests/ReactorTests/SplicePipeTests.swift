// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Dispatch
import Testing
@testable import Reactor

#if canImport(Glibc)
import Glibc
#endif

@Suite struct SplicePipeTests {
    /// Loads `range` of `file` into pipes as PDU-like pairs (a 12-byte header, then `chunk` file
    /// bytes), starting a new pipe when the next pair might not fit (a slot for the header and
    /// one per page the payload touches); returns the pieces and the bytes they stand for.
    private func pipedPDUs(_ file: OpenFile, content: [UInt8], _ range: Range<Int>, chunk: Int,
                           capacity: Int) throws -> (pieces: [OutputPiece], expected: [UInt8]) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let slotsPerPDU = 2 + (chunk + page - 1) / page
        var pieces: [OutputPiece] = []
        var expected: [UInt8] = []
        var pipe = try SplicePipe(capacity: capacity)
        var slotsUsed = 0
        var offset = range.lowerBound
        var index: UInt64 = 0
        while offset < range.upperBound {
            if slotsUsed + slotsPerPDU > pipe.slots {
                pieces.append(.piped(PipedBytes(pipe: pipe)))
                pipe = try SplicePipe(capacity: capacity)
                slotsUsed = 0
            }
            let header = randomBytes(count: 12, seed: 500 &+ index)
            let count = min(chunk, range.upperBound - offset)
            #expect(pipe.append(header[...]))
            #expect(pipe.appendFile(file, offset: offset, length: count) == .complete)
            slotsUsed += slotsPerPDU
            expected += header + content[offset..<(offset + count)]
            offset += count
            index += 1
        }
        pieces.append(.piped(PipedBytes(pipe: pipe)))
        return (pieces, expected)
    }

    @Test("piped file pages and headers, byte slices and file regions go out in order and in full, through partial writes")
    func pipedBytesKeepOrder() throws {
        let content = randomBytes(count: 3 * 1024 * 1024 + 17, seed: 51)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        let head = randomBytes(count: 30, seed: 1)
        let tail = randomBytes(count: 1000, seed: 2)
        let regionRange = 100..<200_100
        // Payloads off page boundaries, 16 KiB each, in 256 KiB pipes (several pipes).
        let (piped, pipedBytes) = try pipedPDUs(file, content: content, 5_001..<(content.count - 3),
                                                chunk: 16 * 1024, capacity: 256 * 1024)
        #expect(piped.count > 3)
        let expected = head + pipedBytes + content[regionRange] + tail
        try withRunningLoop { loop in
            let (writer, reader) = try smallBufferPair()
            defer { close(reader) }
            let outcome = Locked(OutputOutcome())
            let closed = Waiter()
            let (received, readDone) = startSlowReader(reader)
            try runOutput(loop, fd: writer, outcome: outcome, closed: closed) {
                [.bytes(head[...])] + piped
                    + [.file(FileRegion(file: file, offset: regionRange.lowerBound, length: regionRange.count)),
                       .bytes(tail[...])]
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

    @Test("a pipe takes file pages until its slots run out; a range past the end of the file is reported")
    func pipeLimits() throws {
        let content = randomBytes(count: 1024 * 1024, seed: 52)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        let pipe = try SplicePipe(capacity: 64 * 1024)
        #expect(pipe.capacity == 64 * 1024)
        #expect(pipe.slots == 64 * 1024 / Int(sysconf(Int32(_SC_PAGESIZE))))
        #expect(pipe.appendFile(file, offset: 0, length: content.count) == .pipeFull)
        #expect(pipe.loaded > 0 && pipe.loaded <= pipe.capacity)
        var back = [UInt8](repeating: 0, count: pipe.loaded)
        let n = back.withUnsafeMutableBytes { read(pipe.readFD, $0.baseAddress, $0.count) }
        #expect(n == pipe.loaded)
        #expect(back[...] == content[0..<pipe.loaded])

        let other = try SplicePipe(capacity: 64 * 1024)
        #expect(other.appendFile(file, offset: content.count - 100, length: 1000) == .fileEnded)
        #expect(other.loaded == 100)
    }
}

// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Dispatch
import ReactorTestSupport
import Testing

@testable import Reactor

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct FramedMappingTests {
    /// `range` of the file in `mapping` framed in `chunk`-byte payloads, each after a 12-byte
    /// header drawn from `seed`; with the bytes a peer should receive.
    func framed(
        _ mapping: FileMapping, _ range: Range<Int>, chunk: Int, seed: UInt64,
        content: [UInt8]
    ) throws -> (piece: OutputPiece, expected: [UInt8]) {
        let frames = (range.count + chunk - 1) / chunk
        let headerBytes = (0..<frames).flatMap { randomBytes(count: 12, seed: seed &+ UInt64($0)) }
        let headers = try SealedBytesArena(chunkSize: 4096).bytes(count: headerBytes.count) { buffer in
            buffer.copyBytes(from: headerBytes)
        }
        var expected: [UInt8] = []
        for frame in 0..<frames {
            let start = range.lowerBound + frame * chunk
            expected +=
                headerBytes[(frame * 12)..<(frame * 12 + 12)] + content[start..<min(start + chunk, range.upperBound)]
        }
        let piece = OutputPiece.framed(
            FramedMapping(
                mapping: mapping, payloadOffset: range.lowerBound,
                payloadLength: range.count, frameLength: chunk,
                headers: headers, headerLength: 12))
        return (piece, expected)
    }

    @Test(
        "framed mappings, byte slices and file regions go out in order and in full, through partial writes",
        arguments: [true, false])
    func framedMappingsKeepOrder(throughPipe: Bool) throws {
        let content = randomBytes(count: 3 * 1024 * 1024 + 17, seed: 41)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        // Mappings starting off a page boundary, framed as 16 KiB PDUs, then a region and bytes.
        let firstRange = 5_001..<1_500_000
        let secondRange = 1_500_000..<(content.count - 3)
        let regionRange = 100..<200_100
        let between = randomBytes(count: 30, seed: 7)
        let tail = randomBytes(count: 1000, seed: 3)
        let chunk = 16 * 1024 - 6
        let expected = Locked<[UInt8]>([])
        let delivery = try deliverToSlowReader(splice: throughPipe) {
            let first = try framed(
                FileMapping(file: file, offset: firstRange.lowerBound, length: firstRange.count),
                firstRange, chunk: chunk, seed: 1000, content: content)
            // A mapping wider than its frames: only the framed part goes out.
            let second = try framed(
                FileMapping(file: file, offset: 4096, length: content.count - 4096),
                secondRange, chunk: chunk, seed: 2000, content: content)
            expected.withLock {
                $0 = first.expected + between + second.expected + Array(content[regionRange]) + tail
            }
            return [
                first.piece, .bytes(between[...]), second.piece,
                .file(FileRegion(file: file, offset: regionRange.lowerBound, length: regionRange.count)),
                .bytes(tail[...]),
            ]
        }
        let result = delivery.outcome
        #expect(result.closes == 1)
        #expect(result.closeError == nil)
        #expect(result.partialWrites > 0)
        #expect(result.splicedThroughPipe == throughPipe)
        #expect(delivery.received.count == expected.value.count)
        #expect(delivery.received == expected.value)
    }

    /// Reading a page of a shared mapping past the end of its file raises SIGBUS in user space;
    /// the kernel's `vmsplice` (or `writev`) must fail with EFAULT instead, so a shrunk file ends
    /// the connection with an error and the process lives on.
    @Test(
        "a file that got shorter than its mapping closes the connection with an error, no SIGBUS",
        arguments: [true, false])
    func truncatedFramedFileIsAnError(throughPipe: Bool) throws {
        let content = randomBytes(count: 4 * 1024 * 1024, seed: 51)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        let half = content.count / 2
        let expected = Locked<[UInt8]>([])
        // The reader does not read yet: the frames stay queued while the file is cut.
        let delivery = try deliverToSlowReader(
            splice: throughPipe, waitSeconds: 30,
            beforeReading: {
                #expect(truncate(path, off_t(half)) == 0)
            }
        ) {
            let whole = try framed(
                FileMapping(file: file, offset: 0, length: content.count), 0..<content.count,
                chunk: 16 * 1024 - 6, seed: 9, content: content)
            expected.withLock { $0 = [1, 2, 3] + whole.expected }
            return [.bytes([1, 2, 3][...]), whole.piece]
        }
        let result = delivery.outcome
        #expect(result.closes == 1)
        #expect(result.closedWithFileRegionError, "closed with \(result.closeError ?? "no error")")
        #expect(
            result.closeError?.hasPrefix(throughPipe ? "vmsplice" : "writev") == true,
            "closed with \(result.closeError ?? "no error")")
        // Only bytes the file still had went out, in order, before the error. What was already
        // in the pipe or socket when the file was cut is the file's bytes from before.
        let got = delivery.received
        #expect(got.count >= 3 && got.count < expected.value.count, "received \(got.count) of \(expected.value.count)")
        #expect(got.elementsEqual(expected.value.prefix(got.count)), "received bytes are not a prefix of the frames")
    }

    @Test("the iovecs of a framed mapping follow its frames from any position")
    func segmentsFollowFrames() throws {
        let content = randomBytes(count: 10_000, seed: 5)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        let mapping = try FileMapping(file: file, offset: 100, length: 9_000)
        let (piece, expected) = try framed(mapping, 300..<8_300, chunk: 1_000, seed: 77, content: content)
        guard case .framed(let framed) = piece else {
            Issue.record("not framed")
            return
        }
        #expect(framed.totalLength == expected.count)
        for start in [0, 1, 11, 12, 13, 1_011, 1_012, 5_000, expected.count - 1] {
            var gathered: [UInt8] = []
            var position = start
            let iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: 3)
            defer { iovecs.deallocate() }
            while position < framed.totalLength {
                let (count, bytes) = framed.segments(from: position, into: iovecs, capacity: 3)
                #expect(count > 0 && count <= 3)
                for index in 0..<count {
                    let iov = iovecs[index]
                    gathered += UnsafeRawBufferPointer(start: iov.iov_base, count: iov.iov_len)
                }
                position += bytes
            }
            #expect(gathered == Array(expected[start...]), "from \(start)")
        }
        #expect(framed.fileOffset(at: 0) == 300)
        #expect(framed.fileOffset(at: 12) == 300)
        #expect(framed.fileOffset(at: 1_012 + 5) == 1_300)
        #expect(framed.fileOffset(at: framed.totalLength) == 8_300)
    }

    @Test("sealed bytes hold what their fill wrote; an arena never hands out a byte twice")
    func sealedBytesHoldTheirContents() throws {
        let arena = SealedBytesArena(chunkSize: 8192)
        var made: [(SealedBytes, [UInt8])] = []
        for (index, count) in [5_000, 3_000, 200, 10_000, 1].enumerated() {
            let bytes = randomBytes(count: count, seed: UInt64(index))
            made.append((try arena.bytes(count: count) { $0.copyBytes(from: bytes) }, bytes))
        }
        for (sealed, bytes) in made {
            #expect(sealed.count == bytes.count)
            #expect(Array(UnsafeRawBufferPointer(start: sealed.start, count: sealed.count)) == bytes)
        }
        // The first two share pages; the third does not fit after them and starts new ones.
        #expect(made[1].0.start == made[0].0.start + 5_000)
        #expect(made[2].0.pages !== made[0].0.pages)
    }
}

// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Testing

@testable import Reactor

#if canImport(Glibc)
    import Glibc
#endif

private func baseAddress(_ slice: ArraySlice<UInt8>) -> UnsafePointer<UInt8>? {
    slice.withUnsafeBufferPointer { $0.baseAddress }
}

@Suite struct ByteBufferTests {
    @Test func sliceWithinOneChunkSharesStorage() throws {
        let chunk = Array(0..<200).map { UInt8($0) }
        var buffer = ByteBuffer()
        buffer.append(chunk)
        let chunkBase = chunk.withUnsafeBufferPointer { $0.baseAddress }!

        let peeked = try #require(buffer.peek(10))
        #expect(baseAddress(peeked) == chunkBase)
        buffer.moveReaderIndex(forwardBy: 5)
        let maybeSlice = buffer.readSlice(10)
        let slice = try #require(maybeSlice)
        #expect(baseAddress(slice) == chunkBase + 5)
        #expect(Array(slice) == Array(chunk[5..<15]))
        #expect(baseAddress(buffer.readableView) == chunkBase + 15)
        #expect(buffer.readableBytes == 185)
    }

    @Test func readFromDescriptorLandsInChunkWithoutCopy() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let payload = randomBytes(count: 1000, seed: 7)
        #expect(payload.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) } == 1000)

        var buffer = ByteBuffer()
        guard case .processed(let n) = try buffer.read(from: fds[0], chunkSize: 16 * 1024) else {
            Issue.record("pipe read would block")
            return
        }
        #expect(n == 1000)
        let maybeFirst = buffer.readSlice(100)
        let first = try #require(maybeFirst)
        let maybeSecond = buffer.readSlice(900)
        let second = try #require(maybeSecond)
        #expect(baseAddress(second) == baseAddress(first)! + 100)
        #expect(Array(first) + Array(second) == payload)
        #expect(buffer.isEmpty)
    }

    /// A peer sending one byte per segment must not pin a chunk per segment (issue 17): small
    /// reads are copied onto one chunk; a read that fills most of its chunk is still kept as is.
    @Test func smallReadsCoalesceIntoOneChunk() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        var buffer = ByteBuffer()
        var expected: [UInt8] = []
        for index in 0..<2000 {
            var byte = UInt8(truncatingIfNeeded: index)
            #expect(write(fds[1], &byte, 1) == 1)
            guard case .processed(1) = try buffer.read(from: fds[0], chunkSize: 16 * 1024) else {
                Issue.record("one-byte read failed")
                return
            }
            expected.append(byte)
        }
        #expect(buffer.chunkCount == 1)
        #expect(buffer.readableBytes == 2000)

        let large = randomBytes(count: 12 * 1024, seed: 11)
        #expect(large.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) } == large.count)
        guard case .processed(large.count) = try buffer.read(from: fds[0], chunkSize: 16 * 1024) else {
            Issue.record("large read failed")
            return
        }
        #expect(buffer.chunkCount == 2)
        #expect(Array(buffer.readableView) == expected + large)
    }

    @Test func crossChunkPeekConcatenates() throws {
        var buffer = ByteBuffer()
        buffer.append([1, 2, 3])
        buffer.append([4, 5])
        buffer.append([6, 7, 8, 9])
        #expect(buffer.chunkCount == 3)
        #expect(Array(try #require(buffer.peek(7))) == [1, 2, 3, 4, 5, 6, 7])
        #expect(buffer.peek(10) == nil)
        buffer.moveReaderIndex(forwardBy: 2)
        let middle = buffer.readSlice(4)
        #expect(middle.map(Array.init) == [3, 4, 5, 6])
        #expect(buffer.chunkCount == 1)
        #expect(Array(buffer.readableView) == [7, 8, 9])
    }

    @Test func integersHonourEndiannessAcrossChunks() throws {
        var buffer = ByteBuffer()
        buffer.append([0x01, 0x02])
        buffer.append([0x03, 0x04, 0x05])
        #expect(buffer.peekInteger(at: 0, endianness: .big, as: UInt32.self) == 0x0102_0304)
        #expect(buffer.peekInteger(at: 1, endianness: .little, as: UInt32.self) == 0x0504_0302)
        #expect(buffer.peekInteger(at: 2, endianness: .big, as: UInt32.self) == nil)
        let word = buffer.readInteger(endianness: .big, as: UInt16.self)
        #expect(word == 0x0102)
        #expect(buffer.readableBytes == 3)
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomOperationsMatchReferenceModel(seed: UInt64) throws {
        var rng = TestRNG(seed: seed)
        var buffer = ByteBuffer()
        var model: [UInt8] = []
        var next: UInt8 = 0
        for _ in 0..<5_000 {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0:
                let size = Int.random(in: 0..<64, using: &rng)
                var chunk: [UInt8] = []
                for _ in 0..<size {
                    chunk.append(next)
                    next &+= 1
                }
                buffer.append(chunk)
                model += chunk
            case 1:
                let n = Int.random(in: 0...80, using: &rng)
                let got = buffer.peek(n)
                if n <= model.count {
                    #expect(got.map(Array.init) == Array(model.prefix(n)))
                } else {
                    #expect(got == nil)
                }
            case 2:
                let n = Int.random(in: 0...80, using: &rng)
                let got = buffer.readSlice(n)
                if n <= model.count {
                    #expect(got.map(Array.init) == Array(model.prefix(n)))
                    model.removeFirst(n)
                } else {
                    #expect(got == nil)
                }
            case 3:
                let n = Int.random(in: 0...model.count, using: &rng)
                buffer.moveReaderIndex(forwardBy: n)
                model.removeFirst(n)
            default:
                let got = buffer.readInteger(endianness: .big, as: UInt16.self)
                if model.count >= 2 {
                    #expect(got == UInt16(model[0]) << 8 | UInt16(model[1]))
                    model.removeFirst(2)
                } else {
                    #expect(got == nil)
                }
            }
            #expect(buffer.readableBytes == model.count)
        }
        #expect(Array(buffer.readableView) == model)
    }

    @Test func chunkSizerAdapts() {
        var sizer = ReadChunkSizer()
        #expect(sizer.next == 16 * 1024)
        for _ in 0..<10 { sizer.record(bytesRead: sizer.next, chunkSize: sizer.next) }
        #expect(sizer.next == 256 * 1024)
        for _ in 0..<10 { sizer.record(bytesRead: 10, chunkSize: sizer.next) }
        #expect(sizer.next == 16 * 1024)
    }
}

// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Dispatch
import Testing

@testable import Reactor

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct FileRegionTests {
    @Test("bytes and file regions go out in order and in full, through partial sendfile calls")
    func regionsAndBytesKeepOrder() throws {
        let content = randomBytes(count: 3 * 1024 * 1024 + 17, seed: 11)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        let head = randomBytes(count: 12, seed: 1)
        let middle = randomBytes(count: 5, seed: 2)
        let tail = randomBytes(count: 1000, seed: 3)
        // Two regions out of order in the file, with byte pieces around and between them.
        let first = 1_000_000..<content.count
        let second = 3..<700_003
        let expected = head + content[first] + middle + content[second] + tail
        let delivery = try deliverToSlowReader {
            [
                .bytes(head[...]),
                .file(FileRegion(file: file, offset: first.lowerBound, length: first.count)),
                .bytes(middle[...]),
                .file(FileRegion(file: file, offset: second.lowerBound, length: second.count)),
                .bytes(tail[...]),
            ]
        }
        let result = delivery.outcome
        #expect(result.pendingAfterQueue > 0 && result.pendingAfterQueue <= expected.count)
        #expect(result.closes == 1)
        #expect(result.closeError == nil)
        #expect(result.partialWrites > 0)
        #expect(delivery.received.count == expected.count)
        #expect(delivery.received == expected)
    }

    @Test("a file that got shorter than its queued region closes the connection with an error")
    func truncatedFileIsAnError() throws {
        let content = randomBytes(count: 2 * 1024 * 1024, seed: 21)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        // The reader does not read yet: the region stays queued while the file is cut.
        let delivery = try deliverToSlowReader(
            waitSeconds: 30,
            beforeReading: {
                #expect(truncate(path, off_t(content.count / 2)) == 0)
            }
        ) {
            [.bytes([1, 2, 3][...]), .file(FileRegion(file: file, offset: 0, length: content.count))]
        }
        let result = delivery.outcome
        #expect(result.closes == 1)
        #expect(result.closedWithFileRegionError, "closed with \(result.closeError ?? "no error")")
        // Everything the file still had went out before the error, nothing after it.
        #expect(delivery.received == [1, 2, 3] + content[..<(content.count / 2)])
    }

    @Test("a region starting past the end of its file is an error, not a hang")
    func regionPastEndIsAnError() throws {
        let content = randomBytes(count: 1000, seed: 31)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        let delivery = try deliverToSlowReader(waitSeconds: 10) {
            [.file(FileRegion(file: file, offset: 5000, length: 10))]
        }
        #expect(delivery.outcome.closedWithFileRegionError)
    }
}

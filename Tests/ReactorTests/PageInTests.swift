// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Dispatch
import ReactorTestSupport
import TestSupport
import Testing

@testable import Reactor

#if canImport(Glibc)
    import Glibc
#endif

/// Pages of `file`'s range `[offset, offset + length)` now in the page cache.
func cachedPages(_ file: OpenFile, offset: Int = 0, length: Int) throws -> Int {
    var pages: UInt64 = 0
    guard qrs_cached_pages(file.fd, Int64(offset), Int64(length), &pages) == 0 else {
        throw SystemError(errno: errno, call: "cachestat")
    }
    return Int(pages)
}

@Suite struct PageInTests {
    static let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    @Test("a range evicted from the page cache is read back in; a second call finds it resident")
    func evictedRangeIsPagedIn() throws {
        let content = randomBytes(count: 3 * 1024 * 1024 + 100, seed: 41)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        evictFromPageCache(path)
        let offset = 1_000_003
        let length = 2 * 1024 * 1024
        let pages = (offset + length + Self.page - 1) / Self.page - offset / Self.page
        // The kernel may keep a page or two (e.g. one being written back); most must be gone.
        #expect(try cachedPages(file, offset: offset, length: length) < pages)
        #expect(PageIn.makeResident(file, offset: offset, length: length) == .pagedIn)
        #expect(try cachedPages(file, offset: offset, length: length) == pages)
        #expect(PageIn.makeResident(file, offset: offset, length: length) == .alreadyResident)
    }

    @Test("a range past the end of a file that got shorter is reported, not waited for")
    func shortFileIsReported() throws {
        let content = randomBytes(count: 512 * 1024, seed: 42)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        #expect(truncate(path, 100_000) == 0)
        #expect(PageIn.makeResident(file, offset: 50_000, length: 300_000) == .fileEnded)
        #expect(PageIn.makeResident(file, offset: 200_000, length: 300_000) == .fileEnded)
    }

    @Test("observers see each page-in with the thread kind it ran on")
    func observersSeeWhereItRan() throws {
        let content = randomBytes(count: 64 * 1024, seed: 43)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        let records = Locked<[PageIn.Record]>([])
        let id = PageIn.addObserver { record in
            if record.file == path { records.withLock { $0.append(record) } }
        }
        defer { PageIn.removeObserver(id) }
        PageIn.makeResident(file, offset: 0, length: content.count)
        _ = try withRunningLoop { loop in
            try onLoop(loop) { PageIn.makeResident(file, offset: 0, length: 4096) }
        }
        let seen = records.value
        #expect(seen.count == 2)
        #expect(seen.first?.onLoopThread == false)
        #expect(seen.last?.onLoopThread == true)
        #expect(seen.last?.length == 4096)
    }
}

// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Brings file ranges into the page cache before they are queued on a connection, so `sendfile`
/// and `writev` from a mapping on the loop thread never wait for the disk. Blocking: call it on
/// a worker, never on an event loop.
///
/// How, and why this way:
/// - Check first with `cachestat(2)`: it walks the cache's index without touching a page, and a
///   retrieve usually sends files that are already cached, so then nothing else is done.
/// - Otherwise read the range with `sendfile` to `/dev/null`: the kernel waits for each page to
///   be read and only takes and drops a reference to it; no copy, no page tables, and the
///   file's read-ahead state sees a sequential reader.
/// The alternatives do more work: a temporary mapping with `MADV_POPULATE_READ` fills a page
/// table entry per page and then unmaps them; `readahead(2)` does not wait, so it needs
/// residency probes after it (`preadv2(RWF_NOWAIT)` copies what it probes); `pread` into a
/// buffer copies every byte. A mapping queued for output is not populated either: once its
/// pages are cached, the faults taken on the loop are minor ones (no disk), cheaper than
/// populating up front. docs/BENCHMARKS.md has the measurements.
///
/// Pages can still be evicted between this call and the send under memory pressure; that is a
/// rare, short stall, not the normal path. A range past the end of a file that got shorter is
/// left alone: the send on the loop then reports the short file (no disk wait there either).
public enum PageIn {
    /// What ``makeResident(_:offset:length:)`` found.
    public enum Outcome: Sendable, Equatable {
        /// Every page of the range was already cached.
        case alreadyResident
        /// The range was read into the cache now.
        case pagedIn
        /// The file ends before the range does (it got shorter); the bytes up to its end are cached.
        case fileEnded
        /// Reading failed with this errno (the send on the loop meets the same error).
        case readFailed(errno: Int32)
    }

    /// One call of ``makeResident(_:offset:length:)``, for tests and diagnostics.
    public struct Record: Sendable {
        public var file: String
        public var offset: Int
        public var length: Int
        public var outcome: Outcome
        /// Whether it ran on an event loop's thread (it must not).
        public var onLoopThread: Bool
    }

    private struct Observers: ~Copyable {
        var next = 0
        var byID: [Int: @Sendable (Record) -> Void] = [:]
    }
    private static let observers = Mutex(Observers())

    /// Calls `body` with the record of every later page-in, on the thread that ran it, until
    /// ``removeObserver(_:)`` with the returned id (for tests and diagnostics).
    public static func addObserver(_ body: @escaping @Sendable (Record) -> Void) -> Int {
        observers.withLock {
            $0.next += 1
            $0.byID[$0.next] = body
            return $0.next
        }
    }

    /// Stops the calls to an observer added with ``addObserver(_:)``.
    public static func removeObserver(_ id: Int) {
        _ = observers.withLock { $0.byID.removeValue(forKey: id) }
    }

    /// Makes bytes `[offset, offset + length)` of `file` resident in the page cache, waiting for
    /// the disk if needed. Blocking.
    @discardableResult
    public static func makeResident(_ file: OpenFile, offset: Int, length: Int) -> Outcome {
        let outcome = length <= 0 ? .alreadyResident : pageIn(file.fd, offset: offset, length: length)
        let observing = observers.withLock { Array($0.byID.values) }
        if !observing.isEmpty {
            let record = Record(
                file: file.name, offset: offset, length: length, outcome: outcome,
                onLoopThread: qrs_is_loop_thread() != 0)
            for observer in observing { observer(record) }
        }
        return outcome
    }

    private static func pageIn(_ fd: Int32, offset: Int, length: Int) -> Outcome {
        // The page cache can hold pages past the end of a file that got shorter (a large folio
        // that straddled the new end), so the size decides whether the range is still there.
        var st = stat()
        if fstat(fd, &st) == 0, offset + length > Int(st.st_size) {
            let available = Int(st.st_size) - offset
            if available > 0 { _ = pageIn(fd, offset: offset, length: available) }
            return .fileEnded
        }
        let page = systemPageSize
        let firstPage = offset / page
        let pages = (offset + length + page - 1) / page - firstPage
        if !cachestatUnavailable.load(ordering: .relaxed) {
            var cached: UInt64 = 0
            if qrs_cached_pages(fd, Int64(offset), Int64(length), &cached) == 0 {
                if cached >= UInt64(pages) { return .alreadyResident }
            } else if errno == ENOSYS || errno == EPERM {
                // A kernel before 6.5, or a seccomp filter that does not know the call (Debian
                // 12's libseccomp cannot name it in SystemCallFilter=): it will not start working.
                cachestatUnavailable.store(true, ordering: .relaxed)
            }
        }
        // Some pages missing, or no way to tell: read the whole range.
        return readThrough(fd, offset: offset, length: length)
    }

    /// Reads the range through the page cache without copying it out (see the type's comment),
    /// or with `pread` into a small buffer where `/dev/null` takes no `sendfile`.
    private static func readThrough(_ fd: Int32, offset: Int, length: Int) -> Outcome {
        var position = off_t(offset)
        let end = off_t(offset + length)
        if let sink = devNull {
            while position < end {
                let n = sendfile(sink, fd, &position, Int(end - position))
                if n > 0 { continue }
                if n == 0 { return .fileEnded }
                if errno == EINTR || errno == EAGAIN { continue }
                break  // e.g. EINVAL: no splice to /dev/null here; read instead
            }
            if position >= end { return .pagedIn }
        }
        var scratch = [UInt8](repeating: 0, count: 64 * 1024)
        while position < end {
            let want = min(scratch.count, Int(end - position))
            let n = scratch.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, position) }
            if n > 0 {
                position += off_t(n)
            } else if n == 0 {
                return .fileEnded
            } else if errno != EINTR {
                return .readFailed(errno: errno)
            }
        }
        return .pagedIn
    }

    /// `/dev/null` open for writing for the process's lifetime, nil if it cannot be opened.
    /// Set once `cachestat(2)` has been refused as absent or forbidden, so it is not retried
    /// for every range.
    private static let cachestatUnavailable = Atomic<Bool>(false)

    private static let devNull: Int32? = {
        let fd = open("/dev/null", O_WRONLY | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }()
}

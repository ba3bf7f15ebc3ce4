// SPDX-License-Identifier: Apache-2.0
import DICOM
import Dispatch
import Foundation
import Synchronization
import SystemCalls

/// A file the scanner did not index, and why.
public struct SkippedFile: Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// Progress of a running scan (reported at least every `progressInterval` seconds,
/// and once at the end).
public struct ScanProgress: Sendable, Hashable {
    /// Regular files found so far.
    public var seen: Int
    /// Files (new or changed) indexed so far.
    public var indexed: Int
    /// Files found unchanged (same size and modification time as indexed).
    public var unchanged: Int
    /// Files skipped (not DICOM, unreadable, missing a required UID, duplicate).
    public var skipped: Int
    /// Seconds since the scan started.
    public var elapsed: Double
    /// Files seen per second so far.
    public var filesPerSecond: Double { elapsed > 0 ? Double(seen) / elapsed : 0 }
}

/// The outcome of a scan.
public struct ScanSummary: Sendable {
    /// Regular files found.
    public var seen: Int
    /// Files (new or changed) indexed.
    public var indexed: Int
    /// Files not parsed because their size and modification time matched the index.
    public var unchanged: Int
    /// Files parsed (read and decoded): indexed plus skipped-after-parsing. An
    /// incremental re-scan of an unchanged tree parses only the previously skipped files.
    public var parsed: Int
    /// Files not indexed, with the reason.
    public var skipped: [SkippedFile]
    /// Instances removed from the index because their file disappeared.
    public var removed: Int
    /// Wall-clock seconds.
    public var duration: Double
}

/// Walks a storage directory and brings the index up to date with it.
///
/// - Every core: files are handled in batches (`batchSize`); each batch is stat'ed and
///   parsed with `DispatchQueue.concurrentPerform`, then written in one transaction on
///   a writer queue while the next batch is parsed. Memory is bounded by two batches
///   plus the map of indexed paths.
/// - Only the header is read: the first 64 KiB of a file (more only when the header is
///   longer, or the data set is deflated), parsed up to Pixel Data.
/// - Incremental: a file whose size and modification time equal the indexed ones is not
///   read again; instances whose file disappeared are removed; a changed file is
///   re-indexed (replacing what its path held), or removed from the index when it can no
///   longer be indexed (it is then also listed as skipped).
/// - Robust: a file that is not DICOM, is truncated or malformed, lacks Study/Series/SOP
///   Instance UID or SOP Class UID, or repeats the SOP Instance UID of another existing
///   indexed file is skipped and listed with the reason; the scan goes on.
/// - Names starting with "." (temporary files of writers, .DS_Store, …) and symbolic
///   links to directories are ignored; symbolic links to files are followed.
/// Paths are indexed as `root` (made absolute) + "/" + relative path.
public final class StorageScanner: Sendable {
    public let store: SQLiteIndexStore
    /// The storage directory, absolute, without trailing slash.
    public let root: String
    public let batchSize: Int
    public let progressInterval: Double
    /// Bytes read first from each file.
    public let headerReadSize: Int

    public init(
        store: SQLiteIndexStore, root: String, batchSize: Int = 500, progressInterval: Double = 2,
        headerReadSize: Int = 64 * 1024
    ) {
        self.store = store
        self.root = StoragePath.canonical(root)
        self.batchSize = max(1, batchSize)
        self.progressInterval = progressInterval
        self.headerReadSize = max(1024, headerReadSize)
    }

    /// Scans the tree, blocking until done. Throws only for database errors or when
    /// the root itself cannot be read.
    public func scan(progress: @Sendable (ScanProgress) -> Void = { _ in }) throws -> ScanSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        var st = stat()
        guard stat(root, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw IndexError.unreadable("storage directory \(root) is not a readable directory (errno \(errno))")
        }
        var known = try store.indexedFiles(under: root == "/" ? "/" : root + "/")
        var seen = 0
        var indexed = 0
        var unchanged = 0
        var parsed = 0
        var skipped: [SkippedFile] = []
        var lastReport = 0.0

        let writer = DispatchQueue(label: "qrscpd.scanner.writer")
        let pending = DispatchGroup()
        let writeState = Mutex<(indexed: Int, skipped: [SkippedFile], error: (any Error)?)>((0, [], nil))

        func flushWrites() throws {
            pending.wait()
            let (n, s, e) = writeState.withLock { st in
                let r = (st.indexed, st.skipped, st.error)
                st.indexed = 0
                st.skipped = []
                return r
            }
            indexed += n
            skipped.append(contentsOf: s)
            if let e { throw e }
        }

        func report() {
            progress(
                ScanProgress(
                    seen: seen, indexed: indexed, unchanged: unchanged, skipped: skipped.count,
                    elapsed: elapsed()))
        }

        func process(_ batch: [String]) throws {
            // 1. stat and parse in parallel.
            let results = Slots<FileOutcome>(count: batch.count)
            let stamps = batch.map { known[$0] }  // (not `known` itself: it is mutated below)
            let readSize = headerReadSize
            DispatchQueue.concurrentPerform(iterations: batch.count) { i in
                results[i] = StorageScanner.examine(batch[i], indexed: stamps[i], readSize: readSize)
            }
            var records: [PreparedRecord] = []
            var recordPaths: [String] = []
            for (i, path) in batch.enumerated() {
                switch results[i]! {
                case .vanished:
                    continue  // stays in `known`: removed from the index at the end
                case .unchanged:
                    known.removeValue(forKey: path)
                    seen += 1
                    unchanged += 1
                case .skipped(let reason):
                    // An indexed file that became unreadable stays in `known` and is removed.
                    seen += 1
                    parsed += 1
                    skipped.append(SkippedFile(path: path, reason: reason))
                case .record(let r):
                    known.removeValue(forKey: path)
                    seen += 1
                    parsed += 1
                    records.append(r)
                    recordPaths.append(path)
                }
            }
            // 2. write the previous batch's records must be done before queueing this one.
            try flushWrites()
            if !records.isEmpty {
                let store = self.store
                let recs = records
                let paths = recordPaths
                writer.async(group: pending) {
                    do {
                        let errs = try store.write(recs, rejectDuplicates: true)
                        var n = 0
                        var s: [SkippedFile] = []
                        for (i, e) in errs.enumerated() {
                            if let e { s.append(SkippedFile(path: paths[i], reason: e.description)) } else { n += 1 }
                        }
                        writeState.withLock {
                            $0.indexed += n
                            $0.skipped.append(contentsOf: s)
                        }
                    } catch {
                        writeState.withLock { $0.error = error }
                    }
                }
            }
            let t = elapsed()
            if t - lastReport >= progressInterval {
                lastReport = t
                report()
            }
        }

        var batch: [String] = []
        batch.reserveCapacity(batchSize)
        var dirs: [String] = [root]
        while let dir = dirs.popLast() {
            guard let d = opendir(dir) else {
                if dir == root { throw IndexError.unreadable("cannot open \(dir): errno \(errno)") }
                skipped.append(SkippedFile(path: dir, reason: "cannot open directory: errno \(errno)"))
                continue
            }
            var subdirs: [String] = []
            while let ent = readdir(d) {
                let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                    String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
                }
                if name.hasPrefix(".") { continue }
                let path = dir == "/" ? "/" + name : dir + "/" + name
                var type = Int32(ent.pointee.d_type)
                if type == Int32(DT_UNKNOWN) || type == Int32(DT_LNK) {
                    var s = stat()
                    let isLink = type == Int32(DT_LNK)
                    guard (isLink ? stat(path, &s) : lstat(path, &s)) == 0 else { continue }
                    let fmt = s.st_mode & S_IFMT
                    if fmt == S_IFDIR {
                        type = isLink ? -1 : Int32(DT_DIR)
                    } else if fmt == S_IFREG {
                        type = Int32(DT_REG)
                    } else {
                        type = -1
                    }
                }
                if type == Int32(DT_DIR) {
                    subdirs.append(path)
                } else if type == Int32(DT_REG) {
                    batch.append(path)
                    if batch.count >= batchSize {
                        try process(batch)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
            }
            closedir(d)
            dirs.append(contentsOf: subdirs.sorted().reversed())
        }
        if !batch.isEmpty { try process(batch) }
        try flushWrites()
        // Files indexed under the root that were not found any more.
        let removed = known.isEmpty ? 0 : try store.removeInstances(paths: known.keys)
        report()
        return ScanSummary(
            seen: seen, indexed: indexed, unchanged: unchanged, parsed: parsed, skipped: skipped,
            removed: removed, duration: elapsed())
    }

    enum FileOutcome: Sendable {
        case vanished
        case unchanged
        case skipped(String)
        case record(PreparedRecord)
    }

    private static func examine(_ path: String, indexed: FileStamp?, readSize: Int) -> FileOutcome {
        // Unchanged files cost one stat(2) and nothing else.
        var st = stat()
        if let indexed, stat(path, &st) == 0, indexed.size == Int64(st.st_size),
            indexed.modificationTime == Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        {
            return .unchanged
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            return errno == ENOENT ? .vanished : .skipped("cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        guard fstat(fd, &st) == 0 else { return .skipped("cannot stat: errno \(errno)") }
        let size = Int64(st.st_size)
        let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        if let indexed, indexed.size == size, indexed.modificationTime == mtime { return .unchanged }
        do {
            var bytes = try readPrefix(fd, count: min(Int(size), readSize))
            var file: DICOMFile
            do {
                let header = try DICOMFile.readHeader(bytes[...])
                if header.meta.isEmpty, !looksLikeDataSet(bytes, at: header.dataSetOffset) {
                    return .skipped(IndexError.notDICOM("no DICM prefix and no recognisable data set").description)
                }
                if header.transferSyntax.isDeflated, bytes.count < size { throw ReadMore() }
                file = try DICOMFile(bytes: bytes[...], options: .init(stopBeforePixelData: true))
                if file.pixelDataOffset == nil, bytes.count < size { throw ReadMore() }
            } catch let e as DICOMError where bytes.count >= size {
                throw e
            } catch {
                guard bytes.count < size else { throw error }
                bytes = try readPrefix(fd, count: Int(size))
                file = try DICOMFile(bytes: bytes[...], options: .init(stopBeforePixelData: true))
            }
            let record = InstanceRecord(
                path: path, size: size, modificationTime: mtime,
                transferSyntaxUID: file.transferSyntax.uid, header: file.dataSet)
            return .record(try PreparedRecord(record))
        } catch let e as IndexError {
            return .skipped(e.description)
        } catch let e as DICOMError {
            switch e {
            case .invalidFile(let m): return .skipped(IndexError.notDICOM(m).description)
            case .io(let m): return .skipped("I/O error: \(m)")
            default: return .skipped("truncated or malformed: \(e)")
            }
        } catch {
            return .skipped("unreadable: \(error)")
        }
    }

    struct ReadMore: Error {}

    /// A raw data set (no Part 10 header) is accepted when it starts with an element
    /// of group 0008 (Identifying) in little endian, as old files do.
    private static func looksLikeDataSet(_ b: [UInt8], at o: Int) -> Bool {
        guard b.count >= o + 8 else { return false }
        return b[o] == 0x08 && b[o + 1] == 0x00
    }

    static func readPrefix(_ fd: Int32, count: Int) throws -> [UInt8] {
        do {
            return try FileBytes.read(fd, count: count)
        } catch {
            throw DICOMError.io("read failed: errno \(error.errno)")
        }
    }
}

/// Per-index result slots written concurrently (each index by exactly one iteration).
final class Slots<T: Sendable>: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<T?>
    init(count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: nil)
    }
    deinit {
        buffer.deinitialize()
        buffer.deallocate()
    }
    subscript(i: Int) -> T? {
        get { buffer[i] }
        set { buffer[i] = newValue }
    }
}

import CSystemShims
import DICOM
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a received object was not stored. The service maps ``kind`` to a C-STORE status
/// (PS3.4 Table B.2-1) and sends ``comment`` as Error Comment.
public struct StoreFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Disk full, I/O error, index unavailable: A700 "Refused: Out of Resources".
        case outOfResources
        /// Unparsable data set, or its SOP Class/Instance UID differs from the command, or a
        /// required UID is missing: A900 "Error: Data Set does not match SOP Class".
        case dataSetMismatch
        /// The SOP Instance UID is already stored and the policy is ``StoreDuplicatePolicy/reject``: 0111.
        case duplicate
    }

    public var kind: Kind
    public var comment: String
    /// The system error behind an ``Kind/outOfResources`` failure, if any.
    public var errno: Int32?

    public init(_ kind: Kind, _ comment: String, errno: Int32? = nil) {
        self.kind = kind
        self.comment = comment
        self.errno = errno
    }

    public var description: String { "\(kind): \(comment)" }
}

/// What happened to a received object that did not fail.
public struct StoreOutcome: Sendable, Hashable {
    public enum Disposition: Sendable, Hashable {
        /// A new instance, now in place and indexed.
        case stored
        /// An instance that was already stored, replaced by the new copy (``StoreDuplicatePolicy/replace``).
        case replaced
        /// An instance that was already stored; the stored copy was kept and the new one
        /// discarded (``StoreDuplicatePolicy/keep``).
        case keptExisting
    }

    public var disposition: Disposition
    /// Absolute path of the instance's file (the kept one for ``Disposition/keptExisting``).
    public var path: String
    /// Size of the received file (Part 10 header included).
    public var size: Int64
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
}

/// Places in the write path where tests can inject a system error.
public enum StoreFaultPoint: Sendable, Hashable {
    case open, write, fsync, rename, directorySync, index
}

/// The durable write path of C-STORE ingest (QR-28, QR-29, FF-01…FF-03).
///
/// An object is written to `<root>/.incoming/<pid>-<random>-<n>.tmp` (same file system as
/// its final place; the scanner skips dot names) as it arrives: Part 10 header first, then
/// the data set bytes exactly as received. Once complete it is *staged* (header parsed up to Pixel
/// Data, checked against the command) and then *committed*, alone (``IncomingObject/finish()``)
/// or in a batch with objects of other associations (``StoreCommitter``, see
/// ``commit(_:)``): the file's data is made durable, the duplicate policy applied, the file
/// renamed to its layout path (UIDs sanitized), its directory fsynced and its row indexed.
/// Only then is the object reported stored. Any failure removes the temporary file and
/// leaves the index untouched.
///
/// All methods block; call them on the worker pool. One ``IncomingObject`` must be used
/// from one thread at a time (one serial lane) until it is handed to a commit; different
/// objects may be written concurrently. Commits are serialized (one at a time per writer).
public final class StoreWriter: Sendable {
    public static let incomingDirectoryName = ".incoming"

    /// The storage directory, absolute and resolved (as the scanner records paths).
    public let root: String
    public let store: any IndexStore
    public let layout: StoreLayout
    public let duplicatePolicy: StoreDuplicatePolicy
    /// Test hook: returns an errno to make that step fail (for any object).
    public let fault: (@Sendable (StoreFaultPoint) -> Int32?)?
    /// Test hook: returns an errno to make that step fail for the object with this SOP
    /// Instance UID (to fail one object inside a batch).
    public let objectFault: (@Sendable (StoreFaultPoint, String) -> Int32?)?
    /// One commit at a time: the duplicate check, rename and index row of an instance
    /// must not interleave with another commit of the same SOP Instance UID, and a batch
    /// holds many UIDs at once. Commits are short (the data is written before) and the
    /// server runs one committer anyway.
    let commitLock = NSLock()
    /// Issues the fsyncs of a commit group together.
    let syncFanOut = SyncFanOut()
    /// Temporary file names are this writer's random prefix and a counter: unique without
    /// drawing 128 random bits per object (a UUID cost an open, read and close of
    /// /dev/urandom each).
    private let temporaryNamePrefix = String(getpid()) + "-" + String(UInt64.random(in: .min ... .max), radix: 36)
    private let temporaryNameCounter = Atomic<UInt64>(0)

    /// The next temporary file name (no directory).
    func nextTemporaryName() -> String {
        let n = temporaryNameCounter.wrappingAdd(1, ordering: .relaxed).newValue
        return temporaryNamePrefix + "-" + String(n) + ".tmp"
    }

    public init(root: String, store: any IndexStore, layout: StoreLayout = .default,
                duplicatePolicy: StoreDuplicatePolicy = .keep, fault: (@Sendable (StoreFaultPoint) -> Int32?)? = nil,
                objectFault: (@Sendable (StoreFaultPoint, String) -> Int32?)? = nil) {
        var r = root
        if !r.hasPrefix("/") { r = FileManager.default.currentDirectoryPath + "/" + r }
        if let real = realpath(r, nil) { r = String(cString: real); free(real) }
        while r.count > 1, r.hasSuffix("/") { r.removeLast() }
        self.root = r
        self.store = store
        self.layout = layout
        self.duplicatePolicy = duplicatePolicy
        self.fault = fault
        self.objectFault = objectFault
    }

    /// `<root>/.incoming`.
    public var incomingDirectory: String { Self.incomingDirectory(of: root) }

    static func incomingDirectory(of root: String) -> String {
        (root == "/" ? "" : root) + "/" + incomingDirectoryName
    }

    /// A new object to receive; no I/O until ``IncomingObject/begin()``.
    public func incoming(sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String,
                         sourceAETitle: String?) -> IncomingObject {
        IncomingObject(writer: self, sopClassUID: Self.trimmed(sopClassUID),
                       sopInstanceUID: Self.trimmed(sopInstanceUID),
                       transferSyntaxUID: Self.trimmed(transferSyntaxUID), sourceAETitle: sourceAETitle)
    }

    /// Convenience: ``incoming(sopClassUID:sopInstanceUID:transferSyntaxUID:sourceAETitle:)`` + ``IncomingObject/begin()``.
    public func begin(sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String,
                      sourceAETitle: String?) -> IncomingObject {
        let object = incoming(sopClassUID: sopClassUID, sopInstanceUID: sopInstanceUID,
                              transferSyntaxUID: transferSyntaxUID, sourceAETitle: sourceAETitle)
        object.begin()
        return object
    }

    /// Removes temporary files left in `<root>/.incoming` by a previous run (crash, power
    /// loss). Call at start-up, before accepting associations. Returns how many were removed.
    @discardableResult
    public static func removeLeftovers(in root: String) -> Int {
        let dir = incomingDirectory(of: root)
        guard let d = opendir(dir) else { return 0 }
        var names: [String] = []
        while let ent = readdir(d) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != ".", name != ".." { names.append(name) }
        }
        closedir(d)
        var removed = 0
        for name in names where unlink(dir + "/" + name) == 0 { removed += 1 }
        if removed > 0 { Self.syncDirectory(dir) }
        return removed
    }

    func injected(_ point: StoreFaultPoint, sopInstanceUID: String? = nil) -> Int32? {
        if let e = fault?(point) { return e }
        if let sopInstanceUID, let e = objectFault?(point, sopInstanceUID) { return e }
        return nil
    }

    static func trimmed(_ uid: String) -> String {
        var u = Substring(uid)
        while let l = u.last, l == "\0" || l == " " { u.removeLast() }
        while let f = u.first, f == " " { u.removeFirst() }
        return String(u)
    }

    @discardableResult
    static func syncDirectory(_ path: String) -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        return fsync(fd) == 0 ? 0 : errno
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// One object being received. Not thread-safe: use it from one serial lane.
public final class IncomingObject: @unchecked Sendable {
    public let sopClassUID: String
    public let sopInstanceUID: String
    public let transferSyntaxUID: String
    public let sourceAETitle: String?
    private let writer: StoreWriter
    private var fd: Int32 = -1
    /// The temporary file while it exists.
    public private(set) var temporaryPath: String?
    /// Bytes written to the temporary file so far (header included).
    public private(set) var fileSize: Int64 = 0
    /// Start of the written bytes whose writeback has not been started yet.
    private var writebackStart: Int64 = 0
    /// Data set bytes received so far.
    public private(set) var dataSetBytes: Int64 = 0
    /// The first failure; once set, further input is ignored and `finish` reports it.
    public private(set) var failure: StoreFailure?
    private var done = false

    init(writer: StoreWriter, sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String,
         sourceAETitle: String?) {
        self.writer = writer
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.transferSyntaxUID = transferSyntaxUID
        let ae = sourceAETitle.map { StoreWriter.trimmed($0) }
        self.sourceAETitle = (ae?.isEmpty ?? true) ? nil : ae
    }

    deinit {
        if fd >= 0 { close(fd) }
        if let temporaryPath { unlink(temporaryPath) }
    }

    /// Creates the temporary file and writes the Part 10 header (preamble, "DICM", group 0002
    /// with the command's SOP Class/Instance UIDs, the context's transfer syntax, our
    /// implementation identification and the calling AE as Source AE Title).
    public func begin() {
        guard fd < 0, failure == nil, !done else { return }
        let dir = writer.incomingDirectory
        if let e = writer.injected(.open, sopInstanceUID: sopInstanceUID) {
            fail(.outOfResources, "cannot create temporary file", errno: e)
            return
        }
        // The directory is created when the first open finds it missing (not tried before
        // every object); a name already taken (a leftover of an earlier process that
        // happened to draw the same prefix) moves on to the next one.
        var path = dir + "/" + writer.nextTemporaryName()
        var fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        var attempts = 1
        while fd < 0, attempts < 8, errno == ENOENT || errno == EEXIST {
            if errno == ENOENT, mkdir(dir, 0o755) != 0, errno != EEXIST {
                fail(.outOfResources, "cannot create \(dir)", errno: errno)
                return
            }
            path = dir + "/" + writer.nextTemporaryName()
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            attempts += 1
        }
        guard fd >= 0 else {
            fail(.outOfResources, "cannot create temporary file", errno: errno)
            return
        }
        self.fd = fd
        temporaryPath = path
        let meta = DICOMFile.makeMeta(sopClassUID: sopClassUID, sopInstanceUID: sopInstanceUID,
                                      transferSyntax: TransferSyntax(uid: transferSyntaxUID),
                                      sourceAETitle: sourceAETitle)
        let header: [UInt8]
        do {
            header = try DICOMFile.encodeHeader(meta: meta)
        } catch {
            fail(.dataSetMismatch, "cannot encode file meta information: \(error)")
            return
        }
        write(header[...])
    }

    /// Appends data set bytes as received. After a failure the bytes are dropped (the
    /// association keeps reading the message so that it can answer with a status).
    public func append(_ bytes: ArraySlice<UInt8>) {
        append(contentsOf: CollectionOfOne(bytes))
    }

    /// Appends consecutive pieces of data set bytes (the fragments of one hand-over from
    /// the association) with one `writev` per `IOV_MAX` pieces rather than a `write` each.
    public func append(contentsOf pieces: some Collection<ArraySlice<UInt8>>) {
        guard failure == nil, !done else { return }
        if fd < 0 { begin() }
        guard failure == nil else { return }
        var chunk: [ArraySlice<UInt8>] = []
        chunk.reserveCapacity(min(pieces.count, Self.maxPiecesPerWrite))
        for piece in pieces where !piece.isEmpty {
            dataSetBytes += Int64(piece.count)
            chunk.append(piece)
            if chunk.count == Self.maxPiecesPerWrite {
                write(chunk)
                chunk.removeAll(keepingCapacity: true)
                guard failure == nil else { return }
            }
        }
        if !chunk.isEmpty { write(chunk) }
    }

    /// Pieces per `writev` (Linux's IOV_MAX is 1024; fewer keeps the pinning recursion in
    /// ``withPointers(_:from:into:_:)`` shallow).
    static let maxPiecesPerWrite = 64

    /// Early writeback starts once this many bytes are written and not yet pushed: one
    /// `sync_file_range` per stretch rather than per fragment; a smaller object gets none and
    /// its fdatasync writes it whole. Not larger: measured with 512 KiB images from one
    /// storescu association, a 1 MiB stretch (no early writeback for them) made the serial
    /// ingest about a tenth slower than 256 KiB, at the same CPU time, because the
    /// writeback of an object's first part no longer overlapped the receipt of the rest.
    static let writebackStretch: Int64 = 256 * 1024

    private func write(_ bytes: ArraySlice<UInt8>) { write(CollectionOfOne(bytes)) }

    private func write(_ pieces: some Collection<ArraySlice<UInt8>>) {
        if let e = writer.injected(.write, sopInstanceUID: sopInstanceUID) {
            fail(.outOfResources, "write failed", errno: e)
            return
        }
        let pieces = Array(pieces)
        let total = pieces.reduce(0) { $0 + $1.count }
        let code: Int32 = Self.withPointers(pieces, from: 0, into: []) { iovecs in
            var iov = iovecs
            var remaining = total
            var first = 0
            while remaining > 0 {
                let n = iov[first...].withUnsafeBufferPointer { buf in
                    writev(fd, buf.baseAddress!, Int32(buf.count))
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                // A short write: skip what went out and continue with the rest.
                remaining -= n
                var skip = n
                while skip > 0, first < iov.count {
                    if skip >= iov[first].iov_len {
                        skip -= iov[first].iov_len
                        first += 1
                    } else {
                        iov[first].iov_base = iov[first].iov_base! + skip
                        iov[first].iov_len -= skip
                        skip = 0
                    }
                }
            }
            return 0
        }
        if code != 0 {
            fail(.outOfResources, "write failed", errno: code)
            return
        }
        fileSize += Int64(total)
        // Start pushing the written stretch to disk while the next fragments arrive: the
        // fdatasync of the commit then waits for little more than the tail. Best effort.
        if fileSize - writebackStart >= Self.writebackStretch {
            _ = qrs_start_writeback(fd, writebackStart, fileSize - writebackStart)
            writebackStart = fileSize
        }
    }

    /// Calls `body` with one iovec per piece, each piece's storage pinned meanwhile.
    private static func withPointers<R>(_ pieces: [ArraySlice<UInt8>], from i: Int, into iovecs: [iovec],
                                        _ body: ([iovec]) -> R) -> R {
        guard i < pieces.count else { return body(iovecs) }
        return pieces[i].withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return withPointers(pieces, from: i + 1, into: iovecs, body) }
            var next = iovecs
            next.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: raw.count))
            return withPointers(pieces, from: i + 1, into: next, body)
        }
    }

    /// The peer aborted, or the object is not wanted: closes and deletes the temporary file.
    /// Does nothing once the object has been handed to a commit (``stage()`` succeeded):
    /// it is complete by then and the commit owns it.
    public func discard() {
        guard staged == nil else { return }
        done = true
        removeTemporary()
    }

    /// Makes the object durable and indexed on its own (a batch of one, see
    /// ``StoreWriter/commit(_:)``), or fails cleanly.
    public func finish() -> Result<StoreOutcome, StoreFailure> {
        if let failure = stage() { return .failure(failure) }
        return writer.commit([self])[0]
    }

    /// What the commit needs from the parsed header.
    struct Staged {
        var file: DICOMFile
        var studyInstanceUID: String
        var seriesInstanceUID: String
    }

    /// Set by a successful ``stage()``; from then on the object belongs to its commit.
    private(set) var staged: Staged?

    /// Checks a complete object before it joins a commit: reads its header back (up to
    /// Pixel Data) and compares the SOP Class/Instance UIDs with the command; Study and
    /// Series Instance UID must be present. Runs on the association's lane, so that the
    /// parsing of several associations' objects proceeds in parallel and the commit does
    /// only I/O. Returns the failure (temporary file removed), or nil when the object is
    /// ready for ``StoreWriter/commit(_:)``.
    public func stage() -> StoreFailure? {
        guard !done, staged == nil else { return StoreFailure(.outOfResources, "object already finished") }
        if fd < 0, failure == nil { begin() }
        if let failure {
            finishWithoutCommit()
            return failure
        }
        do {
            staged = try validate()
            return nil
        } catch {
            finishWithoutCommit()
            return error
        }
    }

    private func finishWithoutCommit() {
        done = true
        removeTemporary()
    }

    private func validate() throws(StoreFailure) -> Staged {
        let file = try parseHeader()
        let ds = file.dataSet
        let dsClass = StoreWriter.trimmed(ds.uid(.sopClassUID) ?? "")
        let dsInstance = StoreWriter.trimmed(ds.uid(.sopInstanceUID) ?? "")
        guard dsClass == sopClassUID else {
            throw StoreFailure(.dataSetMismatch, "SOP Class UID in data set (\(dsClass)) differs from the command")
        }
        guard dsInstance == sopInstanceUID else {
            throw StoreFailure(.dataSetMismatch, "SOP Instance UID in data set (\(dsInstance)) differs from the command")
        }
        let study = StoreWriter.trimmed(ds.uid(.studyInstanceUID) ?? "")
        let series = StoreWriter.trimmed(ds.uid(.seriesInstanceUID) ?? "")
        guard !study.isEmpty else { throw StoreFailure(.dataSetMismatch, "Study Instance UID missing") }
        guard !series.isEmpty else { throw StoreFailure(.dataSetMismatch, "Series Instance UID missing") }
        return Staged(file: file, studyInstanceUID: study, seriesInstanceUID: series)
    }

    // MARK: Commit steps (called by StoreWriter.commit, under its lock)

    /// Step 1: makes the data durable. fdatasync, not fsync: the file is new and only its
    /// data and the metadata needed to read it back (size, block allocation) matter; the
    /// name becomes durable with the directory fsync after the rename.
    func syncData() -> StoreFailure? {
        if let e = writer.injected(.fsync, sopInstanceUID: sopInstanceUID) ?? (fdatasync(fd) == 0 ? nil : errno) {
            return StoreFailure(.outOfResources, "fsync failed", errno: e).described
        }
        close(fd)
        fd = -1
        return nil
    }

    /// Step 2: renames the temporary file to `path`; the temporary file is gone afterwards.
    func moveIntoPlace(_ path: String) -> StoreFailure? {
        if let e = writer.injected(.rename, sopInstanceUID: sopInstanceUID)
            ?? (rename(temporaryPath!, path) == 0 ? nil : errno) {
            return StoreFailure(.outOfResources, "cannot move the file into place", errno: e).described
        }
        temporaryPath = nil
        return nil
    }

    /// The object's commit is over (whatever the outcome): nothing of it stays in `.incoming`.
    func committed() {
        done = true
        removeTemporary()
    }

    /// Reads the file's header (up to Pixel Data) back from the temporary file: the first
    /// 64 KiB, more only when the header is longer (or the data set is deflated).
    private func parseHeader() throws(StoreFailure) -> DICOMFile {
        let size = Int(fileSize)
        var count = min(size, 64 * 1024)
        while true {
            let bytes = try readPrefix(count)
            do {
                let header = try DICOMFile.readHeader(bytes[...])
                if header.transferSyntax.isDeflated, count < size {
                    count = size
                    continue
                }
                let file = try DICOMFile(bytes: bytes[...], options: .init(stopBeforePixelData: true))
                if file.pixelDataOffset == nil, count < size {
                    count = min(size, count * 4)
                    continue
                }
                return file
            } catch {
                if count < size {
                    count = min(size, count * 4)
                    continue
                }
                throw StoreFailure(.dataSetMismatch, "cannot parse the data set: \(error)")
            }
        }
    }

    private func readPrefix(_ count: Int) throws(StoreFailure) -> [UInt8] {
        do {
            return try FileBytes.read(fd, count: count)
        } catch {
            throw StoreFailure(.outOfResources, "cannot read back the file", errno: error.errno).described
        }
    }

    private func fail(_ kind: StoreFailure.Kind, _ comment: String, errno code: Int32? = nil) {
        guard failure == nil else { return }
        failure = StoreFailure(kind, comment, errno: code).described
        removeTemporary()
    }

    private func removeTemporary() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if let path = temporaryPath {
            unlink(path)
            temporaryPath = nil
        }
    }
}

extension StoreFailure {
    /// The comment with the system error text appended.
    var described: StoreFailure {
        guard let errno else { return self }
        var copy = self
        copy.comment = "\(comment): \(StoreWriter.errorText(errno))"
        return copy
    }
}

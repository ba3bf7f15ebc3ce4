// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import DICOM
import SystemCalls

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One object being received. Not thread-safe: use it from one serial lane.
public final class IncomingObject: @unchecked Sendable {
    public let sopClassUID: String
    public let sopInstanceUID: String
    public let transferSyntaxUID: String
    public let sourceAETitle: String?
    private let writer: StoreWriter
    /// The temporary file, open while the object is received and until its data is synced.
    private var file: FileDescriptor?
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

    init(
        writer: StoreWriter, sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String,
        sourceAETitle: String?
    ) {
        self.writer = writer
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.transferSyntaxUID = transferSyntaxUID
        let ae = sourceAETitle.map { StoreWriter.trimmed($0) }
        self.sourceAETitle = (ae?.isEmpty ?? true) ? nil : ae
    }

    deinit {
        file?.close()
        if let temporaryPath { unlink(temporaryPath) }
    }

    /// Creates the temporary file and writes the Part 10 header (preamble, "DICM", group 0002
    /// with the command's SOP Class/Instance UIDs, the context's transfer syntax, our
    /// implementation identification and the calling AE as Source AE Title).
    public func begin() {
        guard file == nil, failure == nil, !done else { return }
        let dir = writer.incomingDirectory
        if let e = writer.injected(.open, sopInstanceUID: sopInstanceUID) {
            fail(.outOfResources, "cannot create temporary file", errno: e)
            return
        }
        // The directory is created when the first open finds it missing (not tried before
        // every object); a name already taken (a leftover of an earlier process that
        // happened to draw the same prefix) moves on to the next one.
        var path = dir + "/" + writer.nextTemporaryName()
        var created = Self.create(path)
        var attempts = 1
        while case .failure(let error) = created, attempts < 8, error.errno == ENOENT || error.errno == EEXIST {
            if error.errno == ENOENT, mkdir(dir, 0o755) != 0, errno != EEXIST {
                fail(.outOfResources, "cannot create \(dir)", errno: errno)
                return
            }
            path = dir + "/" + writer.nextTemporaryName()
            created = Self.create(path)
            attempts += 1
        }
        switch created {
        case .failure(let error):
            fail(.outOfResources, "cannot create temporary file", errno: error.errno)
            return
        case .success(let file):
            self.file = file
        }
        temporaryPath = path
        let meta = DICOMFile.makeMeta(
            sopClassUID: sopClassUID, sopInstanceUID: sopInstanceUID,
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

    /// A new temporary file at `path` (none may exist there).
    private static func create(_ path: String) -> Result<FileDescriptor, SystemError> {
        Result { () throws(SystemError) in
            try FileDescriptor(opening: path, flags: O_RDWR | O_CREAT | O_EXCL, permissions: 0o644)
        }
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
        if file == nil { begin() }
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

    /// Pieces per `writev` (Linux's IOV_MAX is 1024; fewer keeps the pinning recursion of
    /// ``FileDescriptor/write(gathering:)`` shallow).
    static let maxPiecesPerWrite = 64

    /// Early writeback starts once this many bytes are written and not yet pushed: one
    /// `sync_file_range` per stretch rather than per fragment; a smaller object gets none and
    /// its fdatasync writes it whole. Not larger: the writeback of an image's first part should
    /// overlap the receipt of the rest, so the stretch stays well below a typical image's size
    /// (docs/BENCHMARKS.md has the measurement).
    static let writebackStretch: Int64 = 256 * 1024

    private func write(_ bytes: ArraySlice<UInt8>) { write(CollectionOfOne(bytes)) }

    private func write(_ pieces: some Collection<ArraySlice<UInt8>>) {
        if let e = writer.injected(.write, sopInstanceUID: sopInstanceUID) {
            fail(.outOfResources, "write failed", errno: e)
            return
        }
        guard let file else {
            fail(.outOfResources, "write failed", errno: EBADF)
            return
        }
        let pieces = Array(pieces)
        do {
            try file.write(gathering: pieces)
        } catch {
            fail(.outOfResources, "write failed", errno: error.errno)
            return
        }
        let total = pieces.reduce(0) { $0 + $1.count }
        fileSize += Int64(total)
        // Start pushing the written stretch to disk while the next fragments arrive: the
        // fdatasync of the commit then waits for little more than the tail. Best effort.
        if fileSize - writebackStart >= Self.writebackStretch {
            _ = qrs_start_writeback(file.rawValue, writebackStart, fileSize - writebackStart)
            writebackStart = fileSize
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
        if file == nil, failure == nil { begin() }
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
            throw StoreFailure(
                .dataSetMismatch, "SOP Instance UID in data set (\(dsInstance)) differs from the command")
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
        if let injected = writer.injected(.fsync, sopInstanceUID: sopInstanceUID) {
            return StoreFailure(.outOfResources, "fsync failed", errno: injected).described
        }
        if let file {
            do {
                _ = try syscallValue("fdatasync") { fdatasync(file.rawValue) }
            } catch {
                return StoreFailure(.outOfResources, "fsync failed", errno: error.errno).described
            }
            file.close()
        }
        file = nil
        return nil
    }

    /// Step 2: renames the temporary file to `path`; the temporary file is gone afterwards.
    func moveIntoPlace(_ path: String) -> StoreFailure? {
        if let e = writer.injected(.rename, sopInstanceUID: sopInstanceUID)
            ?? (rename(temporaryPath!, path) == 0 ? nil : errno)
        {
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
        guard let file else { throw StoreFailure(.outOfResources, "cannot read back the file") }
        do {
            return try file.read(at: 0, count: count)
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
        file?.close()
        file = nil
        if let path = temporaryPath {
            unlink(path)
            temporaryPath = nil
        }
    }
}

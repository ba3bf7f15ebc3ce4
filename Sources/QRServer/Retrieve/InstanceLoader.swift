import Archive
import DICOM

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A stored instance ready to go out as the data set of a C-STORE-RQ.
struct LoadedInstance: Sendable {
    enum Payload: Sendable {
        /// The whole data set in memory: a slice of the file as read (no copy) when the stored
        /// syntax is the one sent, else the converted encoding.
        case whole(ArraySlice<UInt8>)
        /// A large file sent unchanged: its first chunk, the rest read piece by piece.
        case streamed(StoredDataSetFile, first: [UInt8])
    }

    var payload: Payload
    /// Whether the data set was converted from the stored transfer syntax.
    var converted: Bool

    /// Bytes this instance holds in memory now.
    var heldBytes: Int {
        switch payload {
        case .whole(let bytes): return bytes.count
        case .streamed(_, let first): return first.count
        }
    }
}

/// The data set of a stored file left open for chunked reads. Every read names its offset
/// (`pread`), so one object may be read from any worker thread; the descriptor closes with it.
final class StoredDataSetFile: Sendable {
    let path: String
    /// File offsets of the data set: `start` is where its bytes begin, `end` one past the last.
    let start: Int
    let end: Int
    private let fd: Int32

    fileprivate init(path: String, fd: Int32, start: Int, end: Int) {
        self.path = path
        self.fd = fd
        self.start = start
        self.end = end
    }

    deinit { close(fd) }

    /// Reads `count` bytes at file offset `offset` (blocking: worker pool). A short read means
    /// the file shrank since it was opened.
    func read(at offset: Int, count: Int) throws(SubOperationFailure) -> [UInt8] {
        try InstanceLoader.readExactly(fd, path: path, at: offset, count: count)
    }
}

/// Why a sub-operation could not be attempted (the instance counts as failed).
struct SubOperationFailure: Error, Sendable, CustomStringConvertible {
    var reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { reason }
}

/// Reads stored files for C-GET/C-MOVE sub-operations. Blocking: runs on the worker pool.
enum InstanceLoader {
    /// Files up to this size are read whole; larger ones sent unchanged are streamed.
    static let wholeFileLimit = 8 * 1024 * 1024
    /// Bytes read to find the end of the File Meta Information of a large file.
    static let headerProbeSize = 64 * 1024

    /// Loads `instance` for sending in `transferSyntax`.
    ///
    /// The file's data set is sent unchanged when its syntax equals the target (FF-03); the
    /// native syntaxes are converted among themselves (EN-06); an encapsulated (compressed)
    /// object can only go out in its own syntax. A file larger than ``wholeFileLimit`` sent
    /// unchanged is opened for streaming and only its first `chunkSize` data set bytes are read.
    static func load(_ instance: IndexedInstance, as target: TransferSyntax,
                     chunkSize: Int) throws(SubOperationFailure) -> LoadedInstance {
        let fd = open(instance.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SubOperationFailure("cannot read \(instance.path): \(DICOMError.io("cannot open \(instance.path): errno \(errno)"))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw SubOperationFailure("cannot read \(instance.path): errno \(e)")
        }
        let size = Int(st.st_size)
        if size > wholeFileLimit {
            var keepOpen = false
            defer { if !keepOpen { close(fd) } }
            if let streamed = try openForStreaming(instance, fd: fd, size: size, target: target, chunkSize: chunkSize) {
                keepOpen = true
                return streamed
            }
        } else {
            close(fd)
        }
        return try loadWhole(instance, as: target)
    }

    /// A large file whose stored syntax is `target`, with its first chunk read; nil when it has
    /// to be handled whole: its syntax must be converted (the converter works on whole data
    /// sets, so a converted large file is held in memory while it is sent), or its header is
    /// not within the first ``headerProbeSize`` bytes (the whole-file path reports why).
    private static func openForStreaming(_ instance: IndexedInstance, fd: Int32, size: Int, target: TransferSyntax,
                                         chunkSize: Int) throws(SubOperationFailure) -> LoadedInstance? {
        let probe = try readExactly(fd, path: instance.path, at: 0, count: min(size, headerProbeSize))
        guard let header = try? DICOMFile.readHeader(probe[...]), header.dataSetOffset < probe.count,
              header.transferSyntax.uid == target.uid else { return nil }
        try checkIdentity(header, of: instance)
        let file = StoredDataSetFile(path: instance.path, fd: fd, start: header.dataSetOffset, end: size)
        let first = try file.read(at: file.start, count: min(chunkSize, size - file.start))
        return LoadedInstance(payload: .streamed(file, first: first), converted: false)
    }

    private static func loadWhole(_ instance: IndexedInstance, as target: TransferSyntax) throws(SubOperationFailure) -> LoadedInstance {
        let bytes: [UInt8]
        do {
            bytes = try DICOMFile.readBytes(instance.path)
        } catch {
            throw SubOperationFailure("cannot read \(instance.path): \(error)")
        }
        let header: DICOMFile.Header
        do {
            header = try DICOMFile.readHeader(bytes[...])
        } catch {
            throw SubOperationFailure("not a readable DICOM file \(instance.path): \(error)")
        }
        try checkIdentity(header, of: instance)
        guard header.dataSetOffset < bytes.count else {
            throw SubOperationFailure("\(instance.path) has no data set")
        }
        let source = header.transferSyntax
        let dataSet = bytes[header.dataSetOffset...]
        if source.uid == target.uid {
            return LoadedInstance(payload: .whole(dataSet), converted: false)
        }
        guard source.isNative, target.isNative else {
            throw SubOperationFailure("cannot convert \(source) to \(target) without a codec")
        }
        do {
            let parsed = try DataSetReader.read(dataSet, transferSyntax: source)
            let encoded = try DataSetWriter.write(parsed, transferSyntax: target)
            return LoadedInstance(payload: .whole(encoded[...]), converted: true)
        } catch {
            throw SubOperationFailure("cannot convert \(instance.path) from \(source) to \(target): \(error)")
        }
    }

    /// The file must still hold the instance the index points at.
    private static func checkIdentity(_ header: DICOMFile.Header, of instance: IndexedInstance) throws(SubOperationFailure) {
        if let stored = header.meta.uid(.mediaStorageSOPInstanceUID), !stored.isEmpty,
           stored != instance.sopInstanceUID {
            throw SubOperationFailure("\(instance.path) now holds SOP instance \(stored), not \(instance.sopInstanceUID)")
        }
    }

    /// Exactly `count` bytes at `offset`, in a new array.
    static func readExactly(_ fd: Int32, path: String, at offset: Int, count: Int) throws(SubOperationFailure) -> [UInt8] {
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        guard failure == 0 else { throw SubOperationFailure("cannot read \(path): errno \(failure)") }
        guard bytes.count == count else {
            throw SubOperationFailure("\(path) is shorter than when it was opened (\(offset + bytes.count) bytes)")
        }
        return bytes
    }

    /// The transfer syntax an instance stored in `stored` goes out in, among the syntaxes of
    /// the usable contexts: the stored one if offered (no conversion), else — for a native
    /// object — a native one (Explicit VR LE, then Implicit VR LE, then the others).
    static func choose(stored: String, offered: [String]) -> String? {
        if offered.contains(stored) { return stored }
        guard TransferSyntax(uid: stored).isNative else { return nil }
        let order = [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian, .explicitVRBigEndian,
                     .deflatedExplicitVRLittleEndian].map(\.uid)
        return order.first { offered.contains($0) }
    }
}

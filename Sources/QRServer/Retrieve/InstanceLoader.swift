// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import Reactor

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A stored instance ready to go out as the data set of a C-STORE-RQ.
struct LoadedInstance: Sendable {
    enum Payload: Sendable {
        /// The whole data set in memory: the converted encoding (or, for a file whose header
        /// is not near its start, a slice of the file as read).
        case whole(ArraySlice<UInt8>)
        /// A file sent unchanged: only its header was read; the data set goes from the page
        /// cache to the socket (`sendfile`, or `writev` from a mapping) in stretches, the first
        /// of which is already resident.
        case file(StoredDataSetFile, first: DataSetStretch)
    }

    var payload: Payload
    /// Whether the data set was converted from the stored transfer syntax.
    var converted: Bool

    /// Bytes this instance holds in memory now (an open file holds none).
    var heldBytes: Int {
        switch payload {
        case .whole(let bytes): return bytes.count
        case .file: return 0
        }
    }
}

/// The data set of a stored file left open to be sent with `sendfile`; the descriptor closes
/// when the last region of it queued on a connection has been written or dropped.
final class StoredDataSetFile: Sendable {
    let file: OpenFile
    /// File offsets of the data set: `start` is where its bytes begin, `end` one past the last.
    let start: Int
    let end: Int

    fileprivate init(file: OpenFile, start: Int, end: Int) {
        self.file = file
        self.start = start
        self.end = end
    }

    var path: String { file.name }

    /// The data set bytes from `offset`, at most `count` of them, made resident in the page
    /// cache (and mapped, for a peer with small PDUs) so that the loop thread, which sends them,
    /// never waits for the disk. Blocking: runs on the worker pool.
    func residentStretch(at offset: Int, count: Int, peerMaxPDULength: UInt32) -> DataSetStretch {
        let length = max(0, min(count, end - offset))
        guard length > 0 else { return .file(file, offset: offset, length: 0, mapping: nil) }
        PageIn.makeResident(file, offset: offset, length: length)
        var mapping: FileMapping?
        if DataSetStretch.usesMapping(peerMaxPDULength: peerMaxPDULength) {
            // Failing to map (address space, an odd file system) only costs speed: use sendfile.
            mapping = try? FileMapping(file: file, offset: offset, length: length)
        }
        return .file(file, offset: offset, length: length, mapping: mapping)
    }
}

/// How data sets sent from files are cut for a peer: the bytes per stretch and the PDU length
/// the stretches are framed (and mapped or not) for.
struct StretchShape: Sendable {
    var size: Int
    var peerMaxPDULength: UInt32

    init(peerMaxPDULength: UInt32) {
        self.peerMaxPDULength = peerMaxPDULength
        size = RetrieveOperation.streamChunkSize(peerMaxPDULength: peerMaxPDULength)
    }
}

/// Why a sub-operation could not be attempted (the instance counts as failed).
struct SubOperationFailure: Error, Sendable, CustomStringConvertible {
    var reason: String
    /// Set when the stored file is damaged (truncated, not a data set): the file as found.
    var damagedFile: FileStamp?
    /// What is wrong with a damaged file (``reason`` says it with the path), as the index keeps it.
    var damage: String?
    init(_ reason: String) { self.reason = reason }
    init(damaged damage: String, path: String, file: FileStamp) {
        reason = "damaged file \(path): \(damage)"
        self.damage = damage
        damagedFile = file
    }
    var description: String { reason }
}

/// Reads stored files for C-GET/C-MOVE sub-operations. Blocking: runs on the worker pool.
enum InstanceLoader {
    /// Bytes read first to find the end of the File Meta Information: enough for the usual
    /// header, small next to the data set that is then sent without being read.
    private static let headerProbeSize = 4 * 1024
    /// Bytes read when the header did not fit in ``headerProbeSize``.
    private static let largeHeaderProbeSize = 64 * 1024
    /// Loads `instance` for sending in `transferSyntax`.
    ///
    /// The file's data set is sent unchanged when its syntax equals the target (FF-03): then
    /// only the header is read and the file stays open for `sendfile`, whatever its size. The
    /// native syntaxes are converted among themselves (EN-06), on the whole data set in memory;
    /// an encapsulated (compressed) object can only go out in its own syntax. A file sent
    /// unchanged comes with its first stretch (cut as `shape` says) already resident.
    ///
    /// A damaged file (one whose data set is not structurally whole, ``DataSetStructureCheck``)
    /// fails with ``SubOperationFailure/damagedFile`` set, and is marked so in `index`.
    static func load(
        _ instance: IndexedInstance, as target: TransferSyntax, shape: StretchShape,
        markingDamageIn index: any RetrieveIndex
    ) throws(SubOperationFailure) -> LoadedInstance {
        do {
            return try load(instance, as: target, shape: shape)
        } catch  where error.damagedFile != nil {
            var failure = error
            do {
                try index.markDamaged(
                    sopInstanceUID: instance.sopInstanceUID, path: instance.path,
                    stamp: error.damagedFile!, reason: error.damage ?? error.reason)
            } catch let marking {
                failure.reason += " (not marked damaged in the index: \(marking))"
            }
            throw failure
        }
    }

    static func load(
        _ instance: IndexedInstance, as target: TransferSyntax,
        shape: StretchShape
    ) throws(SubOperationFailure) -> LoadedInstance {
        let fd = open(instance.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SubOperationFailure(
                "cannot read \(instance.path): \(DICOMError.io("cannot open \(instance.path): errno \(errno)"))")
        }
        let file = OpenFile(takingOwnershipOf: fd, name: instance.path)
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw SubOperationFailure("cannot read \(instance.path): errno \(errno)")
        }
        let stamp = FileStamp(st)
        if let unchanged = try openUnchanged(instance, file: file, stamp: stamp, target: target, shape: shape) {
            return unchanged
        }
        return try loadWhole(instance, as: target, stamp: stamp)
    }

    /// A file whose stored syntax is `target`, with only its header read; nil when it has to be
    /// handled whole: its syntax must be converted, or its header is not within the first
    /// ``largeHeaderProbeSize`` bytes (the whole-file path reports why), or it is deflated (its
    /// structure is checked by inflating it).
    private static func openUnchanged(
        _ instance: IndexedInstance, file: OpenFile, stamp: FileStamp, target: TransferSyntax,
        shape: StretchShape
    ) throws(SubOperationFailure) -> LoadedInstance? {
        let size = Int(stamp.size)
        var header: DICOMFile.HeaderSummary?
        for probeSize in [headerProbeSize, largeHeaderProbeSize] {
            let probe = try readExactly(file.fd, path: instance.path, at: 0, count: min(size, probeSize))
            // The 8 bytes after the header are in the probe too: the syntax check looks at them.
            if let found = try? DICOMFile.readHeaderSummary(probe[...]),
                found.dataSetOffset < probe.count, found.dataSetOffset + 8 <= probe.count || probe.count == size
            {
                header = found
                break
            }
            if probe.count == size { break }
        }
        guard let header, header.transferSyntax.uid == target.uid, !target.isDeflated else { return nil }
        try checkIdentity(header, of: instance)
        try checkStructure(
            of: instance, file: file, from: header.dataSetOffset, stamp: stamp,
            transferSyntax: header.transferSyntax)
        let stored = StoredDataSetFile(file: file, start: header.dataSetOffset, end: size)
        // The payload is read by the kernel on the reactor thread (sendfile, or writev from a
        // mapping): its pages are brought in here, on the worker pool, stretch by stretch.
        let first = stored.residentStretch(
            at: stored.start, count: shape.size, peerMaxPDULength: shape.peerMaxPDULength)
        return LoadedInstance(payload: .file(stored, first: first), converted: false)
    }

    private static func loadWhole(
        _ instance: IndexedInstance, as target: TransferSyntax,
        stamp: FileStamp
    ) throws(SubOperationFailure) -> LoadedInstance {
        let bytes: [UInt8]
        do {
            bytes = try DICOMFile.readBytes(instance.path)
        } catch {
            throw SubOperationFailure("cannot read \(instance.path): \(error)")
        }
        let header: DICOMFile.HeaderSummary
        do {
            header = try DICOMFile.readHeaderSummary(bytes[...])
        } catch {
            throw SubOperationFailure(
                damaged: "not a readable DICOM file: \(error)", path: instance.path,
                file: stamp)
        }
        try checkIdentity(header, of: instance)
        guard header.dataSetOffset < bytes.count else {
            throw SubOperationFailure(damaged: "no data set", path: instance.path, file: stamp)
        }
        let source = header.transferSyntax
        let dataSet = bytes[header.dataSetOffset...]
        // Offsets in the verdict are file offsets (`bytes` is the whole file).
        let verdict = DataSetStructureCheck.check(dataSet, transferSyntax: source)
        if case .damaged = verdict { throw damaged(instance, verdict, stamp: stamp) }
        if source.uid == target.uid {
            return LoadedInstance(payload: .whole(dataSet), converted: false)
        }
        guard source.isNative, target.isNative else {
            throw SubOperationFailure("cannot convert \(source) to \(target) without a codec")
        }
        // The structure check passed; a parse that still fails means the file is damaged all the same.
        let parsed: DataSet
        do {
            parsed = try DataSetReader.read(dataSet, transferSyntax: source)
        } catch {
            throw SubOperationFailure(
                damaged: "the data set does not parse: \(error)", path: instance.path,
                file: stamp)
        }
        do {
            let encoded = try DataSetWriter.write(parsed, transferSyntax: target)
            return LoadedInstance(payload: .whole(encoded[...]), converted: true)
        } catch {
            throw SubOperationFailure("cannot convert \(instance.path) from \(source) to \(target): \(error)")
        }
    }

    /// The data set at `start` of `file` must be structurally whole (``DataSetStructureCheck``):
    /// only its element headers are read, so the file can still go out with `sendfile`.
    private static func checkStructure(
        of instance: IndexedInstance, file: OpenFile, from start: Int, stamp: FileStamp,
        transferSyntax: TransferSyntax
    ) throws(SubOperationFailure) {
        let verdict: DataSetStructureCheck.Verdict
        do {
            verdict = try DataSetStructureCheck.check(from: start, to: Int(stamp.size), transferSyntax: transferSyntax)
            {
                offset, count in try FileBytes.read(file.fd, at: offset, count: count)[...]
            }
        } catch {
            throw SubOperationFailure("cannot read \(instance.path): errno \((error as? FileReadError)?.errno ?? 0)")
        }
        if case .damaged = verdict { throw damaged(instance, verdict, stamp: stamp) }
    }

    private static func damaged(
        _ instance: IndexedInstance, _ verdict: DataSetStructureCheck.Verdict,
        stamp: FileStamp
    ) -> SubOperationFailure {
        SubOperationFailure(damaged: "\(verdict)", path: instance.path, file: stamp)
    }

    /// The file must still hold the instance the index points at.
    private static func checkIdentity(_ header: DICOMFile.HeaderSummary, of instance: IndexedInstance)
        throws(SubOperationFailure)
    {
        if let stored = header.mediaStorageSOPInstanceUID, !stored.isEmpty,
            stored != instance.sopInstanceUID
        {
            throw SubOperationFailure(
                "\(instance.path) now holds SOP instance \(stored), not \(instance.sopInstanceUID)")
        }
    }

    /// Exactly `count` bytes at `offset`, in a new array.
    private static func readExactly(_ fd: Int32, path: String, at offset: Int, count: Int) throws(SubOperationFailure)
        -> [UInt8]
    {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(fd, at: offset, count: count)
        } catch {
            throw SubOperationFailure("cannot read \(path): errno \(error.errno)")
        }
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
        let order = [
            TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian, .explicitVRBigEndian,
            .deflatedExplicitVRLittleEndian,
        ].map(\.uid)
        return order.first { offered.contains($0) }
    }
}

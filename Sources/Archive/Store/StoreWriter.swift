// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import Synchronization
import SystemCalls

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

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

    public init(
        root: String, store: any IndexStore, layout: StoreLayout = .default,
        duplicatePolicy: StoreDuplicatePolicy = .keep, fault: (@Sendable (StoreFaultPoint) -> Int32?)? = nil,
        objectFault: (@Sendable (StoreFaultPoint, String) -> Int32?)? = nil
    ) {
        self.root = StoragePath.canonical(root)
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
    public func incoming(
        sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String,
        sourceAETitle: String?
    ) -> IncomingObject {
        IncomingObject(
            writer: self, sopClassUID: Self.trimmed(sopClassUID),
            sopInstanceUID: Self.trimmed(sopInstanceUID),
            transferSyntaxUID: Self.trimmed(transferSyntaxUID), sourceAETitle: sourceAETitle)
    }

    /// Convenience: ``incoming(sopClassUID:sopInstanceUID:transferSyntaxUID:sourceAETitle:)`` + ``IncomingObject/begin()``.
    public func begin(
        sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String,
        sourceAETitle: String?
    ) -> IncomingObject {
        let object = incoming(
            sopClassUID: sopClassUID, sopInstanceUID: sopInstanceUID,
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
        do {
            let directory = try FileDescriptor(opening: path, flags: O_RDONLY | O_DIRECTORY)
            defer { directory.close() }
            _ = try syscallValue("fsync") { fsync(directory.rawValue) }
            return 0
        } catch {
            return error.errno
        }
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An open file descriptor closed when the last reference goes away, so the regions of one file
/// queued on a connection can share it and the file stays open until they are all written or
/// dropped.
public final class OpenFile: Sendable {
    /// The descriptor; valid for the lifetime of this object.
    public let fd: Int32
    /// What to call the file in errors (its path).
    public let name: String

    /// Takes ownership of `fd`: it is closed when this object is released.
    public init(takingOwnershipOf fd: Int32, name: String) {
        precondition(fd >= 0, "OpenFile needs an open descriptor")
        self.fd = fd
        self.name = name
    }

    deinit { closeDescriptor(fd) }
}

/// A stretch of a file to be written to a socket with `sendfile`, so its bytes go from the page
/// cache to the socket without a copy through user memory.
public struct FileRegion: Sendable {
    /// The file the bytes are read from.
    public let file: OpenFile
    /// File offset of the next byte to send.
    public internal(set) var offset: Int
    /// Bytes still to send.
    public internal(set) var length: Int

    /// The `length` bytes of `file` starting at `offset`.
    public init(file: OpenFile, offset: Int, length: Int) {
        precondition(offset >= 0 && length >= 0, "a file region needs a non-negative offset and length")
        self.file = file
        self.offset = offset
        self.length = length
    }
}

/// One item of a connection's output queue.
public enum OutputPiece: Sendable {
    /// Bytes in memory, written with `writev` (kept, not copied, until written).
    case bytes(ArraySlice<UInt8>)
    /// A file region, written with `sendfile`.
    case file(FileRegion)
    /// A file mapping cut into frames with a header each, moved through a pipe without a copy.
    case framed(FramedMapping)

    /// Bytes this piece still has to write.
    public var count: Int {
        switch self {
        case .bytes(let bytes): return bytes.count
        case .file(let region): return region.length
        case .framed(let framed): return framed.length
        }
    }
}

/// A file region or mapped file bytes could not be sent in full: the file ended (it got shorter
/// since the region or mapping was made) or reading it failed.
public struct FileRegionError: Error, CustomStringConvertible, Sendable {
    /// The call that failed: `"sendfile"` for a region, `"vmsplice"` (or `"writev"`) for a framed
    /// mapping.
    public var call = "sendfile"
    /// The file's name (``OpenFile/name``).
    public var file: String
    /// File offset at which sending stopped.
    public var offset: Int
    /// Bytes of the region that could not be sent.
    public var missing: Int

    public var description: String {
        "\(call): \(file) ended at offset \(offset) with \(missing) bytes of the region still to send (it got shorter)"
    }
}

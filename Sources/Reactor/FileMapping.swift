// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A read-only shared mapping of part of a file, unmapped when the last reference goes away, so
/// a ``FramedMapping`` queued on a connection keeps it alive until written.
///
/// The mapped bytes are never read in user space: they only go to the kernel as iovecs
/// (`vmsplice`, or `writev` without a pipe). If the file shrinks under the mapping, a user-space
/// read of a page past its end would raise SIGBUS, while the kernel fails the call with `EFAULT`,
/// so the connection closes with a ``FileRegionError`` and the process lives on (tested in
/// FramedMappingTests).
public final class FileMapping: @unchecked Sendable {
    // @unchecked: the mapping is read-only and never changes after init; the pointer is only
    // handed to the kernel.
    private let base: UnsafeMutableRawPointer
    private let mappedLength: Int
    /// The file mapped (kept open while mapped, for its name in errors).
    public let file: OpenFile
    /// File offset of ``start``.
    public let offset: Int
    /// Bytes of the file mapped from ``offset``.
    public let length: Int
    /// Address of the byte at file offset ``offset``.
    let start: UnsafeRawPointer

    /// Maps `length` bytes of `file` from `offset` read-only. No read-ahead advice: the bytes are
    /// made resident before they are mapped (``PageIn``).
    public init(file: OpenFile, offset: Int, length: Int) throws(SystemError) {
        precondition(offset >= 0 && length > 0, "a file mapping needs a non-negative offset and a positive length")
        let page = systemPageSize
        let alignedOffset = offset - offset % page
        let lead = offset - alignedOffset
        let total = lead + length
        guard let pointer = mmap(nil, total, PROT_READ, MAP_SHARED, file.fd, off_t(alignedOffset)),
            pointer != UnsafeMutableRawPointer(bitPattern: -1)
        else {
            throw SystemError(errno: errno, call: "mmap")
        }
        base = pointer
        mappedLength = total
        self.file = file
        self.offset = offset
        self.length = length
        start = UnsafeRawPointer(pointer + lead)
    }

    deinit { munmap(base, mappedLength) }
}

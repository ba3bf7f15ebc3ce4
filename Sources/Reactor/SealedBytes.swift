// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A few bytes in pages of their own that are written once, when made, and then made read-only.
///
/// Memory handed to `vmsplice` is not copied: the pipe, and then the socket buffers of both ends
/// of a loopback connection, keep references to its pages until the peer has read the bytes, and
/// nothing tells the sender when that is. Heap memory would be reused for something else while
/// still referenced, and the peer would receive the new contents. These pages are never written
/// again; unmapping them when this object goes leaves a page that is still referenced alive
/// until the kernel lets go of it.
public final class SealedBytes: @unchecked Sendable {
    // @unchecked: the pages are read-only after init (mprotect) and only handed to the kernel.
    private let base: UnsafeMutableRawPointer
    private let mappedLength: Int
    /// Bytes written by the initialiser's `fill`.
    public let count: Int

    /// Maps fresh pages for `count` bytes, lets `fill` write them, then seals them read-only.
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) throws(SystemError) {
        precondition(count > 0, "sealed bytes need a positive count")
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = (count + page - 1) / page * page
        guard let pointer = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              pointer != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw SystemError(errno: errno, call: "mmap")
        }
        fill(UnsafeMutableRawBufferPointer(start: pointer, count: count))
        guard mprotect(pointer, length, PROT_READ) == 0 else {
            let error = SystemError(errno: errno, call: "mprotect")
            munmap(pointer, length)
            throw error
        }
        base = pointer
        mappedLength = length
        self.count = count
    }

    deinit { munmap(base, mappedLength) }

    /// Address of the first byte (for the kernel, or for reading).
    public var start: UnsafeRawPointer { UnsafeRawPointer(base) }
}

// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Anonymous pages filled front to back, where bytes once written never change.
///
/// Memory handed to `vmsplice` is not copied: the pipe, and then the socket buffers of both ends
/// of a loopback connection, keep references to its pages until the peer has read the bytes, and
/// nothing tells the sender when that is. Heap memory would be reused for something else while
/// still referenced, and the peer would receive the new contents. These pages are only ever
/// appended to, so a referenced byte keeps its value; unmapping them when the last
/// ``SealedBytes`` goes leaves a page the kernel still references alive until it lets go.
final class ImmutablePages: @unchecked Sendable {
    // @unchecked: only the owning arena appends (on one thread); bytes already handed out are
    // never written again, and are only read (by the kernel, or by tests).
    private let base: UnsafeMutableRawPointer
    let capacity: Int
    private(set) var used = 0

    init(capacity: Int) throws(SystemError) {
        let page = systemPageSize
        let length = max(page, (capacity + page - 1) / page * page)
        guard let pointer = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            pointer != UnsafeMutableRawPointer(bitPattern: -1)
        else {
            throw SystemError(errno: errno, call: "mmap")
        }
        base = pointer
        self.capacity = length
    }

    deinit { munmap(base, capacity) }

    var start: UnsafeRawPointer { UnsafeRawPointer(base) }

    /// Lets `fill` write `count` bytes after those already written; their offset, or nil when
    /// they do not fit.
    func append(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) -> Int? {
        guard count <= capacity - used else { return nil }
        let offset = used
        fill(UnsafeMutableRawBufferPointer(start: base + offset, count: count))
        used += count
        return offset
    }
}

/// A few bytes (e.g. PDU headers) that will never change, safe to hand to `vmsplice`; made by a
/// ``SealedBytesArena``. They keep their pages mapped while they exist.
public struct SealedBytes: Sendable {
    let pages: ImmutablePages
    let offset: Int
    /// Bytes written.
    public let count: Int

    /// Address of the first byte (for the kernel, or for reading).
    public var start: UnsafeRawPointer { pages.start + offset }
}

/// Hands out ``SealedBytes`` from shared pages, so that many small header blocks cost one
/// mapping instead of one each. Confined to one thread (a connection's loop).
public final class SealedBytesArena {
    private var current: ImmutablePages?
    private let chunkSize: Int

    /// An arena that maps `chunkSize` bytes at a time (larger requests get pages of their own).
    public init(chunkSize: Int = 64 * 1024) {
        self.chunkSize = chunkSize
    }

    /// `count` bytes written by `fill`, never changed afterwards.
    public func bytes(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) throws(SystemError) -> SealedBytes {
        precondition(count > 0, "sealed bytes need a positive count")
        if let current, let offset = current.append(count: count, fill: fill) {
            return SealedBytes(pages: current, offset: offset, count: count)
        }
        let pages = try ImmutablePages(capacity: max(count, chunkSize))
        guard let offset = pages.append(count: count, fill: fill) else {
            preconditionFailure("fresh pages hold what they were sized for")
        }
        current = pages
        return SealedBytes(pages: pages, offset: offset, count: count)
    }
}

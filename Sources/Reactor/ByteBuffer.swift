// SPDX-License-Identifier: Apache-2.0

/// Received bytes as a queue of chunks, read from without copying.
///
/// Each socket read lands directly in a freshly allocated `[UInt8]` chunk (a read that filled
/// less than half of it is copied onto the previous chunk instead, see
/// ``appendCoalescing(_:)``), which is then only ever sliced: ``peek(_:)`` and ``readSlice(_:)`` return an `ArraySlice` sharing the chunk's storage
/// when the requested bytes lie within one chunk, and copy only when they span chunks. A decoder can
/// therefore keep slices of a PDU without holding on to a private copy.
public struct ByteBuffer: Sendable {
    /// Unconsumed chunks; `chunks[head...]` are live. Each slice is trimmed from the front as it
    /// is consumed, which is O(1) for `ArraySlice`.
    private var chunks: [ArraySlice<UInt8>] = []
    private var head = 0

    /// Number of bytes not yet consumed.
    public private(set) var readableBytes = 0

    /// An empty buffer.
    public init() {}

    /// Whether no bytes are readable.
    public var isEmpty: Bool { readableBytes == 0 }

    /// Number of chunks holding readable bytes (for tests and diagnostics).
    public var chunkCount: Int { chunks.count - head }

    /// Appends `bytes` as a chunk (shared, not copied).
    public mutating func append(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        chunks.append(bytes)
        readableBytes += bytes.count
    }

    /// Copies `bytes` onto the end of the last chunk (in place while that chunk's storage is not
    /// shared and has room; otherwise its unconsumed bytes move to new storage that grows
    /// geometrically), so that many small appends cost memory in proportion to their bytes and
    /// add no chunk each.
    public mutating func appendCoalescing(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        if head < chunks.count {
            chunks[chunks.count - 1].append(contentsOf: bytes)
        } else {
            chunks.append(ArraySlice(Array(bytes)))
        }
        readableBytes += bytes.count
    }

    /// Appends `bytes` as a chunk.
    public mutating func append(_ bytes: [UInt8]) {
        append(bytes[...])
    }

    /// The next `count` readable bytes without consuming them, or nil if fewer are readable.
    ///
    /// Shares storage with the buffer when the bytes lie within one chunk; copies otherwise.
    public func peek(_ count: Int) -> ArraySlice<UInt8>? {
        precondition(count >= 0, "negative count")
        guard count <= readableBytes else { return nil }
        if count == 0 { return [] }
        let first = chunks[head]
        if first.count >= count {
            return first.prefix(count)
        }
        var result = [UInt8]()
        result.reserveCapacity(count)
        var index = head
        while result.count < count {
            let chunk = chunks[index]
            result.append(contentsOf: chunk.prefix(count - result.count))
            index += 1
        }
        return result[...]
    }

    /// Consumes and returns the next `count` bytes, or nil (consuming nothing) if fewer are readable.
    public mutating func readSlice(_ count: Int) -> ArraySlice<UInt8>? {
        guard let slice = peek(count) else { return nil }
        moveReaderIndex(forwardBy: count)
        return slice
    }

    /// Consumes `count` bytes. Traps if fewer are readable.
    public mutating func moveReaderIndex(forwardBy count: Int) {
        precondition(
            count >= 0 && count <= readableBytes,
            "moveReaderIndex(forwardBy: \(count)) past \(readableBytes) readable bytes")
        var remaining = count
        readableBytes -= count
        while remaining > 0 {
            let available = chunks[head].count
            if available <= remaining {
                remaining -= available
                chunks[head] = []
                head += 1
            } else {
                chunks[head].removeFirst(remaining)
                remaining = 0
            }
        }
        compactIfNeeded()
    }

    /// All readable bytes as one contiguous slice, without consuming them.
    /// Shares storage when they lie within one chunk; copies otherwise.
    public var readableView: ArraySlice<UInt8> {
        peek(readableBytes)!
    }

    /// Reads an integer of `endianness` at `offset` bytes past the reader index without consuming it,
    /// or nil if not enough bytes are readable. The byte order is explicit because DICOM mixes them.
    public func peekInteger<T: FixedWidthInteger>(at offset: Int = 0, endianness: Endianness, as type: T.Type = T.self)
        -> T?
    {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset + size <= readableBytes else { return nil }
        var value: T = 0
        var index = 0
        var position = 0
        var chunkIndex = head
        // Walk to the first byte without materialising a copy of everything before it.
        while position + chunks[chunkIndex].count <= offset {
            position += chunks[chunkIndex].count
            chunkIndex += 1
        }
        var within = offset - position
        while index < size {
            let chunk = chunks[chunkIndex]
            let byte = chunk[chunk.startIndex + within]
            switch endianness {
            case .big: value = value << 8 | T(byte)
            case .little: value |= T(byte) << (8 * index)
            }
            index += 1
            within += 1
            if within == chunk.count {
                within = 0
                chunkIndex += 1
            }
        }
        return value
    }

    /// Reads and consumes an integer of `endianness`, or returns nil (consuming nothing).
    public mutating func readInteger<T: FixedWidthInteger>(endianness: Endianness, as type: T.Type = T.self) -> T? {
        guard let value = peekInteger(at: 0, endianness: endianness, as: T.self) else { return nil }
        moveReaderIndex(forwardBy: MemoryLayout<T>.size)
        return value
    }

    /// Removes all readable bytes.
    public mutating func clear() {
        chunks.removeAll(keepingCapacity: true)
        head = 0
        readableBytes = 0
    }

    private mutating func compactIfNeeded() {
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32 && head * 2 >= chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }
}

/// Byte order for integer reads.
public enum Endianness: Sendable {
    /// Most significant byte first (PDU headers).
    case big
    /// Least significant byte first (DIMSE commands, most data sets).
    case little
}

// SPDX-License-Identifier: Apache-2.0
import CSystemShims

/// Chooses the size of the next receive chunk: it grows while reads fill whole chunks (a fast
/// sender) and shrinks when they come back mostly empty, so idle connections don't pin large
/// chunks.
struct ReadChunkSizer {
    static let minimum = 16 * 1024
    static let maximum = 256 * 1024

    private(set) var next = ReadChunkSizer.minimum

    mutating func record(bytesRead: Int, chunkSize: Int) {
        if bytesRead == chunkSize {
            next = min(next * 2, Self.maximum)
        } else if bytesRead < chunkSize / 4 {
            next = max(next / 2, Self.minimum)
        }
    }
}

extension ByteBuffer {
    /// Reads once from `fd` into a new chunk of `chunkSize` bytes and appends what was read
    /// (see ``read(chunkSize:_:)``).
    ///
    /// - Returns: `.processed(n)` with n bytes read (0 at end of stream) or `.wouldBlock`.
    mutating func read(from fd: Int32, chunkSize: Int) throws(SystemError) -> IOResult<Int> {
        try read(chunkSize: chunkSize) { (buffer) throws(SystemError) -> IOResult<Int> in
            switch try syscall("read", blocking: true, { qrs_read(fd, buffer.baseAddress, chunkSize) }) {
            case .processed(let n): return .processed(Int(n))
            case .wouldBlock: return .wouldBlock
            }
        }
    }

    /// Lets `fill` store up to `chunkSize` bytes in a new chunk (returning how many) and
    /// appends them; how transports read (a socket `read`, a TLS record layer).
    ///
    /// A chunk that came back at least half full is kept as it is (no copy). A smaller read is
    /// copied onto the end of the last chunk and its chunk freed at once: kept, a one-byte read
    /// would pin a whole chunk until the PDU it belongs to completes, so a peer sending one byte
    /// per segment would cost memory in proportion to its segment count, not to its bytes.
    ///
    /// - Returns: what `fill` returned: `.processed(n)` (0 at end of stream) or `.wouldBlock`.
    @inline(__always)
    public mutating func read<E: Error>(
        chunkSize: Int,
        _ fill: (UnsafeMutableBufferPointer<UInt8>) throws(E) -> IOResult<Int>
    ) throws(E) -> IOResult<Int> {
        var outcome: Result<IOResult<Int>, E> = .success(.wouldBlock)
        let chunk = [UInt8](unsafeUninitializedCapacity: chunkSize) { buffer, initialized in
            outcome = Result { () throws(E) -> IOResult<Int> in try fill(buffer) }
            if case .success(.processed(let n)) = outcome { initialized = n } else { initialized = 0 }
        }
        let result = try outcome.get()
        if case .processed(let n) = result, n > 0 {
            if n * 2 >= chunkSize {
                append(chunk[...])
            } else {
                appendCoalescing(chunk[...])
            }
        }
        return result
    }
}

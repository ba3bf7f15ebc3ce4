// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Part of a ``FileMapping`` cut into frames that each go out after a header of their own —
/// `[header 0][payload 0][header 1][payload 1]…` — with no byte of it copied in user space.
///
/// This is how a data set stretch goes to a peer with small PDUs: the payloads are the file's
/// bytes, the headers the PDU and PDV headers, all in ``SealedBytes``. A connection moves the
/// frames into a pipe with `vmsplice` and on to the socket with `splice`, so the kernel passes
/// page references instead of copying 16 KiB per PDU; without a pipe it gathers them into
/// `writev` calls (one copy, as for byte slices).
public struct FramedMapping: Sendable {
    /// The mapping the payloads lie in.
    public let mapping: FileMapping
    /// Every frame's header, `headerLength` bytes each, in frame order.
    public let headers: SealedBytes
    /// Bytes of each header.
    public let headerLength: Int
    /// Payload bytes of each frame; the last frame may have fewer.
    public let frameLength: Int
    /// File offset of the first payload byte.
    public let payloadOffset: Int
    /// Payload bytes of all frames.
    public let payloadLength: Int
    /// Header and payload bytes of all frames.
    public let totalLength: Int
    /// Bytes (from the start) already handed to the kernel: in the pipe or in the socket.
    var loaded = 0
    /// Bytes (from the start) already written to the socket.
    var sent = 0

    /// The `payloadLength` bytes at file offset `payloadOffset`, which must lie within
    /// `mapping`, cut into frames of `frameLength`, with `headers` holding one header of
    /// `headerLength` bytes per frame.
    public init(
        mapping: FileMapping, payloadOffset: Int, payloadLength: Int, frameLength: Int,
        headers: SealedBytes, headerLength: Int
    ) {
        precondition(payloadLength > 0 && frameLength > 0 && headerLength > 0, "frames need positive lengths")
        precondition(
            payloadOffset >= mapping.offset && payloadOffset + payloadLength <= mapping.offset + mapping.length,
            "framed payloads must lie within their mapping")
        let frames = (payloadLength + frameLength - 1) / frameLength
        precondition(headers.count >= frames * headerLength, "one header per frame")
        self.mapping = mapping
        self.headers = headers
        self.headerLength = headerLength
        self.frameLength = frameLength
        self.payloadOffset = payloadOffset
        self.payloadLength = payloadLength
        totalLength = payloadLength + frames * headerLength
    }

    /// Bytes still to write to the socket.
    public var length: Int { totalLength - sent }

    /// Fills up to `capacity` iovecs with the framed bytes from `position` on; returns how many
    /// iovecs and bytes that is.
    func segments(from position: Int, into iovecs: UnsafeMutablePointer<iovec>, capacity: Int) -> (
        count: Int, bytes: Int
    ) {
        let stride = headerLength + frameLength
        let payloadBase = mapping.start + (payloadOffset - mapping.offset)
        var position = position
        var count = 0
        var bytes = 0
        while count < capacity && position < totalLength {
            // Every frame but the last is `stride` long, so the frame index is a division.
            let frame = position / stride
            let within = position % stride
            let address: UnsafeRawPointer
            let length: Int
            if within < headerLength {
                address = headers.start + frame * headerLength + within
                length = headerLength - within
            } else {
                let start = frame * frameLength + (within - headerLength)
                address = payloadBase + start
                length = min((frame + 1) * frameLength, payloadLength) - start
            }
            iovecs[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: address), iov_len: length)
            count += 1
            bytes += length
            position += length
        }
        return (count, bytes)
    }

    /// File offset of the payload byte at framed `position` or the next one after it.
    func fileOffset(at position: Int) -> Int {
        let stride = headerLength + frameLength
        let frame = position / stride
        let within = max(0, position % stride - headerLength)
        return payloadOffset + min(payloadLength, frame * frameLength + within)
    }
}

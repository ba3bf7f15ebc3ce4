// SPDX-License-Identifier: Apache-2.0
/// Splits a DIMSE message into P-DATA-TF PDUs (PS3.8 §9.3.5, Annex D.1, Annex E; UL-12).
///
/// The peer's Maximum Length (51H) bounds the PDU length field of each P-DATA-TF, i.e. the sum of
/// its PDV items including their 4-byte length and 2-byte header (PS3.8 D.1). Policy: **exactly one
/// PDV per PDU**, so each fragment is at most `maxPDULength - 6` bytes. A maximum of 0 (unlimited)
/// is replaced by ``unlimitedCap`` (1 MiB). A (non-conformant) maximum below 7 is treated as 7 so
/// that progress is possible. The command is sent first, then the data set; payload bytes are
/// never copied: the output holds slices of the caller's buffers.
public enum DIMSEFragmenter {
    /// The PDU length used when the peer's maximum is 0 (no limit).
    public static let unlimitedCap: UInt32 = 1024 * 1024

    /// Largest fragment per PDV for a peer maximum.
    public static func maxFragmentLength(peerMaxPDULength: UInt32) -> Int {
        let max = peerMaxPDULength == 0 ? unlimitedCap : peerMaxPDULength
        return Swift.max(1, Int(max) - 6)
    }

    /// The message as P-DATA-TF values, one PDV each. A PDV never spans two data set slices
    /// (so small slices give small PDUs); see ``pieces(contextID:command:dataSet:peerMaxPDULength:)``.
    public static func pData(
        contextID: UInt8, command: ArraySlice<UInt8>, dataSet: [ArraySlice<UInt8>]?,
        peerMaxPDULength: UInt32
    ) -> [PDataTF] {
        let cap = maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
        var out: [PDataTF] = []
        func emit(_ parts: [ArraySlice<UInt8>], isCommand: Bool) {
            let nonEmpty = parts.filter { !$0.isEmpty }
            if nonEmpty.isEmpty {
                out.append(
                    PDataTF(pdvs: [
                        PDV(
                            contextID: contextID, isCommand: isCommand, isLast: true,
                            fragment: parts.first?.prefix(0) ?? [])
                    ]))
                return
            }
            for (n, part) in nonEmpty.enumerated() {
                var rest = part
                while !rest.isEmpty {
                    let chunk = rest.prefix(cap)
                    rest = rest.dropFirst(chunk.count)
                    let last = rest.isEmpty && n == nonEmpty.count - 1
                    out.append(
                        PDataTF(pdvs: [
                            PDV(
                                contextID: contextID, isCommand: isCommand, isLast: last,
                                fragment: chunk)
                        ]))
                }
            }
        }
        emit([command], isCommand: true)
        if let dataSet { emit(dataSet, isCommand: false) }
        return out
    }

    /// The message as a flat list of byte pieces for `writev`: for each PDU, a small array holding the
    /// 6-byte PDU header and 6-byte PDV header, followed by one or more slices of the payload.
    /// A PDV may span several data set slices, so every PDU but the last of each part is full.
    public static func pieces(
        contextID: UInt8, command: ArraySlice<UInt8>, dataSet: [ArraySlice<UInt8>]?,
        peerMaxPDULength: UInt32
    ) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        emit(
            [command], contextID: contextID, isCommand: true, endsPart: true, peerMaxPDULength: peerMaxPDULength,
            into: &out)
        if let dataSet {
            emit(
                dataSet, contextID: contextID, isCommand: false, endsPart: true, peerMaxPDULength: peerMaxPDULength,
                into: &out)
        }
        return out
    }

    /// One stretch of a data set sent in several calls (streamed from disk), as `writev` pieces
    /// like ``pieces(contextID:command:dataSet:peerMaxPDULength:)``: only when `isLast` does the
    /// final PDV carry the last-fragment bit. Stretches that are multiples of
    /// ``maxFragmentLength(peerMaxPDULength:)`` give full PDUs throughout.
    public static func dataSetPieces(
        contextID: UInt8, _ parts: [ArraySlice<UInt8>], isLast: Bool,
        peerMaxPDULength: UInt32
    ) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        emit(
            parts, contextID: contextID, isCommand: false, endsPart: isLast, peerMaxPDULength: peerMaxPDULength,
            into: &out)
        return out
    }

    /// Cuts `parts` into PDUs of one PDV each; the last PDV is marked last only if `endsPart`.
    private static func emit(
        _ parts: [ArraySlice<UInt8>], contextID: UInt8, isCommand: Bool, endsPart: Bool,
        peerMaxPDULength: UInt32, into out: inout [ArraySlice<UInt8>]
    ) {
        let cap = maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
        var queue = parts.filter { !$0.isEmpty }[...]
        repeat {
            var chunk: [ArraySlice<UInt8>] = []
            var size = 0
            while size < cap, var head = queue.first {
                let take = head.prefix(cap - size)
                chunk.append(take)
                size += take.count
                head = head.dropFirst(take.count)
                if head.isEmpty { queue = queue.dropFirst() } else { queue[queue.startIndex] = head }
            }
            out.append(
                frameHeader(
                    contextID: contextID, isCommand: isCommand, isLast: endsPart && queue.isEmpty,
                    payloadLength: size)[...])
            out += chunk
        } while !queue.isEmpty
    }

    /// The bytes before a PDV's payload when it is the only PDV of its P-DATA-TF PDU: the 6-byte
    /// PDU header, the 4-byte PDV item length (big-endian) and the context ID and message
    /// control header.
    public static func frameHeader(contextID: UInt8, isCommand: Bool, isLast: Bool, payloadLength: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: frameHeaderLength) { buffer, initialized in
            writeFrameHeader(
                contextID: contextID, isCommand: isCommand, isLast: isLast, payloadLength: payloadLength,
                into: UnsafeMutableRawBufferPointer(buffer))
            initialized = frameHeaderLength
        }
    }

    /// Bytes of ``frameHeader(contextID:isCommand:isLast:payloadLength:)``.
    public static let frameHeaderLength = 12

    /// Writes ``frameHeader(contextID:isCommand:isLast:payloadLength:)`` into the first
    /// ``frameHeaderLength`` bytes of `buffer`, for senders that keep headers in memory of their own.
    public static func writeFrameHeader(
        contextID: UInt8, isCommand: Bool, isLast: Bool, payloadLength: Int,
        into buffer: UnsafeMutableRawBufferPointer
    ) {
        precondition(buffer.count >= frameHeaderLength, "a frame header needs \(frameHeaderLength) bytes")
        let pdv = PDV(contextID: contextID, isCommand: isCommand, isLast: isLast, fragment: [])
        buffer[0] = PDUType.pData.rawValue
        buffer[1] = 0
        buffer.storeBytes(of: UInt32(payloadLength + 6).bigEndian, toByteOffset: 2, as: UInt32.self)
        buffer.storeBytes(of: UInt32(payloadLength + 2).bigEndian, toByteOffset: 6, as: UInt32.self)
        buffer[10] = contextID
        buffer[11] = pdv.messageControlHeader
    }

    /// Writes the headers of every frame of ``dataSetFrames(contextID:length:isLast:peerMaxPDULength:)``
    /// for a stretch of `length` bytes into `buffer`, one after the other (``frameHeaderLength``
    /// bytes each); returns the number of frames.
    @discardableResult
    public static func writeDataSetFrameHeaders(
        contextID: UInt8, length: Int, isLast: Bool, peerMaxPDULength: UInt32,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        let cap = maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
        let frames = dataSetFrameCount(length: length, peerMaxPDULength: peerMaxPDULength)
        precondition(buffer.count >= frames * frameHeaderLength, "room for every frame's header")
        for frame in 0..<frames {
            let start = frame * cap
            let end = min(length, start + cap)
            writeFrameHeader(
                contextID: contextID, isCommand: false, isLast: isLast && end == length,
                payloadLength: end - start,
                into: UnsafeMutableRawBufferPointer(rebasing: buffer[(frame * frameHeaderLength)...]))
        }
        return frames
    }

    /// Frames of ``dataSetFrames(contextID:length:isLast:peerMaxPDULength:)`` for a stretch of
    /// `length` bytes (one, empty, when `length` is 0).
    public static func dataSetFrameCount(length: Int, peerMaxPDULength: UInt32) -> Int {
        let cap = maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
        return max(1, (length + cap - 1) / cap)
    }

    /// One PDU of a data set stretch whose payload stays where it is (a file): the header bytes to
    /// write and the range of the stretch that follows them.
    public struct Frame: Equatable, Sendable {
        /// PDU and PDV header bytes (``frameHeader(contextID:isCommand:isLast:payloadLength:)``).
        public var header: [UInt8]
        /// The payload: offsets into the stretch, from 0 to its length.
        public var payload: Range<Int>
    }

    /// The framing of a data set stretch of `length` bytes, for a sender that writes each
    /// frame's header followed by the stretch's bytes in `payload` (e.g. from a file). The bytes
    /// are those of ``dataSetPieces(contextID:_:isLast:peerMaxPDULength:)`` for a stretch of that
    /// length: full PDUs, only the last marked last, and only when `isLast`.
    public static func dataSetFrames(
        contextID: UInt8, length: Int, isLast: Bool,
        peerMaxPDULength: UInt32
    ) -> [Frame] {
        let cap = maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
        var frames: [Frame] = []
        frames.reserveCapacity(max(1, (length + cap - 1) / cap))
        var start = 0
        repeat {
            let end = min(length, start + cap)
            frames.append(
                Frame(
                    header: frameHeader(
                        contextID: contextID, isCommand: false,
                        isLast: isLast && end == length, payloadLength: end - start),
                    payload: start..<end))
            start = end
        } while start < length
        return frames
    }
}

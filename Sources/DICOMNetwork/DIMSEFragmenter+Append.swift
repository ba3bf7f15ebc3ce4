// SPDX-License-Identifier: Apache-2.0
extension DIMSEFragmenter {
    /// Appends the message's P-DATA-TF PDUs to `out` as contiguous bytes: the same bytes,
    /// in the same order, as concatenating ``pieces(contextID:command:dataSet:peerMaxPDULength:)``
    /// for a data set in one slice. Used to frame a whole page of C-FIND responses into one
    /// buffer off the reactor thread.
    public static func append(
        contextID: UInt8, command: ArraySlice<UInt8>, dataSet: ArraySlice<UInt8>?,
        peerMaxPDULength: UInt32, into out: inout [UInt8]
    ) {
        let cap = maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
        appendPart(command, isCommand: true, contextID: contextID, cap: cap, into: &out)
        if let dataSet { appendPart(dataSet, isCommand: false, contextID: contextID, cap: cap, into: &out) }
    }

    private static func appendPart(
        _ part: ArraySlice<UInt8>, isCommand: Bool, contextID: UInt8, cap: Int,
        into out: inout [UInt8]
    ) {
        var rest = part
        repeat {
            let chunk = rest.prefix(cap)
            rest = rest.dropFirst(chunk.count)
            let size = UInt32(chunk.count)
            out.append(PDUType.pData.rawValue)
            out.append(0)
            out.appendBigEndian(size + 6)  // PDU length: big-endian
            out.appendBigEndian(size + 2)  // PDV item length: big-endian
            out.append(contextID)
            out.append((isCommand ? 0x01 : 0x00) | (rest.isEmpty ? 0x02 : 0x00))
            out.append(contentsOf: chunk)
        } while !rest.isEmpty
    }
}

extension DIMSEFragmenter {
    /// A command without a data set as its P-DATA-TF PDUs in one buffer of the exact size: the
    /// bytes of ``pieces(contextID:command:dataSet:peerMaxPDULength:)`` for no data set, for a
    /// sender that writes them as one piece.
    public static func commandPDUs(contextID: UInt8, command: CommandSet, peerMaxPDULength: UInt32) -> [UInt8] {
        let encoded = command.encoded()
        let cap = maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
        let frames = Swift.max(1, (encoded.count + cap - 1) / cap)
        return [UInt8](count: encoded.count + frames * frameHeaderLength) { out in
            encoded.withUnsafeBytes { source in
                var written = 0
                var start = 0
                repeat {
                    let end = Swift.min(source.count, start + cap)
                    writeFrameHeader(
                        contextID: contextID, isCommand: true, isLast: end == source.count,
                        payloadLength: end - start,
                        into: UnsafeMutableRawBufferPointer(rebasing: out[written...]))
                    written += frameHeaderLength
                    UnsafeMutableRawBufferPointer(rebasing: out[written...])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<end]))
                    written += end - start
                    start = end
                } while start < source.count
                precondition(written == out.count, "every frame written")
            }
        }
    }
}

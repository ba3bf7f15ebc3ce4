extension DIMSEFragmenter {
    /// Appends the message's P-DATA-TF PDUs to `out` as contiguous bytes: the same bytes,
    /// in the same order, as concatenating ``pieces(contextID:command:dataSet:peerMaxPDULength:)``
    /// for a data set in one slice. Used to frame a whole page of C-FIND responses into one
    /// buffer off the reactor thread.
    public static func append(contextID: UInt8, command: ArraySlice<UInt8>, dataSet: ArraySlice<UInt8>?,
                              peerMaxPDULength: UInt32, into out: inout [UInt8]) {
        let cap = maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
        appendPart(command, isCommand: true, contextID: contextID, cap: cap, into: &out)
        if let dataSet { appendPart(dataSet, isCommand: false, contextID: contextID, cap: cap, into: &out) }
    }

    private static func appendPart(_ part: ArraySlice<UInt8>, isCommand: Bool, contextID: UInt8, cap: Int,
                                   into out: inout [UInt8]) {
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

// SPDX-License-Identifier: Apache-2.0
/// One presentation data value item of a P-DATA-TF (PS3.8 §9.3.5.1, Annex E; UL-17/18).
///
/// Wire form: 4-byte big-endian item length (= fragment length + 2), context ID, message control
/// header (bit 0 command, bit 1 last fragment), fragment. `fragment` is a slice of the decoded
/// input (no copy).
public struct PDV: Sendable, Hashable {
    public var contextID: UInt8
    public var isCommand: Bool
    public var isLast: Bool
    public var fragment: ArraySlice<UInt8>

    public init(contextID: UInt8, isCommand: Bool, isLast: Bool, fragment: ArraySlice<UInt8>) {
        self.contextID = contextID
        self.isCommand = isCommand
        self.isLast = isLast
        self.fragment = fragment
    }

    /// The message control header byte (other bits zero).
    public var messageControlHeader: UInt8 {
        (isCommand ? 0x01 : 0x00) | (isLast ? 0x02 : 0x00)
    }

    /// Bytes of this PDV item on the wire (item length field + 4).
    public var encodedCount: Int { fragment.count + 6 }

    /// The 6 bytes preceding the fragment: item length (big-endian), context ID, control header.
    public func itemHeader() -> [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(6)
        b.appendBigEndian(UInt32(fragment.count + 2))  // PDV item length: big-endian
        b.append(contextID)
        b.append(messageControlHeader)
        return b
    }
}

/// P-DATA-TF PDU (PS3.8 §9.3.5): one or more PDV items.
public struct PDataTF: Sendable, Hashable {
    public var pdvs: [PDV]

    public init(pdvs: [PDV]) {
        self.pdvs = pdvs
    }

    /// The value of the PDU length field: sum of the PDV items.
    public var pduLength: Int { pdvs.reduce(0) { $0 + $1.encodedCount } }

    /// Zero-copy encoding for `writev`: the PDU header plus the first PDV header as one small array,
    /// then the fragment slice, then the next PDV header, and so on. Fragments are not copied.
    public func encodedPieces() -> [ArraySlice<UInt8>] {
        var pieces: [ArraySlice<UInt8>] = []
        pieces.reserveCapacity(pdvs.count * 2)
        var head = PDUHeader(type: PDUType.pData.rawValue, length: UInt32(pduLength)).encoded()
        for pdv in pdvs {
            head += pdv.itemHeader()
            pieces.append(head[...])
            if !pdv.fragment.isEmpty { pieces.append(pdv.fragment) }
            head = []
        }
        if !head.isEmpty { pieces.append(head[...]) }
        return pieces
    }
}

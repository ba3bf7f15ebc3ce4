// SPDX-License-Identifier: Apache-2.0
/// The seven PDU types of the DICOM upper layer (PS3.8 §9.3.1, UL-02).
public enum PDUType: UInt8, Sendable, Hashable, CaseIterable {
    case associateRQ = 0x01
    case associateAC = 0x02
    case associateRJ = 0x03
    case pData = 0x04
    case releaseRQ = 0x05
    case releaseRP = 0x06
    case abort = 0x07
}

/// The 6-byte header common to all PDUs (PS3.8 §9.3.1): type, reserved, 4-byte big-endian length
/// of the body (the header itself not counted, UL-01).
public struct PDUHeader: Sendable, Hashable {
    /// The raw type byte (may be an unknown type; see ``pduType``).
    public var type: UInt8
    /// The PDU length field: number of bytes following the header.
    public var length: UInt32

    public init(type: UInt8, length: UInt32) {
        self.type = type
        self.length = length
    }

    /// The known PDU type, or `nil` for an unrecognized type byte (Evt19).
    public var pduType: PDUType? { PDUType(rawValue: type) }

    /// The size of the header on the wire.
    public static let size = 6

    /// Reads the header from the first 6 bytes without consuming them; `nil` when fewer than 6 bytes
    /// are available. The reserved byte is not checked (UL-03).
    public static func peek(_ bytes: ArraySlice<UInt8>) -> PDUHeader? {
        var r = ByteReader(bytes)
        guard let type = r.readUInt8(), r.readUInt8() != nil,
            let length = r.readUInt32BigEndian()  // PDU length: big-endian
        else { return nil }
        return PDUHeader(type: type, length: length)
    }

    /// The header bytes (reserved byte zero).
    public func encoded() -> [UInt8] {
        var b: [UInt8] = [type, 0x00]
        b.reserveCapacity(6)
        b.appendBigEndian(length)  // PDU length: big-endian
        return b
    }
}

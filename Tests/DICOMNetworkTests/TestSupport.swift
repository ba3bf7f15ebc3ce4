// SPDX-License-Identifier: Apache-2.0
@testable import DICOMNetwork

/// Bytes from a hex string; whitespace ignored ("01 00 00 00").
func hex(_ s: String) -> [UInt8] {
    let digits = s.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0)
    var out: [UInt8] = []
    var i = digits.startIndex
    while i < digits.endIndex {
        let j = digits.index(i, offsetBy: 2)
        out.append(UInt8(digits[i..<j], radix: 16)!)
        i = j
    }
    return out
}

/// ASCII bytes of a string.
func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }

/// A 16-byte space-padded AE title field.
func ae16(_ s: String) -> [UInt8] { ascii(s) + [UInt8](repeating: 0x20, count: 16 - s.utf8.count) }

/// Big-endian 2-byte length.
func be16(_ n: Int) -> [UInt8] { [UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] }
/// Big-endian 4-byte length.
func be32(_ n: Int) -> [UInt8] {
    [UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
}

/// An item: type, reserved 00, 2-byte big-endian length, value (PS3.8 §9.3.2).
func item(_ type: UInt8, _ value: [UInt8], reserved: UInt8 = 0) -> [UInt8] {
    [type, reserved] + be16(value.count) + value
}

/// A PDU: type, reserved, 4-byte big-endian length, body.
func pdu(_ type: UInt8, _ body: [UInt8], reserved: UInt8 = 0) -> [UInt8] {
    [type, reserved] + be32(body.count) + body
}

/// Decodes a complete PDU (header + body) via the header peek.
func decodeWhole(_ bytes: [UInt8]) throws -> PDU {
    let h = PDUHeader.peek(bytes[...])!
    return try PDU.decode(type: h.type, body: bytes[6...])
}

enum UIDs {
    static let appContext = "1.2.840.10008.3.1.1.1"
    static let verification = "1.2.840.10008.1.1"
    static let studyRootFind = "1.2.840.10008.5.1.4.1.2.2.1"
    static let studyRootMove = "1.2.840.10008.5.1.4.1.2.2.2"
    static let studyRootGet = "1.2.840.10008.5.1.4.1.2.2.3"
    static let ctImage = "1.2.840.10008.5.1.4.1.1.2"
    static let implicitLE = "1.2.840.10008.1.2"
    static let explicitLE = "1.2.840.10008.1.2.1"
    static let explicitBE = "1.2.840.10008.1.2.2"
    static let storageService = "1.2.840.10008.4.2"
}

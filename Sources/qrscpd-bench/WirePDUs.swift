// SPDX-License-Identifier: Apache-2.0
/// The fixed PDUs of the benchmark client, laid out per PS3.8 §9.3 and PS3.7 §9.3.5.
enum WirePDUs {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be32(_ v: Int) -> [UInt8] {
        [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }
    static func item(_ type: UInt8, _ value: [UInt8]) -> [UInt8] { [type, 0] + be16(value.count) + value }
    static func padded(_ title: String) -> [UInt8] {
        Array(title.utf8.prefix(16)) + Array(repeating: 0x20, count: max(0, 16 - title.utf8.count))
    }

    static func associateRequest(called: String, calling: String) -> [UInt8] {
        var body = be16(1) + [0, 0] + padded(called) + padded(calling) + Array(repeating: 0, count: 32)
        body += item(0x10, Array("1.2.840.10008.3.1.1.1".utf8))
        body += item(
            0x20,
            [1, 0, 0, 0] + item(0x30, Array("1.2.840.10008.1.1".utf8)) + item(0x40, Array("1.2.840.10008.1.2".utf8)))
        body += item(0x50, item(0x51, be32(65536)) + item(0x52, Array("1.2.826.0.1.3680043.10.1489.2".utf8)))
        return [0x01, 0] + be32(body.count) + body
    }

    static func echoRequest(contextID: UInt8, messageID: UInt16) -> [UInt8] {
        func element(_ elementNumber: UInt16, _ value: [UInt8]) -> [UInt8] {
            [0, 0, UInt8(elementNumber & 0xFF), UInt8(elementNumber >> 8)]
                + [UInt8(value.count & 0xFF), UInt8(value.count >> 8 & 0xFF), 0, 0] + value
        }
        var uid = Array("1.2.840.10008.1.1".utf8)
        if uid.count % 2 == 1 { uid.append(0) }
        let rest =
            element(0x0002, uid) + element(0x0100, [0x30, 0])
            + element(0x0110, [UInt8(messageID & 0xFF), UInt8(messageID >> 8)])
            + element(0x0800, [0x01, 0x01])
        let command = element(0x0000, [UInt8(rest.count & 0xFF), UInt8(rest.count >> 8 & 0xFF), 0, 0]) + rest
        let pdv = be32(command.count + 2) + [contextID, 0x03] + command
        return [0x04, 0] + be32(pdv.count) + pdv
    }

    /// Whether a P-DATA-TF body holds a PDV with the command and last-fragment bits set.
    static func containsLastCommandFragment(_ body: [UInt8]) -> Bool {
        var offset = 0
        while offset + 6 <= body.count {
            let length =
                Int(body[offset]) << 24 | Int(body[offset + 1]) << 16 | Int(body[offset + 2]) << 8
                | Int(body[offset + 3])
            if body[offset + 5] & 0x03 == 0x03 { return true }
            offset += 4 + length
        }
        return false
    }
}

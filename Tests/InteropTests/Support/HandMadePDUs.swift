// SPDX-License-Identifier: Apache-2.0
/// PDUs built byte by byte from the layouts of PS3.8 §9.3, independently of the
/// project's own codec, so the bad-input tests exercise the daemon and not our encoder.
enum HandMadePDUs {
    static let verificationSOPClass = "1.2.840.10008.1.1"
    static let implicitVRLittleEndian = "1.2.840.10008.1.2"
    static let applicationContext = "1.2.840.10008.3.1.1.1"

    static func bigEndian16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
    static func bigEndian32(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// An item: type, reserved, 2-byte big-endian length, value (PS3.8 §9.3.2.x).
    static func item(_ type: UInt8, _ value: [UInt8]) -> [UInt8] {
        [type, 0] + bigEndian16(value.count) + value
    }

    static func aeTitle(_ title: String) -> [UInt8] {
        Array(title.utf8.prefix(16)) + Array(repeating: 0x20, count: max(0, 16 - title.utf8.count))
    }

    /// A-ASSOCIATE-RQ proposing the given (abstract syntax, transfer syntaxes) contexts.
    static func associateRequest(
        called: String,
        calling: String = "RAWSCU",
        contexts: [(String, [String])] = [(verificationSOPClass, [implicitVRLittleEndian])],
        protocolVersion: Int = 1
    ) -> [UInt8] {
        var body: [UInt8] = bigEndian16(protocolVersion) + [0, 0] + aeTitle(called) + aeTitle(calling)
        body += Array(repeating: 0, count: 32)
        body += item(0x10, Array(applicationContext.utf8))
        for (index, context) in contexts.enumerated() {
            var value: [UInt8] = [UInt8(index * 2 + 1), 0, 0, 0]
            value += item(0x30, Array(context.0.utf8))
            for syntax in context.1 { value += item(0x40, Array(syntax.utf8)) }
            body += item(0x20, value)
        }
        let userInfo = item(0x51, bigEndian32(16384)) + item(0x52, Array("1.2.3.4.5".utf8))
        body += item(0x50, userInfo)
        return [0x01, 0] + bigEndian32(body.count) + body
    }

    /// P-DATA-TF carrying one PDV (PS3.8 §9.3.5).
    static func pData(contextID: UInt8, controlHeader: UInt8, fragment: [UInt8]) -> [UInt8] {
        let pdv = bigEndian32(fragment.count + 2) + [contextID, controlHeader] + fragment
        return [0x04, 0] + bigEndian32(pdv.count) + pdv
    }

    /// A C-ECHO-RQ command set in Implicit VR Little Endian with its group length (PS3.7 §9.3.5).
    static func echoCommand(messageID: UInt16) -> [UInt8] {
        func element(_ group: UInt16, _ elementNumber: UInt16, _ value: [UInt8]) -> [UInt8] {
            let length = UInt32(value.count)
            return [
                UInt8(group & 0xFF), UInt8(group >> 8), UInt8(elementNumber & 0xFF), UInt8(elementNumber >> 8),
                UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24),
            ] + value
        }
        var uid = Array(verificationSOPClass.utf8)
        if uid.count % 2 == 1 { uid.append(0) }
        let rest =
            element(0x0000, 0x0002, uid)
            + element(0x0000, 0x0100, [0x30, 0x00])
            + element(0x0000, 0x0110, [UInt8(messageID & 0xFF), UInt8(messageID >> 8)])
            + element(0x0000, 0x0800, [0x01, 0x01])
        let groupLength = UInt32(rest.count)
        return element(
            0x0000, 0x0000,
            [
                UInt8(groupLength & 0xFF), UInt8(groupLength >> 8 & 0xFF),
                UInt8(groupLength >> 16 & 0xFF), UInt8(groupLength >> 24),
            ]) + rest
    }

    static let releaseRequest: [UInt8] = [0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]
}

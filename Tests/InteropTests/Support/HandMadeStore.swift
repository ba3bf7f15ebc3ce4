// SPDX-License-Identifier: Apache-2.0
/// A C-STORE built byte by byte (PS3.7 §9.3.1.1, PS3.5 §7.1.3 Implicit VR Little Endian), for
/// tests that must control how a data set is cut into PDUs and when each one is sent.
enum HandMadeStore {
    static let secondaryCaptureSOPClass = "1.2.840.10008.5.1.4.1.1.7"
    /// The presentation context ID of `secondaryCaptureSOPClass` in ``associateRequest(called:)``.
    static let contextID: UInt8 = 3

    /// An A-ASSOCIATE-RQ proposing Verification (context 1) and Secondary Capture (context 3).
    static func associateRequest(called: String) -> [UInt8] {
        HandMadePDUs.associateRequest(
            called: called,
            contexts: [
                (HandMadePDUs.verificationSOPClass, [HandMadePDUs.implicitVRLittleEndian]),
                (secondaryCaptureSOPClass, [HandMadePDUs.implicitVRLittleEndian]),
            ])
    }

    static func element(_ group: UInt16, _ number: UInt16, _ value: [UInt8]) -> [UInt8] {
        let length = UInt32(value.count)
        return [
            UInt8(group & 0xFF), UInt8(group >> 8), UInt8(number & 0xFF), UInt8(number >> 8),
            UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24),
        ] + value
    }

    static func uid(_ text: String) -> [UInt8] {
        var bytes = Array(text.utf8)
        if bytes.count % 2 == 1 { bytes.append(0) }
        return bytes
    }

    static func us(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }

    /// The C-STORE-RQ command set, with its group length.
    static func command(messageID: UInt16, instanceUID: String) -> [UInt8] {
        let rest =
            element(0x0000, 0x0002, uid(secondaryCaptureSOPClass))
            + element(0x0000, 0x0100, us(0x0001))
            + element(0x0000, 0x0110, us(messageID))
            + element(0x0000, 0x0700, us(0))
            + element(0x0000, 0x0800, us(0))
            + element(0x0000, 0x1000, uid(instanceUID))
        return element(0x0000, 0x0000, Array(HandMadePDUs.bigEndian32(rest.count).reversed())) + rest
    }

    /// A data set whose Pixel Data is `pixelBytes` long (even), the bulk a test streams slowly.
    static func dataSet(instanceUID: String, pixelBytes: Int) -> [UInt8] {
        element(0x0008, 0x0016, uid(secondaryCaptureSOPClass))
            + element(0x0008, 0x0018, uid(instanceUID))
            + element(0x0010, 0x0020, Array("NETTEST1".utf8))
            + element(0x0020, 0x000D, uid("1.2.826.0.1.3680043.10.1489.17.1"))
            + element(0x0020, 0x000E, uid("1.2.826.0.1.3680043.10.1489.17.1.1"))
            + element(0x7FE0, 0x0010, [UInt8](repeating: 0x5A, count: pixelBytes))
    }

    /// The data set cut into P-DATA-TF PDUs of at most `fragmentSize` bytes of data each, the
    /// last one flagged as such.
    static func dataSetPDUs(_ dataSet: [UInt8], fragmentSize: Int) -> [[UInt8]] {
        stride(from: 0, to: dataSet.count, by: fragmentSize).map { start in
            let end = min(start + fragmentSize, dataSet.count)
            return HandMadePDUs.pData(
                contextID: contextID, controlHeader: end == dataSet.count ? 0x02 : 0x00,
                fragment: Array(dataSet[start..<end]))
        }
    }

    /// A C-STORE-RQ of a data set with `pixelBytes` of Pixel Data, as PDUs: the command PDU,
    /// then the data set in PDUs of at most 16 KiB of data, for a test to send at its own pace.
    static func storeRequestPDUs(instanceUID: String, pixelBytes: Int) -> (command: [UInt8], dataSet: [[UInt8]]) {
        let command = HandMadePDUs.pData(
            contextID: contextID, controlHeader: 0x03,
            fragment: self.command(messageID: 1, instanceUID: instanceUID))
        return (command, dataSetPDUs(dataSet(instanceUID: instanceUID, pixelBytes: pixelBytes), fragmentSize: 16384))
    }

    /// Status (0000,0900) 0000 in a response command's PDU body.
    static let successStatus: [UInt8] = [0x00, 0x00, 0x00, 0x09, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00]
}

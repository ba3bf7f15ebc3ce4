// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry: PDU framing and decoding as the server does it (PS3.8 §9.3).
//
// Built together with Sources/QRServer/PDUReader.swift, the framing that inbound and outbound
// associations use over the reactor's receive buffer. Input: byte 0 seeds how the stream is cut
// into reads (so PDUs arrive split across chunks as from TCP); the rest is the byte stream.
// Checked besides "no trap":
// - PDUReader and PDUStreamDecoder agree PDU by PDU, and on where the stream turns invalid;
// - every decoded PDU encodes to bytes that decode; P-DATA-TF round-trips exactly; for the
//   others, whose text is ASCII, encoding settles after the encoder's normalisation (AE titles
//   and UIDs are default-repertoire text; other bytes are decoded with U+FFFD replacement,
//   which need not survive a 16-byte AE field, by design);
// - negotiating a decoded A-ASSOCIATE-RQ gives an AC or RJ that our own decoder accepts.
import DICOM
import DICOMNetwork
import Reactor

private let limits = PDUStreamDecoder(maxPDataLength: 16384)
private let policy = AcceptorPolicy(
    aeTitle: "QRSCPD", checkCalledAETitle: false,
    supported: [
        "1.2.840.10008.1.1": ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"],
        "1.2.840.10008.5.1.4.1.2.2.1": ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"],
        "1.2.840.10008.5.1.4.1.1.2": ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.1.99"],
    ],
    implementationClassUID: Implementation.classUID, implementationVersionName: Implementation.versionName,
    requestorSCPRoleSOPClasses: ["1.2.840.10008.1.2"])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPDUStream(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let seed = bytes.first else { return 0 }
    let stream = bytes[1...]

    // Production framing, fed in reads of varying size.
    var fromReader: [PDU] = []
    var readerFailed = false
    var buffer = ByteBuffer()
    var offset = stream.startIndex
    var read = 0
    reading: while offset < stream.endIndex {
        let chunk = 1 + (Int(seed) &* (read + 1) &+ read * 7) % 613
        let end = min(stream.endIndex, offset + chunk)
        buffer.append(stream[offset..<end])
        offset = end
        read += 1
        while true {
            switch PDUReader.next(from: &buffer, limits: limits) {
            case .needMoreBytes: continue reading
            case .pdu(let pdu, _): fromReader.append(pdu)
            case .invalid:
                readerFailed = true
                break reading
            }
        }
    }

    // The pure decoder over the whole stream.
    var fromDecoder: [PDU] = []
    var decoderFailed = false
    var rest = stream
    decoding: while true {
        switch limits.decode(rest) {
        case .needMoreBytes: break decoding
        case .pdu(let pdu, let consumed):
            fromDecoder.append(pdu)
            rest = rest.dropFirst(consumed)
        case .invalid:
            decoderFailed = true
            break decoding
        }
    }
    precondition(fromReader == fromDecoder, "PDUReader and PDUStreamDecoder decoded different PDUs")
    precondition(readerFailed == decoderFailed, "PDUReader and PDUStreamDecoder disagree on validity")

    for pdu in fromDecoder {
        checkRoundTrip(pdu)
        if case .associateRQ(let rq) = pdu {
            switch negotiate(rq, policy: policy) {
            case .accept(let ac, _): checkRoundTrip(.associateAC(ac))
            case .reject(let rj): checkRoundTrip(.associateRJ(rj))
            }
        }
    }
    return 0
}

/// What we would send must decode, and encoding settles: the encoder may normalise (it pads AE
/// titles, cuts an over-long Implementation Version Name to 16 bytes, PS3.7 D.3.3.2, and the
/// decoder then drops that field's trailing spaces), but a PDU decoded from our own encoding of
/// our own encoding encodes to the same bytes.
private func checkRoundTrip(_ pdu: PDU) {
    let first = encodeAndDecode(pdu)
    if case .pData = pdu {
        precondition(first.pdu == pdu, "a P-DATA-TF PDU does not survive encoding")
        return
    }
    if first.bytes.contains(where: { $0 >= 0x80 }) { return }
    let second = encodeAndDecode(first.pdu)
    let third = encodeAndDecode(second.pdu)
    precondition(third.bytes == second.bytes, "PDU encoding does not settle:\n\(pdu)\n\(second.pdu)\n\(third.pdu)")
}

private func encodeAndDecode(_ pdu: PDU) -> (bytes: [UInt8], pdu: PDU) {
    let encoded = pdu.encoded()
    guard
        case .pdu(let again, let consumed) = PDUStreamDecoder(maxPDataLength: 0, maxAssociatePDULength: .max)
            .decode(encoded[...])
    else {
        preconditionFailure("an encoded \(pdu.type) PDU does not decode:\n\(pdu)")
    }
    precondition(consumed == encoded.count, "an encoded PDU decodes to fewer bytes")
    return (encoded, again)
}

// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Reactor

/// Cuts the next complete PDU out of a connection's receive buffer, for inbound and
/// outbound associations alike, with ``PDUStreamDecoder/next(from:)``: the framing the
/// byte-level decoder tests check.
///
/// The body is a slice of the receive buffer (no copy when it lies in one chunk).
enum PDUReader {
    enum Next {
        case needMoreBytes
        case pdu(PDU, length: UInt32)
        /// The stream cannot be trusted any more; the buffer has been emptied.
        case invalid(AbortReason, String)
    }

    static func next(from buffer: inout ByteBuffer, limits: PDUStreamDecoder) -> Next {
        switch limits.next(from: &buffer) {
        case .needMoreBytes:
            return .needMoreBytes
        case .pdu(let pdu, let length):
            return .pdu(pdu, length: length)
        case .invalid(let error, let inHeader):
            // A TLS record header (handshake, version 3.x) where a PDU belongs: say so, since
            // the peer's own error will not ("unexpected EOF" or a protocol version alert).
            if inHeader, let start = buffer.peek(2), Array(start) == [0x16, 0x03] {
                buffer.clear()
                return .invalid(
                    error.abortReason,
                    "a TLS ClientHello on a plain DICOM port (the peer speaks DICOM over TLS; this port does not)")
            }
            buffer.clear()
            return .invalid(error.abortReason, inHeader ? "invalid PDU header: \(error)" : "malformed PDU: \(error)")
        }
    }
}

/// The reactor's receive buffer already has the three members a PDU reader needs.
extension ByteBuffer: PDUInput {}

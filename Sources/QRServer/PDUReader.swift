import DICOMNetwork
import Reactor

/// Cuts the next complete PDU out of a connection's receive buffer, for inbound and
/// outbound associations alike.
///
/// Lengths are checked against our limits from the 6-byte header alone, before any body is
/// buffered, so a hostile length never turns into an allocation. The body is a slice of the
/// receive buffer (no copy when it lies in one chunk).
enum PDUReader {
    enum Next {
        case needMoreBytes
        case pdu(PDU, length: UInt32)
        /// The stream cannot be trusted any more; the buffer has been emptied.
        case invalid(AbortReason, String)
    }

    static func next(from buffer: inout ByteBuffer, limits: PDUStreamDecoder) -> Next {
        guard let headerBytes = buffer.peek(PDUHeader.size), let header = PDUHeader.peek(headerBytes) else {
            return .needMoreBytes
        }
        if let error = limits.validate(header) {
            buffer.clear()
            // A TLS record header (handshake, version 3.x) where a PDU belongs: say so, since
            // the peer's own error will not ("unexpected EOF" or a protocol version alert).
            if headerBytes.first == 0x16, headerBytes.dropFirst().first == 0x03 {
                return .invalid(error.abortReason, "a TLS ClientHello on a plain DICOM port (the peer speaks DICOM over TLS; this port does not)")
            }
            return .invalid(error.abortReason, "invalid PDU header: \(error)")
        }
        guard buffer.readableBytes >= PDUHeader.size + Int(header.length) else { return .needMoreBytes }
        buffer.moveReaderIndex(forwardBy: PDUHeader.size)
        let body = buffer.readSlice(Int(header.length)) ?? []
        do {
            return .pdu(try PDU.decode(type: header.type, body: body), length: header.length)
        } catch {
            buffer.clear()
            return .invalid(error.abortReason, "malformed PDU: \(error)")
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Reactor
import Testing

@testable import QRServer

/// The server's PDU framing (``PDUReader`` over the reactor's ``ByteBuffer``, the code both
/// associations run) fed the way TCP may deliver bytes: all at once, PDU by PDU, byte by byte.
@Suite("PDU reader over the receive buffer, byte by byte (UL-01, UL-04)")
struct PDUReaderTests {
    static let limits = PDUStreamDecoder(maxPDataLength: 16384)

    static let pdus: [PDU] = {
        let request = UpperLayerDriverTests.request()
        guard case .accept(let accept, _) = negotiate(request, policy: UpperLayerDriverTests.policy) else { return [] }
        let command = CommandSet.cEchoRQ(messageID: 7).encoded()
        let data = PDataTF(pdvs: [
            PDV(contextID: 1, isCommand: true, isLast: true, fragment: command[...]),
            PDV(contextID: 3, isCommand: false, isLast: false, fragment: [1, 2, 3, 4, 5]),
        ])
        return [
            .associateRQ(request), .pData(data), .pData(data), .releaseRQ, .associateAC(accept),
            .associateRJ(.localLimitExceeded), .releaseRP,
            .abort(AbortPDU(source: .serviceUser, reason: .notSpecified)),
        ]
    }()

    /// Drains the buffer through the reader as the driver does; stops at the first invalid PDU.
    static func drain(_ buffer: inout ByteBuffer) -> (pdus: [PDU], invalid: String?) {
        var out: [PDU] = []
        while true {
            switch PDUReader.next(from: &buffer, limits: limits) {
            case .needMoreBytes: return (out, nil)
            case .pdu(let pdu, _): out.append(pdu.detached)
            case .invalid(_, let description): return (out, description)
            }
        }
    }

    @Test("all at once, PDU by PDU and byte by byte give the PDUs that were encoded")
    func splits() {
        #expect(Self.pdus.count == 8)
        let encoded = Self.pdus.map { $0.encoded() }
        var all = ByteBuffer()
        all.append(encoded.flatMap { $0 })
        let (atOnce, e1) = Self.drain(&all)
        #expect(e1 == nil)
        #expect(all.isEmpty)

        var perPDU: [PDU] = []
        var buffer = ByteBuffer()
        for chunk in encoded {
            buffer.append(chunk)
            let (p, e) = Self.drain(&buffer)
            #expect(e == nil)
            perPDU += p
        }

        // One byte per read, as chunks of their own and coalesced onto the last chunk (what the
        // connection does with small reads).
        for coalescing in [false, true] {
            var byteByByte: [PDU] = []
            buffer = ByteBuffer()
            for byte in encoded.flatMap({ $0 }) {
                if coalescing { buffer.appendCoalescing([byte]) } else { buffer.append([byte]) }
                let (p, e) = Self.drain(&buffer)
                #expect(e == nil)
                byteByByte += p
            }
            #expect(buffer.isEmpty)
            #expect(byteByByte == Self.pdus)
        }
        #expect(atOnce == Self.pdus)
        #expect(perPDU == Self.pdus)
    }

    @Test("a hostile length is refused on the 6-byte header, before its body arrives")
    func hostileLength() {
        var buffer = ByteBuffer()
        for byte: UInt8 in [0x04, 0, 0xFF, 0xFF, 0xFF] {
            buffer.append([byte])
            #expect(Self.drain(&buffer).invalid == nil)
        }
        buffer.append([0xFF])
        let description = Self.drain(&buffer).invalid
        #expect(description?.hasPrefix("invalid PDU header") == true)
        #expect(buffer.isEmpty)
    }

    @Test("a body that does not decode is refused once whole, and the buffer is emptied")
    func malformedBody() {
        var buffer = ByteBuffer()
        let bytes: [UInt8] = [0x04, 0, 0, 0, 0, 3, 0, 0, 0, 0x04, 0]  // item length beyond the PDU
        for (index, byte) in bytes.enumerated() {
            buffer.append([byte])
            let (_, invalid) = Self.drain(&buffer)
            if index < 8 {
                #expect(invalid == nil)
            } else {
                #expect(invalid?.hasPrefix("malformed PDU") == true)
                break
            }
        }
        #expect(buffer.isEmpty)
    }
}

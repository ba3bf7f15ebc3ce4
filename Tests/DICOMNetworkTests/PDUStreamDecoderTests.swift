// SPDX-License-Identifier: Apache-2.0
import TestSupport
import Testing

@testable import DICOMNetwork

/// Drains a byte buffer through the stream decoder, as the connection would.
private func drain(_ decoder: PDUStreamDecoder, _ buffer: inout [UInt8]) -> (pdus: [PDU], invalid: PDUDecodingError?) {
    var out: [PDU] = []
    while true {
        switch decoder.decode(buffer[...]) {
        case .needMoreBytes: return (out, nil)
        case .pdu(let p, let consumed):
            // detach from the buffer before mutating it
            out.append(p)
            buffer.removeFirst(consumed)
        case .invalid(let e): return (out, e)
        }
    }
}

/// Copies PDV fragments so that PDUs compare independently of buffer reuse.
private func detached(_ pdus: [PDU]) -> [PDU] {
    pdus.map {
        guard case .pData(let p) = $0 else { return $0 }
        return .pData(
            PDataTF(
                pdvs: p.pdvs.map {
                    PDV(
                        contextID: $0.contextID, isCommand: $0.isCommand, isLast: $0.isLast,
                        fragment: ArraySlice(Array($0.fragment)))
                }))
    }
}

@Suite("PDU stream decoder (UL-01, UL-04)")
struct PDUStreamDecoderTests {
    let decoder = PDUStreamDecoder(maxPDataLength: 16384)
    let stream: [[UInt8]] = [
        Fixtures.associateRQ, Fixtures.pData, Fixtures.pData, Fixtures.releaseRQ,
        Fixtures.associateAC, Fixtures.associateRJ, Fixtures.releaseRP, Fixtures.abort,
    ]

    @Test("verifier: all at once, byte by byte, PDU by PDU give identical PDUs")
    func verifier() {
        var all = stream.flatMap { $0 }
        let (atOnce, e1) = drain(decoder, &all)
        #expect(e1 == nil)
        #expect(all.isEmpty)
        #expect(atOnce.count == stream.count)

        var buffer: [UInt8] = []
        var byteByByte: [PDU] = []
        for b in stream.flatMap({ $0 }) {
            buffer.append(b)
            let (p, e) = drain(decoder, &buffer)
            #expect(e == nil)
            byteByByte += detached(p)
        }
        #expect(buffer.isEmpty)

        var perPDU: [PDU] = []
        for chunk in stream {
            buffer += chunk
            let (p, e) = drain(decoder, &buffer)
            #expect(e == nil)
            perPDU += detached(p)
        }
        #expect(detached(atOnce) == byteByByte)
        #expect(byteByByte == perPDU)
        #expect(
            perPDU.map(\.type) == [
                .associateRQ, .pData, .pData, .releaseRQ, .associateAC, .associateRJ,
                .releaseRP, .abort,
            ])
    }

    @Test("UL-04 length 0xFFFFFFFF rejected on the header alone", arguments: [UInt8(1), 2, 3, 4, 5, 6, 7])
    func hugeLength(type: UInt8) {
        let bytes = [type, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        guard case .invalid(let e) = decoder.decode(bytes[...]) else {
            Issue.record("accepted")
            return
        }
        #expect(e.abortReason == .invalidPDUParameterValue)
    }

    @Test("UL-04 P-DATA over our max (+6 tolerance) invalid; at limit it waits for more bytes")
    func pDataLimit() {
        #expect(decoder.decode((hex("04 00") + be32(16384 + 6))[...]) == .needMoreBytes)
        #expect(
            decoder.decode((hex("04 00") + be32(16384 + 7))[...])
                == .invalid(.pduTooLarge(type: 4, length: 16391, limit: 16390)))
        let strict = PDUStreamDecoder(maxPDataLength: 16384, pDataTolerance: 0)
        #expect(
            strict.decode((hex("04 00") + be32(16385))[...])
                == .invalid(.pduTooLarge(type: 4, length: 16385, limit: 16384)))
        let unlimited = PDUStreamDecoder(maxPDataLength: 0)
        #expect(unlimited.decode((hex("04 00") + be32(0x7FFF_FFFF))[...]) == .needMoreBytes)
        #expect(
            decoder.decode((hex("01 00") + be32(256 * 1024 + 1))[...])
                == .invalid(.pduTooLarge(type: 1, length: 256 * 1024 + 1, limit: 256 * 1024)))
    }

    @Test("UL-02 unknown PDU type is invalid immediately with reason 1")
    func unknownType() {
        let outcome = decoder.decode(hex("08 00 00 00 00 04")[...])
        #expect(outcome == .invalid(.unknownPDUType(8)))
        if case .invalid(let e) = outcome { #expect(e.abortReason == .unrecognizedPDU) }
        #expect(throws: PDUDecodingError.unknownPDUType(0)) { try PDU.decode(type: 0, body: []) }
    }

    @Test("UL-21/UL-22 fixed-size PDUs must have length 4")
    func fixedSize() {
        #expect(
            decoder.decode(hex("05 00 00 00 00 05 00 00 00 00 00")[...])
                == .invalid(.pduTooLarge(type: 5, length: 5, limit: 4)))
        #expect(
            decoder.decode(hex("06 00 00 00 00 03 00 00 00")[...])
                == .invalid(.invalidLength(context: "PDU type 0x6", length: 3)))
        #expect(throws: PDUDecodingError.self) { try PDU.decode(type: 7, body: [0, 0, 2]) }
    }

    static let badBodies: [(String, UInt8, [UInt8])] = [
        ("RQ truncated fixed part", 1, Array(Fixtures.fixedRQ.prefix(40))),
        ("RQ item length beyond PDU", 1, Fixtures.fixedRQ + [0x10, 0, 0x00, 0x40] + ascii("1.2")),
        ("RQ truncated item header", 1, Fixtures.fixedRQ + Fixtures.appContextItem + [0x20, 0]),
        ("RQ missing presentation context", 1, Fixtures.fixedRQ + Fixtures.appContextItem + Fixtures.userInfoRQ),
        ("RQ missing app context", 1, Fixtures.fixedRQ + Fixtures.pc1 + Fixtures.userInfoRQ),
        ("RQ missing user info", 1, Fixtures.fixedRQ + Fixtures.appContextItem + Fixtures.pc1),
        (
            "RQ 20H without 40H", 1,
            Fixtures.fixedRQ + Fixtures.appContextItem
                + item(0x20, [1, 0, 0, 0] + item(0x30, ascii("1.2"))) + Fixtures.userInfoRQ
        ),
        ("RQ 20H truncated", 1, Fixtures.fixedRQ + Fixtures.appContextItem + item(0x20, [1, 0]) + Fixtures.userInfoRQ),
        (
            "RQ 51H wrong length", 1,
            Fixtures.fixedRQ + Fixtures.appContextItem + Fixtures.pc1
                + item(0x50, item(0x51, [0, 1]))
        ),
        (
            "RQ 54H UID length beyond item", 1,
            Fixtures.fixedRQ + Fixtures.appContextItem + Fixtures.pc1
                + item(0x50, item(0x54, be16(40) + ascii("1.2") + [0, 1]))
        ),
        (
            "RQ 58H truncated", 1,
            Fixtures.fixedRQ + Fixtures.appContextItem + Fixtures.pc1
                + item(0x50, item(0x58, [1]))
        ),
        ("RQ with 21H item", 1, Fixtures.fixedRQ + Fixtures.appContextItem + Fixtures.acPC1 + Fixtures.userInfoRQ),
        (
            "AC accepted 21H without 40H", 2,
            Fixtures.fixedRQ + Fixtures.appContextItem + item(0x21, [1, 0, 0, 0])
                + Fixtures.userInfoAC
        ),
        ("P-DATA item length beyond PDU", 4, hex("00 00 00 10 01 03 AA")),
        ("P-DATA item length < 2", 4, hex("00 00 00 01 01")),
        ("P-DATA truncated item length", 4, hex("00 00 00")),
        ("P-DATA empty", 4, []),
        ("RJ wrong size", 3, hex("00 01 01")),
    ]

    @Test("bad input throws a typed error", arguments: badBodies)
    func badInput(name: String, type: UInt8, body: [UInt8]) {
        #expect(throws: PDUDecodingError.self) { try PDU.decode(type: type, body: body[...]) }
        // and through the stream decoder it is .invalid, never a trap
        var buffer = pdu(type, body)
        let (_, e) = drain(PDUStreamDecoder(maxPDataLength: 0), &buffer)
        #expect(e != nil)
    }

    @Test("seeded random bytes never trap (20,000 iterations)")
    func fuzz() {
        var rng = SplitMix64(seed: 0xD1C0_0001)
        let seeds = [Fixtures.associateRQ, Fixtures.associateAC, Fixtures.pData, Fixtures.abort]
        var decodedCount = 0
        for i in 0..<20_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                // mutate a valid PDU
                bytes = seeds[Int.random(in: 0..<seeds.count, using: &rng)]
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    let at = Int.random(in: 0..<bytes.count, using: &rng)
                    bytes[at] = UInt8.random(in: 0...255, using: &rng)
                }
                if Bool.random(using: &rng) {
                    bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
                }
            } else {
                let n = Int.random(in: 0..<300, using: &rng)
                bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if n > 0 { bytes[0] = UInt8.random(in: 0...8, using: &rng) }
            }
            let (p, _) = drain(PDUStreamDecoder(maxPDataLength: 4096), &bytes)
            decodedCount += p.count
            if let h = PDUHeader.peek(bytes[...]), bytes.count >= 6 {
                _ = try? PDU.decode(type: h.type, body: bytes[6...])
            }
        }
        #expect(decodedCount > 0)
    }
}

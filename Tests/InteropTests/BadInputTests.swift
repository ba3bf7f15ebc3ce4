// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// Hostile and broken peers over raw TCP. After each case the daemon must still answer
/// C-ECHO, and over the whole battery its memory must not grow by more than a few MiB.
@Suite("Bad input over raw TCP", .serialized, .enabled(if: ExternalTool.interopEnabled))
final class BadInputTests {
    let daemon: DaemonProcess
    static let artimSeconds = 2

    init() throws {
        guard ExternalTool.require("/usr/bin/echoscu") else { throw DaemonError("echoscu missing") }
        daemon = try DaemonProcess(arguments: ["--acse-timeout", "\(Self.artimSeconds)", "--max-assoc", "20"])
    }

    deinit { daemon.stop() }

    /// The daemon answered with nothing or an A-ABORT, then closed the connection.
    private func expectAbortedAndClosed(
        _ socket: RawDICOMSocket, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let (bytes, closed) = socket.receiveUntilClosed(timeout: 10)
        #expect(closed, "\(what): connection left open", sourceLocation: sourceLocation)
        if !bytes.isEmpty {
            #expect(
                bytes.first == 0x07, "\(what): expected A-ABORT, got \(bytes.prefix(10))",
                sourceLocation: sourceLocation)
            #expect(
                bytes.count == 10, "\(what): A-ABORT is 10 bytes, got \(bytes.count)", sourceLocation: sourceLocation)
            if bytes.count == 10 {
                #expect(
                    bytes[8] == 2, "\(what): abort source should be the provider (2)", sourceLocation: sourceLocation)
            }
        }
    }

    private func expectStillServing(sourceLocation: SourceLocation = #_sourceLocation) {
        let echo = daemon.echoWithDCMTK()
        #expect(
            echo.succeeded, "C-ECHO after bad input failed: \(echo.transcript)\n--- daemon\n\(daemon.log)",
            sourceLocation: sourceLocation)
    }

    @Test("Garbage instead of an A-ASSOCIATE-RQ (an HTTP request) is aborted and closed")
    func garbage() throws {
        let socket = try RawDICOMSocket(port: daemon.port)
        socket.send(Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        expectAbortedAndClosed(socket, "HTTP request")
        expectStillServing()
    }

    @Test(
        "A PDU length of 0xFFFFFFFF is never allocated: A-ABORT and close (UL-04)", arguments: [0x01, 0x04] as [UInt8])
    func hugeLength(type: UInt8) throws {
        let socket = try RawDICOMSocket(port: daemon.port)
        socket.send([type, 0, 0xFF, 0xFF, 0xFF, 0xFF] + Array(repeating: 0x41, count: 64))
        expectAbortedAndClosed(socket, "length 0xFFFFFFFF")
        expectStillServing()
    }

    @Test("A P-DATA-TF longer than our advertised maximum is a protocol error (UL-04)")
    func pDataOverLimit() throws {
        let socket = try RawDICOMSocket(port: daemon.port)
        socket.send(HandMadePDUs.associateRequest(called: daemon.aeTitle))
        let accept = try #require(socket.receivePDU(), "no answer to A-ASSOCIATE-RQ\n\(daemon.log)")
        #expect(accept.type == 0x02)
        // 16 MiB + 1: above any maximum we advertise.
        socket.send([0x04, 0, 0x01, 0x00, 0x00, 0x01] + Array(repeating: 0, count: 1024))
        expectAbortedAndClosed(socket, "oversized P-DATA")
        expectStillServing()
    }

    @Test("A truncated PDU followed by close leaves nothing behind")
    func truncatedThenClose() throws {
        for _ in 0..<20 {
            let socket = try RawDICOMSocket(port: daemon.port)
            let request = HandMadePDUs.associateRequest(called: daemon.aeTitle)
            socket.send(Array(request.prefix(request.count / 2)))
            socket.close()
        }
        expectStillServing()
    }

    @Test("P-DATA-TF before association is aborted (Sta2 + Evt10)")
    func pDataBeforeAssociation() throws {
        let socket = try RawDICOMSocket(port: daemon.port)
        socket.send(
            HandMadePDUs.pData(contextID: 1, controlHeader: 0x03, fragment: HandMadePDUs.echoCommand(messageID: 1)))
        expectAbortedAndClosed(socket, "P-DATA before association")
        expectStillServing()
    }

    @Test("An unknown PDU type is aborted (UL-02)")
    func unknownPDUType() throws {
        let socket = try RawDICOMSocket(port: daemon.port)
        socket.send([0x09, 0, 0, 0, 0, 4, 1, 2, 3, 4])
        expectAbortedAndClosed(socket, "PDU type 09")
        expectStillServing()
    }

    @Test("An unknown PDU type after association is aborted too")
    func unknownPDUTypeWhenEstablished() throws {
        let socket = try RawDICOMSocket(port: daemon.port)
        socket.send(HandMadePDUs.associateRequest(called: daemon.aeTitle))
        let accept = try #require(socket.receivePDU())
        #expect(accept.type == 0x02)
        socket.send([0x0A, 0, 0, 0, 0, 2, 0, 0])
        expectAbortedAndClosed(socket, "PDU type 0A in Sta6")
        expectStillServing()
    }

    @Test("A client that connects and sends nothing is closed when ARTIM expires")
    func silentClient() throws {
        let socket = try RawDICOMSocket(port: daemon.port)
        let start = Date()
        let (bytes, closed) = socket.receiveUntilClosed(timeout: Double(Self.artimSeconds) + 8)
        #expect(closed, "silent connection was not closed")
        #expect(bytes.isEmpty)
        #expect(Date().timeIntervalSince(start) >= Double(Self.artimSeconds) - 0.5)
        expectStillServing()
    }

    @Test("A hand-made association: C-ECHO, then release")
    func handMadeEcho() throws {
        let socket = try RawDICOMSocket(port: daemon.port)
        socket.send(HandMadePDUs.associateRequest(called: daemon.aeTitle))
        let accept = try #require(socket.receivePDU())
        #expect(accept.type == 0x02)
        socket.send(
            HandMadePDUs.pData(contextID: 1, controlHeader: 0x03, fragment: HandMadePDUs.echoCommand(messageID: 7)))
        let response = try #require(socket.receivePDU())
        #expect(response.type == 0x04)
        // Status (0000,0900) = 0000 and Message ID Being Responded To (0000,0120) = 7.
        let body = response.body
        #expect(body.containsSubsequence([0x00, 0x00, 0x20, 0x01, 0x02, 0x00, 0x00, 0x00, 0x07, 0x00]))
        #expect(body.containsSubsequence([0x00, 0x00, 0x00, 0x09, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00]))
        socket.send(HandMadePDUs.releaseRequest)
        let release = try #require(socket.receivePDU())
        #expect(release.type == 0x06)
        #expect(socket.receiveUntilClosed(timeout: 10).closed)
    }

    @Test("Contexts that are all unacceptable are each answered in an A-ASSOCIATE-AC (UL-10, UL-11)")
    func nothingAcceptable() throws {
        let socket = try RawDICOMSocket(port: daemon.port)
        socket.send(
            HandMadePDUs.associateRequest(
                called: daemon.aeTitle,
                contexts: [
                    ("1.2.826.0.1.3680043.10.1489.999.1", [HandMadePDUs.implicitVRLittleEndian]),
                    (HandMadePDUs.verificationSOPClass, ["1.2.840.10008.1.2.4.50"]),
                ]))
        let accept = try #require(socket.receivePDU())
        #expect(accept.type == 0x02)
        // Presentation context items 21H: id 1 result 3, id 3 result 4.
        #expect(accept.body.containsSubsequence([0x21, 0x00]))
        let results = presentationResults(in: accept.body)
        #expect(results == [1: 3, 3: 4])
        socket.send(HandMadePDUs.releaseRequest)
        #expect(socket.receivePDU()?.type == 0x06)
    }

    @Test("Protocol version without bit 0 is rejected 1/2/2 (UL-05)")
    func badProtocolVersion() throws {
        let socket = try RawDICOMSocket(port: daemon.port)
        socket.send(HandMadePDUs.associateRequest(called: daemon.aeTitle, protocolVersion: 2))
        let reject = try #require(socket.receivePDU())
        #expect(reject.type == 0x03)
        #expect(Array(reject.body) == [0, 1, 2, 2])
    }

    @Test("100 connections opened at once are each answered, then the daemon serves on")
    func hundredConnections() throws {
        let sockets = try (0..<100).map { _ in try RawDICOMSocket(port: daemon.port, timeout: 15) }
        for socket in sockets { socket.send(HandMadePDUs.associateRequest(called: daemon.aeTitle)) }
        var accepted = 0
        for socket in sockets {
            let answer = try #require(socket.receivePDU(), "no answer\n\(daemon.log)")
            if answer.type == 0x02 {
                accepted += 1
            } else {
                #expect(answer.type == 0x03)
                #expect(Array(answer.body) == [0, 2, 3, 2], "expected transient/local-limit rejection")
            }
        }
        #expect(accepted == 20, "exactly --max-assoc associations accepted")
        for socket in sockets { socket.send(HandMadePDUs.releaseRequest) }
        for socket in sockets { socket.close() }
        expectStillServing()
    }

    @Test("Memory stays flat over repeated bad input")
    func memoryStaysFlat() throws {
        expectStillServing()
        // Warm up allocator arenas, then measure over many rounds of every bad case.
        try runBadRound()
        let before = daemon.residentKiB
        for _ in 0..<10 { try runBadRound() }
        expectStillServing()
        let after = daemon.residentKiB
        #expect(before > 0)
        #expect(after - before < 4 * 1024, "resident memory grew from \(before) KiB to \(after) KiB")
    }

    private func runBadRound() throws {
        let payloads: [[UInt8]] = [
            Array("GET / HTTP/1.1\r\n\r\n".utf8),
            [0x01, 0, 0xFF, 0xFF, 0xFF, 0xFF],
            [0x04, 0, 0xFF, 0xFF, 0xFF, 0xFF],
            [0x09, 0, 0, 0, 0, 0],
            HandMadePDUs.pData(contextID: 1, controlHeader: 3, fragment: [1, 2, 3]),
            Array(HandMadePDUs.associateRequest(called: daemon.aeTitle).prefix(40)),
        ]
        for payload in payloads {
            let socket = try RawDICOMSocket(port: daemon.port)
            socket.send(payload)
            socket.close()
        }
        let sockets = try (0..<20).map { _ in try RawDICOMSocket(port: daemon.port) }
        for socket in sockets { socket.send(HandMadePDUs.associateRequest(called: daemon.aeTitle)) }
        for socket in sockets {
            _ = socket.receivePDU()
            socket.close()
        }
    }

    /// Context ID → result of every 21H item in an A-ASSOCIATE-AC body.
    private func presentationResults(in body: [UInt8]) -> [Int: Int] {
        var results: [Int: Int] = [:]
        var offset = 68  // fixed part of the AC after the 6-byte header
        while offset + 4 <= body.count {
            let type = body[offset]
            let length = Int(body[offset + 2]) << 8 | Int(body[offset + 3])
            if type == 0x21, offset + 8 <= body.count { results[Int(body[offset + 4])] = Int(body[offset + 6]) }
            offset += 4 + length
        }
        return results
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        for start in 0...(count - needle.count) where self[start..<start + needle.count].elementsEqual(needle) {
            return true
        }
        return false
    }
}

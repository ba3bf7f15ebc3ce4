// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Foundation
import Reactor
import ReactorTestSupport
import TLS
import TLSTransport
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a connection on the loop did, as the test sees it.
private struct Observed: Sendable {
    var established = 0
    var protocolVersion: String?
    var sendPath: TLSTransport.SendPath?
    var zeroCopy: Bool?
    var received = 0
    var inputBeforeHandshake = false
    var closes = 0
    var closeError: String?
    var establishError: TransportEstablishError?
}

/// A listener's accepted connections recorded in `observed`; `closed` is signalled at each close.
private func observe(_ connection: Connection, _ observed: Locked<Observed>, closed: DispatchSemaphore) {
    connection.onEstablished = { [unowned connection] in
        let transport = connection.transport as? TLSTransport
        let version = transport?.session.protocolVersion
        let path = transport?.sendPath
        let zeroCopy = connection.sendsFilesZeroCopy
        observed.withLock {
            $0.established += 1
            $0.protocolVersion = version
            $0.sendPath = path
            $0.zeroCopy = zeroCopy
        }
    }
    connection.onClose = { error in
        observed.withLock {
            $0.closes += 1
            $0.closeError = error.map { "\($0)" }
            $0.establishError = error as? TransportEstablishError
        }
        closed.signal()
    }
}

/// Output pieces from one file: bytes, a file region, a framed mapping (16 KiB frames behind
/// 12-byte headers), bytes; with the bytes a peer must receive.
private func filePieces(_ file: OpenFile, content: [UInt8]) throws -> (pieces: [OutputPiece], expected: [UInt8]) {
    let head = Array("head".utf8)
    let regionRange = 1_000..<900_000
    let framedRange = 900_000..<content.count
    let frameLength = 16 * 1024
    let frames = (framedRange.count + frameLength - 1) / frameLength
    let headerBytes = (0..<frames * 12).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let headers = try SealedBytesArena().bytes(count: headerBytes.count) { $0.copyBytes(from: headerBytes) }
    let mapping = try FileMapping(file: file, offset: framedRange.lowerBound, length: framedRange.count)
    let framed = FramedMapping(
        mapping: mapping, payloadOffset: framedRange.lowerBound,
        payloadLength: framedRange.count, frameLength: frameLength,
        headers: headers, headerLength: 12)
    var expected = head + content[regionRange]
    for frame in 0..<frames {
        let start = framedRange.lowerBound + frame * frameLength
        expected += headerBytes[(frame * 12)..<(frame * 12 + 12)]
        expected += content[start..<min(start + frameLength, framedRange.upperBound)]
    }
    expected += head
    let pieces: [OutputPiece] = [
        .bytes(head[...]), .file(FileRegion(file: file, offset: regionRange.lowerBound, length: regionRange.count)),
        .framed(framed), .bytes(head[...]),
    ]
    return (pieces, expected)
}

/// TLSTransport on the reactor (a TLS listener of `EventLoop`) against `openssl s_client`.
@Suite struct TLSTransportTests {
    let certificates: TestCertificates

    init() throws {
        certificates = try TestCertificates.shared.get()
        _ = LoopHarness.ignoreSIGPIPE
    }

    func serverContext() throws -> TLSContext {
        try TLSContext(
            TLSConfiguration(
                certificateChainPath: certificates.serverCertificate,
                privateKeyPath: certificates.serverKey), role: .server)
    }

    /// Whether the kernel's tls module is loaded: then the send direction must be offloaded.
    var kernelTLSAvailable: Bool { FileManager.default.fileExists(atPath: "/proc/net/tls_stat") }

    func startClient(port: Int, _ arguments: [String]) throws -> PeerProcess {
        try PeerProcess(
            PeerProcess.openssl,
            [
                "s_client", "-connect", "127.0.0.1:\(port)", "-quiet", "-nocommands",
                "-verify_return_error", "-CAfile", certificates.ca, "-servername", "localhost",
            ] + arguments)
    }

    @Test(
        "the handshake runs on the loop (TLS 1.2 and 1.3); bytes read through it are echoed; close_notify ends it",
        arguments: [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
    func handshakeReadsWritesAndClose(option: String, version: String) throws {
        let context = try serverContext()
        // Several records, so reads span records and drain what OpenSSL holds.
        let payload = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 11) })
        try withRunningLoop { loop in
            let observed = Locked(Observed())
            let closed = DispatchSemaphore(value: 0)
            let expectedCount = payload.count
            let port = try onLoop(loop) {
                let factory = TransportFactory.tls(context, handshakeTimeout: .seconds(10))
                let listener = try loop.listen(host: "127.0.0.1", port: 0, transport: factory) { connection in
                    observe(connection, observed, closed: closed)
                    connection.onRead = { [unowned connection] buffer in
                        let data = buffer.readSlice(buffer.readableBytes)!
                        let established = connection.isEstablished
                        observed.withLock {
                            $0.received += data.count
                            if !established { $0.inputBeforeHandshake = true }
                        }
                        connection.write([data])
                        if observed.value.received >= expectedCount { connection.closeAfterFlush() }
                    }
                }
                return listener.localPort
            }
            let client = try startClient(port: port, [option])
            client.send(payload, thenClose: false)
            #expect(closed.wait(timeout: .now() + 30) == .success, "\(client.transcript)")
            #expect(client.waitForOutput(timeout: 10) { $0.count >= payload.count })
            #expect(firstDifference(client.stdout, payload) == nil)
            // s_client ends when it gets our close_notify.
            #expect(client.waitForExit(timeout: 10), "\(client.transcript)")
            let result = observed.value
            #expect(result.established == 1)
            #expect(result.protocolVersion == version)
            #expect(result.inputBeforeHandshake == false)
            #expect(result.closes == 1)
            #expect(result.closeError == nil)
            #expect(result.sendPath == (kernelTLSAvailable ? .kernelTLS : .userSpace))
        }
    }

    /// Never skipped: without the kernel's tls module (our test machines) the SSL_write path is
    /// asserted, with it the kTLS path; either way the bytes equal the plain TCP delivery's.
    @Test("file regions and framed mappings over TLS arrive as the file holds them, on the path the kernel allows")
    func fileOutputOverTLSEqualsPlainDelivery() throws {
        let context = try serverContext()
        let content = (0..<2_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 13) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-tls-file-\(UUID().uuidString)")
        try Data(content).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PeerError(description: "open \(url.path): errno \(errno)") }
        let file = OpenFile(takingOwnershipOf: fd, name: url.path)
        let expected = try filePieces(file, content: content).expected

        try withRunningLoop { loop in
            let observed = Locked(Observed())
            let closed = DispatchSemaphore(value: 0)
            let ports = try onLoop(loop) { () throws -> [Int] in
                let send: (Connection) -> Void = { connection in
                    do {
                        connection.write(try filePieces(file, content: content).pieces)
                    } catch {
                        Issue.record("pieces: \(error)")
                    }
                    connection.closeAfterFlush(timeout: .seconds(30))
                }
                let tls = try loop.listen(
                    host: "127.0.0.1", port: 0,
                    transport: .tls(context, handshakeTimeout: .seconds(10))
                ) { connection in
                    observe(connection, observed, closed: closed)
                    // Queued before the handshake is done: it waits for it.
                    send(connection)
                }
                let plain = try loop.listen(host: "127.0.0.1", port: 0) { connection in send(connection) }
                return [tls.localPort, plain.localPort]
            }
            let client = try startClient(port: ports[0], ["-tls1_3"])
            client.closeInput()
            #expect(closed.wait(timeout: .now() + 60) == .success, "\(client.transcript)")
            #expect(client.waitForOutput(timeout: 10) { $0.count >= expected.count })
            #expect(client.waitForExit(timeout: 10))
            let overTLS = [UInt8](client.stdout)
            #expect(firstDifference(overTLS, expected) == nil)

            let plainSocket = try connectToLoopback(port: ports[1], timeout: 10)
            defer { close(plainSocket) }
            var overPlain: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while overPlain.count <= expected.count {
                let n = chunk.withUnsafeMutableBytes { recv(plainSocket, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                overPlain += chunk[0..<n]
            }
            #expect(firstDifference(overPlain, overTLS) == nil)

            let result = observed.value
            #expect(result.closeError == nil)
            #expect(result.sendPath == (kernelTLSAvailable ? .kernelTLS : .userSpace))
            #expect(result.zeroCopy == kernelTLSAvailable)
        }
    }

    /// Runs a TLS listener with a short handshake limit, lets `peer` talk to it over plain TCP,
    /// and returns how the connection ended and whether the peer saw it closed.
    fileprivate func refusedConnection(
        handshakeTimeout: Duration, _ peer: (Int32) -> Void
    ) throws -> (observed: Observed, peerSawClose: Bool) {
        let context = try serverContext()
        return try withRunningLoop { loop in
            let observed = Locked(Observed())
            let closed = DispatchSemaphore(value: 0)
            let port = try onLoop(loop) {
                let factory = TransportFactory.tls(context, handshakeTimeout: handshakeTimeout)
                let listener = try loop.listen(host: "127.0.0.1", port: 0, transport: factory) { connection in
                    observe(connection, observed, closed: closed)
                    connection.onRead = { _ in observed.withLock { $0.inputBeforeHandshake = true } }
                }
                return listener.localPort
            }
            let socket = try connectToLoopback(port: port, timeout: 10)
            defer { close(socket) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            peer(socket)
            #expect(closed.wait(timeout: .now() + 20) == .success)
            // The peer is closed on: end of stream or a reset, not a hang until its timeout.
            var byte: UInt8 = 0
            let n = recv(socket, &byte, 1, 0)
            let sawClose = n == 0 || (n < 0 && errno == ECONNRESET)
            return (observed.value, sawClose)
        }
    }

    @Test("a handshake stalled mid-way is dropped at its deadline, and says so")
    func stalledHandshakeIsDroppedAtItsDeadline() throws {
        let (observed, sawClose) = try refusedConnection(handshakeTimeout: .milliseconds(500)) { socket in
            // The header of a handshake record, then nothing.
            let partial: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01]
            _ = send(socket, partial, partial.count, Int32(MSG_NOSIGNAL))
        }
        #expect(sawClose)
        #expect(observed.established == 0)
        #expect(observed.closes == 1)
        let error = try #require(observed.establishError, "closed with \(observed.closeError ?? "no error")")
        #expect(error.timedOut)
        #expect(error.reason.contains("not established within"), "\(error)")
        #expect(error.peer.hasPrefix("127.0.0.1:"))
    }

    @Test("a plaintext A-ASSOCIATE-RQ on the TLS transport is refused at once with OpenSSL's reason")
    func plaintextPeerFailsCleanly() throws {
        let (observed, sawClose) = try refusedConnection(handshakeTimeout: .seconds(30)) { socket in
            // The start of an A-ASSOCIATE-RQ: PDU type 01, reserved, length, protocol version 1.
            var request: [UInt8] = [0x01, 0x00, 0x00, 0x00, 0x00, 0x44, 0x00, 0x01, 0x00, 0x00]
            request += Array("QRSCPD          STORESCU        ".utf8) + [UInt8](repeating: 0, count: 32)
            _ = send(socket, request, request.count, Int32(MSG_NOSIGNAL))
        }
        #expect(sawClose)
        #expect(observed.inputBeforeHandshake == false)
        #expect(observed.closes == 1)
        let error = try #require(observed.establishError, "closed with \(observed.closeError ?? "no error")")
        #expect(!error.timedOut)
        #expect(error.reason.contains("TLS handshake failed"), "\(error)")
        #expect(error.reason.contains("wrong version number"), "\(error)")
    }
    /// Connects on the loop with a TLS client transport to a fresh `openssl s_server`, writes
    /// `message` at once (before the handshake is done), and closes after the flush.
    fileprivate func connectAndSend(
        serverName: String, message: String
    ) throws -> (observed: Observed, server: PeerProcess) {
        let (server, port) = try PeerProcess.openSSLServer(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let context = try TLSContext(TLSConfiguration(trustAnchorsPath: certificates.ca), role: .client)
        return try withRunningLoop { loop in
            let observed = Locked(Observed())
            let closed = DispatchSemaphore(value: 0)
            try onLoop(loop) {
                let factory = TransportFactory.tls(context, serverName: serverName, handshakeTimeout: .seconds(10))
                loop.connect(host: "127.0.0.1", port: port, timeout: .seconds(10), transport: factory) { result in
                    guard case .success(let connection) = result else {
                        observed.withLock { $0.closeError = "connect: \(result)" }
                        closed.signal()
                        return
                    }
                    observe(connection, observed, closed: closed)
                    connection.write(Array(message.utf8)[...])
                    connection.closeAfterFlush()
                }
            }
            #expect(closed.wait(timeout: .now() + 20) == .success)
            return (observed.value, server)
        }
    }

    @Test(
        "a TLS client transport from connect verifies the server, sends what was queued before the handshake, ends with close_notify"
    )
    func clientTransportSendsAfterTheHandshake() throws {
        let (observed, server) = try connectAndSend(serverName: "localhost", message: "A-ASSOCIATE-RQ over TLS\n")
        #expect(observed.closeError == nil)
        #expect(observed.established == 1)
        #expect(observed.sendPath == (kernelTLSAvailable ? .kernelTLS : .userSpace))
        let arrived = server.waitForOutput(timeout: 10) {
            String(decoding: $0, as: UTF8.self).contains("A-ASSOCIATE-RQ over TLS")
        }
        #expect(arrived)
        #expect(server.waitForExit(timeout: 10), "\(server.transcript)")
    }

    @Test("a TLS client transport refuses a server whose certificate does not carry the name asked for")
    func clientTransportRefusesAWrongHostname() throws {
        let (observed, server) = try connectAndSend(serverName: "archive.wrong.example", message: "never sent\n")
        #expect(observed.established == 0)
        let error = try #require(observed.establishError, "closed with \(observed.closeError ?? "no error")")
        #expect(!error.timedOut)
        #expect(error.reason.contains("hostname mismatch"), "\(error)")
        server.waitForExit(timeout: 10)
        #expect(!String(decoding: server.stdout, as: UTF8.self).contains("never sent"))
    }
    /// Epoll cannot see plaintext OpenSSL already holds. Here it holds some when the socket is
    /// empty: a 1,000-byte record first shifts every later 16 KiB record off the read chunks'
    /// boundaries; everything is in the server's socket before it reads; its four reads of one
    /// readiness event (16, 32, 64 and 128 KiB) end mid-record with the socket drained, and
    /// only the transport's buffered input brings the record's last 1,000 bytes.
    @Test("plaintext held inside OpenSSL with the socket empty is still delivered")
    func plaintextHeldByOpenSSLIsDrained() throws {
        let context = try serverContext()
        let total = 1_000 + 15 * 16_384
        try withRunningLoop { loop in
            let received = Locked(0)
            let established = DispatchSemaphore(value: 0)
            let complete = DispatchSemaphore(value: 0)
            let server = Locked<LoopBound<Connection>?>(nil)
            let port = try onLoop(loop) {
                let tls = TransportFactory.tls(context, handshakeTimeout: .seconds(10))
                let roomy = TransportFactory { socket, loop in
                    var size: Int32 = 4 << 20
                    setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                    return try tls.make(socket, loop)
                }
                let listener = try loop.listen(host: "127.0.0.1", port: 0, transport: roomy) { connection in
                    server.withLock { $0 = LoopBound(connection, loop: loop) }
                    connection.onEstablished = { [unowned connection] in
                        connection.pauseReading()
                        established.signal()
                    }
                    connection.onRead = { buffer in
                        let count = buffer.readableBytes
                        buffer.moveReaderIndex(forwardBy: count)
                        received.withLock { $0 += count }
                        if received.value == total { complete.signal() }
                    }
                }
                return listener.localPort
            }
            let socket = try connectNonBlocking(port: port)
            defer { close(socket) }
            var size: Int32 = 4 << 20
            setsockopt(socket, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            let clientContext = try TLSContext(TLSConfiguration(trustAnchorsPath: certificates.ca), role: .client)
            let session = try TLSSession(context: clientContext, socket: socket, serverName: "localhost")
            #expect(LoopHarness.handshake(session) == .done)
            #expect(established.wait(timeout: .now() + 10) == .success)
            #expect(LoopHarness.write(session, [UInt8](repeating: 1, count: 1_000)) == .written(1_000))
            #expect(LoopHarness.write(session, [UInt8](repeating: 2, count: total - 1_000)) == .written(total - 1_000))
            // All of it in the server's socket: nothing left unsent or unacknowledged here.
            let deadline = Date().addingTimeInterval(10)
            var unsent: Int32 = -1
            while Date() < deadline {
                _ = ioctl(socket, UInt(TIOCOUTQ), &unsent)
                if unsent == 0 { break }
                usleep(1_000)
            }
            #expect(unsent == 0)
            try onLoop(loop) { server.value?.value.resumeReading() }
            #expect(complete.wait(timeout: .now() + 10) == .success, "received \(received.value) of \(total)")
            #expect(received.value == total)
        }
    }
}

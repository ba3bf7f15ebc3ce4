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

/// A Python TLS client that reads in 1000-byte pieces, pausing now and then (a bounded number of
/// times), with a small receive buffer: the server's socket fills and its writes meet EAGAIN.
/// The bytes go to stdout; stderr ends with "close_notify" when the stream ended with one, and a
/// TCP close without it (a ragged EOF) exits 3.
private let slowReaderScript = """
    import socket, ssl, sys, time
    port, ca = int(sys.argv[1]), sys.argv[2]
    context = ssl.create_default_context(cafile=ca)
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    raw.settimeout(30)
    raw.connect(("127.0.0.1", port))
    tls = context.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
    out = sys.stdout.buffer
    pauses, since = 0, 0
    time.sleep(0.1)
    while True:
        try:
            piece = tls.recv(1000)
        except ssl.SSLEOFError as error:
            print("ragged EOF:", error, file=sys.stderr)
            sys.exit(3)
        if not piece:
            break
        out.write(piece)
        since += len(piece)
        if pauses < 20 and since >= 256 * 1024:
            since, pauses = 0, pauses + 1
            time.sleep(0.02)
    out.flush()
    print("close_notify", file=sys.stderr)
    """

/// The `SSL_write` path's collected records against a reader slower than the loop.
@Suite struct TLSTransportSlowReaderTests {
    let certificates: TestCertificates

    init() throws {
        certificates = try TestCertificates.shared.get()
        _ = LoopHarness.ignoreSIGPIPE
    }

    @Test("megabytes written to a slow reader arrive whole and in order, and close_notify comes after the last byte")
    func slowReaderGetsEverythingBeforeCloseNotify() throws {
        let context = try TLSContext(
            TLSConfiguration(
                certificateChainPath: certificates.serverCertificate,
                privateKeyPath: certificates.serverKey), role: .server)
        // Slices of odd sizes, so records and staging buffers cut across them.
        let payload = (0..<8_000_000).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ $0 >> 9) }
        let slices = stride(from: 0, to: payload.count, by: 300_007).map {
            payload[$0..<min($0 + 300_007, payload.count)]
        }
        try withRunningLoop { loop in
            let backPressure = Locked(0)
            let closeError = Locked<String?>(nil)
            let closed = DispatchSemaphore(value: 0)
            let port = try onLoop(loop) {
                let factory = TransportFactory.tls(context, handshakeTimeout: .seconds(10))
                let listener = try loop.listen(host: "127.0.0.1", port: 0, transport: factory) { connection in
                    // Fires only from an EPOLLOUT event, after the socket was full, once the
                    // output drains below the mark (the last drain closes instead).
                    connection.writeLowWaterMark = payload.count / 2
                    connection.onWritable = { backPressure.withLock { $0 += 1 } }
                    connection.onClose = { error in
                        closeError.withLock { $0 = error.map { "\($0)" } }
                        closed.signal()
                    }
                    // Queued before the handshake ends; the close waits for all of it.
                    connection.write(slices)
                    connection.closeAfterFlush(timeout: .seconds(60))
                }
                return listener.localPort
            }
            let reader = try PeerProcess("/usr/bin/python3", ["-c", slowReaderScript, "\(port)", certificates.ca])
            #expect(closed.wait(timeout: .now() + 90) == .success, "\(reader.stderr)")
            #expect(reader.waitForExit(timeout: 60), "\(reader.stderr)")
            #expect(reader.process.terminationStatus == 0, "\(reader.stderr)")
            #expect(reader.stderr.hasSuffix("close_notify\n"), "\(reader.stderr)")
            let received = reader.stdout
            #expect(received.count == payload.count)
            #expect(firstDifference(received, payload) == nil)
            #expect(closeError.value == nil)
            #expect(backPressure.value > 0, "the socket never filled: the test did not meet EAGAIN")
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
import Dispatch
import ReactorTestSupport
import TestSupport
import Testing

@testable import Reactor

#if canImport(Glibc)
    import Glibc
#endif

/// A peer that shuts down its sending side (a TCP half-close) after its request still gets the
/// whole answer, whether it was queued before the end of stream was read or produced after it;
/// the connection then closes (no leak), also when its owner never answers.
@Suite struct HalfCloseTests {
    /// How the server side answers: when the request arrives, or only after the end of stream.
    enum Answer: Sendable { case queuedAtOnce, afterInputEnded, never }

    struct Outcome: Sendable {
        var inputEndedCalls = 0
        var closeError: String?
        var closed = false
    }

    /// A listener whose connections answer `reply` to the first byte received, as `answer` says.
    private static func serve(
        _ loop: EventLoop, reply: [UInt8], answer: Answer, handlesInputEnd: Bool, outcome: Locked<Outcome>,
        closed: Waiter
    ) throws -> Int {
        try onLoop(loop) {
            let listener = try loop.listen(host: "127.0.0.1", port: 0, backlog: 4) { connection in
                var answered = false
                connection.onRead = { [unowned connection] buffer in
                    buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                    if answer == .queuedAtOnce && !answered {
                        answered = true
                        connection.write(reply[...])
                    }
                }
                if handlesInputEnd {
                    connection.onInputEnded = { [unowned connection] in
                        outcome.withLock { $0.inputEndedCalls += 1 }
                        #expect(connection.isInputEnded)
                        // Answer on a later loop turn, as a worker's result would arrive.
                        loop.execute { [unowned connection] in
                            if answer == .afterInputEnded { connection.write(reply[...]) }
                            if answer != .never { connection.closeAfterFlush() }
                        }
                    }
                }
                connection.onClose = { error in
                    outcome.withLock {
                        $0.closed = true
                        $0.closeError = error.map { "\($0)" }
                    }
                    closed.signal()
                }
            }
            return listener.localPort
        }
    }

    /// Connects, sends a request, shuts down the sending side and reads until the server closes.
    private static func halfClosedRequest(port: Int) throws -> (received: [UInt8], sawEOF: Bool) {
        let fd = try connectToLoopback(port: port, timeout: 10)
        defer { close(fd) }
        #expect(blockingSend(fd, [Array("request".utf8)[...]]))
        #expect(shutdown(fd, Int32(SHUT_WR)) == 0)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (received, true) }
            if n < 0 { return (received, false) }
            received += chunk[0..<n]
        }
    }

    @Test(
        "the whole answer reaches a half-closed peer, then the connection closes",
        arguments: [(Answer.queuedAtOnce, false), (Answer.queuedAtOnce, true), (Answer.afterInputEnded, true)])
    func answerAfterHalfClose(answer: Answer, handlesInputEnd: Bool) throws {
        // Larger than the socket buffers: most of it is still queued when the end of stream is read.
        let reply = randomBytes(count: 16 << 20, seed: 7)
        try withRunningLoop { loop in
            let outcome = Locked(Outcome())
            let closed = Waiter()
            let port = try Self.serve(
                loop, reply: reply, answer: answer, handlesInputEnd: handlesInputEnd, outcome: outcome, closed: closed)
            let (received, sawEOF) = try Self.halfClosedRequest(port: port)
            #expect(received.count == reply.count && received == reply, "\(received.count) of \(reply.count) bytes")
            #expect(sawEOF, "the server closes after the answer")
            #expect(closed.wait(seconds: 10))
            #expect(outcome.value.closeError == nil)
            #expect(outcome.value.inputEndedCalls == (handlesInputEnd ? 1 : 0))
        }
    }

    @Test("a half-closed connection with nothing to send and no owner for the end of stream closes at once")
    func nothingToSendCloses() throws {
        try withRunningLoop { loop in
            let outcome = Locked(Outcome())
            let closed = Waiter()
            let port = try Self.serve(
                loop, reply: [], answer: .never, handlesInputEnd: false, outcome: outcome, closed: closed)
            let (received, sawEOF) = try Self.halfClosedRequest(port: port)
            #expect(received.isEmpty && sawEOF)
            #expect(closed.wait(seconds: 10))
            #expect(outcome.value.closed)
        }
    }
}

/// An abort, unlike a close, gives the peer no orderly end from the transport (no TLS
/// close_notify), so a response cut short cannot look complete.
@Suite struct AbortTests {
    typealias Outcome = HalfCloseTests.Outcome

    @Test("an abort drops what is queued and ends without the transport's orderly end; a close ends with it")
    func abortSaysNoOrderlyEnd() throws {
        for aborting in [true, false] {
            try withRunningLoop { loop in
                let outcome = Locked(Outcome())
                let closed = Waiter()
                let reply: [UInt8] = Array("partial answer".utf8)
                let port = try onLoop(loop) {
                    let factory = TransportFactory { socket, _ in ScramblingTransport(socket: socket) }
                    let listener = try loop.listen(host: "127.0.0.1", port: 0, transport: factory) { connection in
                        connection.onRead = { [unowned connection] buffer in
                            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                            connection.write(reply[...])
                            if aborting { connection.abort() } else { connection.close() }
                        }
                        connection.onClose = { error in
                            outcome.withLock { $0.closeError = error.map { "\($0)" } }
                            closed.signal()
                        }
                    }
                    return listener.localPort
                }
                let fd = try connectToLoopback(port: port, timeout: 10)
                defer { close(fd) }
                #expect(blockingSend(fd, [[ScramblingTransport.greeting, 0x00][...]]))
                let received = blockingReceive(fd, upTo: reply.count + 2).map { $0 ^ 0x5A }
                // The trailer is written unscrambled, so unscrambling the whole stream flips it too.
                let trailer = [ScramblingTransport.trailer ^ 0x5A]
                #expect(received == reply + (aborting ? [] : trailer), "aborting: \(aborting)")
                #expect(closed.wait(seconds: 10))
                #expect((outcome.value.closeError != nil) == aborting)
            }
        }
    }
}

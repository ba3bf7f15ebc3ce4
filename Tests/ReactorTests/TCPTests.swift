// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Dispatch
import ReactorTestSupport
import Testing

@testable import Reactor

#if canImport(Glibc)
    import Glibc
#endif

/// Starts an echo server on 127.0.0.1 port 0 that applies backpressure (pauses reading while more
/// than 1 MiB of echo is queued); returns its port.
private func startEchoServer(_ loop: EventLoop, closes: Locked<[String]>? = nil) throws -> Int {
    try onLoop(loop) {
        let listener = try loop.listen(host: "127.0.0.1", port: 0, backlog: 16) { connection in
            connection.onRead = { [unowned connection] buffer in
                let data = buffer.readSlice(buffer.readableBytes)!
                connection.write([data])
                if connection.pendingWriteBytes > 1 << 20 { connection.pauseReading() }
            }
            connection.onWritable = { [unowned connection] in connection.resumeReading() }
            connection.onClose = { error in
                closes?.withLock { $0.append(error.map { "\($0)" } ?? "nil") }
            }
        }
        #expect(listener.localPort > 0)
        return listener.localPort
    }
}

/// A plain blocking POSIX client socket connected to 127.0.0.1:`port`, with 10 s I/O timeouts.
/// A blocking client socket connected to 127.0.0.1:`port`. A `receiveBuffer` size is set
/// before connecting, which also turns off the kernel's receive-buffer autotuning: the peer
/// can then have at most its send buffer plus this much in flight.
private func blockingConnect(port: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SystemError(errno: errno, call: "socket") }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    if var size = receiveBuffer {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard rc == 0 else {
        let err = errno
        close(fd)
        throw SystemError(errno: err, call: "connect")
    }
    return fd
}

@Suite struct TCPTests {
    /// Bytes received on `fd` and not read yet (FIONREAD).
    static func bytesQueued(on fd: Int32) -> Int32 {
        var count: Int32 = 0
        return ioctl(fd, UInt(FIONREAD), &count) == 0 ? count : -1
    }

    static let tenMegabytes = 10 * 1024 * 1024

    @Test func echoTenMegabytesThroughOwnConnect() throws {
        try withRunningLoop { loop in
            let port = try startEchoServer(loop)
            let payload = randomBytes(count: Self.tenMegabytes, seed: 42)
            let slices = randomSlices(payload, maxChunk: 64 * 1024, seed: 43)
            struct Outcome: Sendable {
                var error: String?
                var received = 0
                var mismatch = false
                var armedWhilePending = false
                var armedInvariantBroken = 0
                var partialWrites = 0
                var armedAtEnd = true
                var closes = 0
                var closeError: String?
            }
            let outcome = Locked(Outcome())
            let done = Waiter()
            let closed = Waiter()
            try onLoop(loop) {
                loop.connect(host: "127.0.0.1", port: port, timeout: .seconds(5)) { result in
                    let connection: Connection
                    switch result {
                    case .failure(let error):
                        outcome.withLock { $0.error = "\(error)" }
                        done.signal()
                        return
                    case .success(let c):
                        connection = c
                    }
                    // A small send buffer forces partial writes.
                    _ = qrs_set_sndbuf(connection.fd, 32 * 1024)
                    var received = 0
                    connection.onRead = { [unowned connection] buffer in
                        let chunk = buffer.readSlice(buffer.readableBytes)!
                        let expected = payload[received..<(received + chunk.count)]
                        // memcmp: a generic element-wise compare dominates a debug-build run.
                        let matches = chunk.withUnsafeBytes { a in
                            expected.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
                        }
                        received += chunk.count
                        let armed = connection.isWritabilityArmed
                        let pending = connection.pendingWriteBytes
                        outcome.withLock {
                            if !matches { $0.mismatch = true }
                            $0.received = received
                            if armed != (pending > 0) { $0.armedInvariantBroken += 1 }
                        }
                        if received == payload.count {
                            outcome.withLock {
                                $0.partialWrites = connection.partialWriteCount
                                $0.armedAtEnd = connection.isWritabilityArmed
                            }
                            connection.close()
                            done.signal()
                        }
                    }
                    connection.onClose = { error in
                        outcome.withLock {
                            $0.closes += 1
                            $0.closeError = error.map { "\($0)" }
                        }
                        closed.signal()
                    }
                    connection.write(slices)
                    let armed = connection.isWritabilityArmed
                    let pending = connection.pendingWriteBytes
                    outcome.withLock { $0.armedWhilePending = armed && pending > 0 }
                }
            }
            #expect(done.wait(seconds: 60))
            #expect(closed.wait(seconds: 5))
            let result = outcome.value
            #expect(result.error == nil)
            #expect(result.received == payload.count)
            #expect(!result.mismatch)
            #expect(result.armedWhilePending)
            #expect(result.armedInvariantBroken == 0)
            #expect(!result.armedAtEnd)
            #expect(result.partialWrites > 0)
            #expect(result.closes == 1)
            #expect(result.closeError == nil)
        }
    }

    @Test func echoTenMegabytesFromBlockingPOSIXClient() throws {
        try withRunningLoop { loop in
            let serverCloses = Locked<[String]>([])
            let port = try startEchoServer(loop, closes: serverCloses)
            let payload = randomBytes(count: Self.tenMegabytes, seed: 7)
            let slices = randomSlices(payload, maxChunk: 100_000, seed: 8)
            let fd = try blockingConnect(port: port)
            let sent = Locked(false)
            let received = Locked<[UInt8]>([])
            let sendDone = Waiter()
            let receiveDone = Waiter()
            DispatchQueue.global().async {
                sent.withLock { $0 = blockingSend(fd, slices) }
                sendDone.signal()
            }
            DispatchQueue.global().async {
                let bytes = blockingReceive(fd, upTo: payload.count)
                received.withLock { $0 = bytes }
                receiveDone.signal()
            }
            #expect(sendDone.wait(seconds: 60))
            #expect(receiveDone.wait(seconds: 60))
            close(fd)
            #expect(sent.value)
            #expect(received.value.count == payload.count)
            #expect(received.value == payload)
            // The peer's orderly close reaches onClose once, without an error.
            for _ in 0..<100 where serverCloses.value.isEmpty { usleep(20_000) }
            #expect(serverCloses.value == ["nil"])
        }
    }

    @Test func pauseReadingStopsOnRead() throws {
        try withRunningLoop { loop in
            let reads = Locked(0)
            let bytes = Locked(0)
            let server = Locked<LoopBound<Connection?>?>(nil)
            let accepted = Waiter()
            let port = try onLoop(loop) {
                try loop.listen(host: "127.0.0.1", port: 0) { connection in
                    connection.pauseReading()
                    connection.onRead = { buffer in
                        reads.withLock { $0 += 1 }
                        bytes.withLock { $0 += buffer.readableBytes }
                        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                    }
                    server.withLock { $0 = LoopBound(connection, loop: loop) }
                    accepted.signal()
                }.localPort
            }
            let fd = try blockingConnect(port: port)
            defer { close(fd) }
            #expect(accepted.wait(seconds: 5))
            #expect(blockingSend(fd, [[UInt8](repeating: 1, count: 1000)[...]]))
            let box = try #require(server.value)
            // Wait until the bytes sit in the server socket's receive queue, then let the loop go
            // once more round epoll: a connection still reading would have been handed them.
            var queued: Int32 = 0
            for _ in 0..<250 where queued < 1000 {
                queued = try onLoop(loop) { Self.bytesQueued(on: box.value!.fd) }
                if queued < 1000 { usleep(20_000) }
            }
            #expect(queued == 1000)
            try onLoop(loop) {}
            #expect(reads.value == 0)
            #expect(try onLoop(loop) { box.value!.bytesRead } == 0)
            try onLoop(loop) { box.value!.resumeReading() }
            for _ in 0..<250 where bytes.value < 1000 { usleep(20_000) }
            #expect(bytes.value == 1000)
            try onLoop(loop) {
                box.value!.close()
                box.value = nil
            }
        }
    }

    @Test func closeAfterFlushDeliversEverythingThenCloses() throws {
        try withRunningLoop { loop in
            let payload = randomBytes(count: 5 * 1024 * 1024, seed: 99)
            let closeResult = Locked<[String]>([])
            let pendingAtClose = Locked(0)
            let port = try onLoop(loop) {
                try loop.listen(host: "127.0.0.1", port: 0) { connection in
                    _ = qrs_set_sndbuf(connection.fd, 64 * 1024)
                    connection.onClose = { error in closeResult.withLock { $0.append(error.map { "\($0)" } ?? "nil") } }
                    connection.write(randomSlices(payload, maxChunk: 30_000, seed: 5))
                    pendingAtClose.withLock { $0 = connection.pendingWriteBytes }
                    connection.closeAfterFlush(timeout: .seconds(20))
                    connection.write([[1, 2, 3]])  // dropped: the connection is closing
                }.localPort
            }
            let fd = try blockingConnect(port: port)
            defer { close(fd) }
            let received = blockingReceive(fd, upTo: payload.count + 100)
            #expect(received.count == payload.count)
            #expect(received == payload)
            #expect(pendingAtClose.value > 0)
            for _ in 0..<100 where closeResult.value.isEmpty { usleep(20_000) }
            #expect(closeResult.value == ["nil"])
        }
    }

    @Test func connectToClosedPortIsRefused() throws {
        let fd = qrs_listen_tcp("127.0.0.1", 0, 1)
        #expect(fd >= 0)
        let port = Int(qrs_local_port(fd))
        close(fd)
        try withRunningLoop { loop in
            let outcome = Locked<Result<Void, SystemError>?>(nil)
            let done = Waiter()
            try onLoop(loop) {
                loop.connect(host: "127.0.0.1", port: port, timeout: .seconds(5)) { result in
                    switch result {
                    case .success(let connection):
                        connection.close()
                        outcome.withLock { $0 = .success(()) }
                    case .failure(let error):
                        outcome.withLock { $0 = .failure(error as! SystemError) }
                    }
                    done.signal()
                }
            }
            #expect(done.wait(seconds: 10))
            guard case .failure(let error) = outcome.value else {
                Issue.record("connect to a closed port succeeded")
                return
            }
            #expect(error.errno == ECONNREFUSED)
            #expect(error.description == "connect: Connection refused (errno 111)")
        }
    }

    @Test func connectTimesOutWhenBacklogIsFull() throws {
        // Backlog 0 admits one connection; further SYNs are dropped while it sits unaccepted, so
        // the next connect stays in progress until our timer fires.
        let listenFD = qrs_listen_tcp("127.0.0.1", 0, 0)
        #expect(listenFD >= 0)
        defer { close(listenFD) }
        let port = Int(qrs_local_port(listenFD))
        try withRunningLoop { loop in
            let outcomes = Locked<[String]>([])
            let done = Waiter()
            try onLoop(loop) {
                let keep = LoopBound([Connection](), loop: loop)
                func attempt(_ remaining: Int) {
                    loop.connect(host: "127.0.0.1", port: port, timeout: .milliseconds(300)) { result in
                        switch result {
                        case .success(let connection):
                            keep.value.append(connection)
                            outcomes.withLock { $0.append("connected") }
                            if remaining > 0 { attempt(remaining - 1) } else { done.signal() }
                        case .failure(let error):
                            outcomes.withLock { $0.append("\(error)") }
                            for connection in keep.value { connection.close() }
                            done.signal()
                        }
                    }
                }
                attempt(4)
            }
            #expect(done.wait(seconds: 10))
            let results = outcomes.value
            #expect(results.last == "connect: Connection timed out (errno 110)", "\(results)")
        }
    }

    @Test func connectRejectsNonNumericHost() throws {
        try withRunningLoop { loop in
            let outcome = Locked<String?>(nil)
            let done = Waiter()
            try onLoop(loop) {
                loop.connect(host: "localhost", port: 104, timeout: .seconds(1)) { result in
                    if case .failure(let error as SystemError) = result { outcome.withLock { $0 = "\(error.errno)" } }
                    done.signal()
                }
            }
            #expect(done.wait(seconds: 5))
            #expect(outcome.value == "\(EINVAL)")
        }
    }

    @Test func adoptsListeningDescriptorAndReportsPeer() throws {
        let fd = qrs_listen_tcp("127.0.0.1", 0, 8)
        #expect(fd >= 0)
        try withRunningLoop { loop in
            let peer = Locked<String?>(nil)
            let accepted = Waiter()
            let port = try onLoop(loop) {
                try loop.listen(fd: fd) { connection in
                    peer.withLock { $0 = connection.peerAddress }
                    connection.close()
                    accepted.signal()
                }.localPort
            }
            let client = try blockingConnect(port: port)
            defer { close(client) }
            #expect(accepted.wait(seconds: 5))
            #expect(peer.value?.hasPrefix("127.0.0.1:") == true)
        }
    }

    @Test func peerResetReportsErrorOnce() throws {
        try withRunningLoop { loop in
            let closes = Locked<[Int32?]>([])
            let accepted = Waiter()
            let port = try onLoop(loop) {
                try loop.listen(host: "127.0.0.1", port: 0) { connection in
                    connection.onRead = { buffer in buffer.moveReaderIndex(forwardBy: buffer.readableBytes) }
                    connection.onClose = { error in
                        closes.withLock { $0.append(error.map { ($0 as? SystemError)?.errno ?? -1 }) }
                    }
                    accepted.signal()
                }.localPort
            }
            let fd = try blockingConnect(port: port)
            #expect(accepted.wait(seconds: 5))
            // Linger with a zero timeout makes close() send RST instead of FIN.
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            close(fd)
            for _ in 0..<100 where closes.value.isEmpty { usleep(20_000) }
            // The connection is deregistered when it reports its close; a loop turn after that
            // would carry any second report.
            try onLoop(loop) {}
            #expect(closes.value == [ECONNRESET] || closes.value == [nil], "\(closes.value)")
        }
    }

    @Test func ipv6LoopbackEcho() throws {
        try withRunningLoop { loop in
            let listening: Result<Int, SystemError> = try onLoop(loop) {
                do {
                    let listener = try loop.listen(host: "::1", port: 0) { connection in
                        connection.onRead = { [unowned connection] buffer in
                            connection.write(buffer.readSlice(buffer.readableBytes)!)
                        }
                    }
                    return .success(listener.localPort)
                } catch let error as SystemError {
                    return .failure(error)
                }
            }
            guard case .success(let port) = listening else {
                // No IPv6 loopback in this environment; nothing to test.
                return
            }
            let echoed = Locked<[UInt8]>([])
            let peer = Locked("")
            let done = Waiter()
            try onLoop(loop) {
                loop.connect(host: "::1", port: port, timeout: .seconds(5)) { result in
                    guard case .success(let connection) = result else {
                        done.signal()
                        return
                    }
                    peer.withLock { $0 = connection.peerAddress }
                    connection.onRead = { [unowned connection] buffer in
                        let bytes = Array(buffer.readSlice(buffer.readableBytes)!)
                        let total = echoed.withLock {
                            $0 += bytes
                            return $0.count
                        }
                        if total == 3 {
                            connection.close()
                            done.signal()
                        }
                    }
                    connection.write([[7, 8, 9]])
                }
            }
            #expect(done.wait(seconds: 5))
            #expect(echoed.value == [7, 8, 9])
            #expect(peer.value == "[::1]:\(port)")
        }
    }

    @Test func onWritableFiresWhenOutputDrainsBelowLowWaterMark() throws {
        try withRunningLoop { loop in
            // Far more than the socket pair can hold (a send buffer of at most 4 MiB, net.ipv4.tcp_wmem,
            // plus the client's fixed 64 KiB receive buffer): the write must leave output queued above
            // the low-water mark, or onWritable has nothing to report (once, under load, a 4 MiB
            // payload was taken by the socket almost whole).
            let payload = randomBytes(count: 16 * 1024 * 1024, seed: 3)
            let writableCalls = Locked<[Int]>([])
            let initialPending = Locked(0)
            let port = try onLoop(loop) {
                try loop.listen(host: "127.0.0.1", port: 0) { connection in
                    connection.writeLowWaterMark = 256 * 1024
                    connection.onWritable = { [unowned connection] in
                        writableCalls.withLock { $0.append(connection.pendingWriteBytes) }
                        connection.close()
                    }
                    connection.write(randomSlices(payload, maxChunk: 50_000, seed: 4))
                    initialPending.withLock { $0 = connection.pendingWriteBytes }
                }.localPort
            }
            let fd = try blockingConnect(port: port, receiveBuffer: 64 * 1024)
            defer { close(fd) }
            // The server's output backs up in its queue before the client starts reading.
            for _ in 0..<250 where initialPending.value == 0 { usleep(20_000) }
            let received = blockingReceive(fd, upTo: payload.count)
            #expect(initialPending.value >= 256 * 1024)
            #expect(writableCalls.value.count == 1)
            #expect((writableCalls.value.first ?? .max) < 256 * 1024)
            #expect(received == Array(payload.prefix(received.count)))
        }
    }

    @Test func holdingWritesQueuesUntilTheOutermostHoldEndsThenFlushesInOrder() throws {
        try withRunningLoop { loop in
            // Pending bytes seen: inside the inner hold, after it, after the outer one.
            let pending = Locked<[Int]>([])
            let port = try onLoop(loop) {
                try loop.listen(host: "127.0.0.1", port: 0) { connection in
                    connection.holdingWrites {
                        connection.write([1, 2, 3][...])
                        connection.holdingWrites {
                            connection.write([4, 5][...])
                            pending.withLock { $0.append(connection.pendingWriteBytes) }
                        }
                        pending.withLock { $0.append(connection.pendingWriteBytes) }
                        connection.write([6][...])
                    }
                    pending.withLock { $0.append(connection.pendingWriteBytes) }
                    connection.closeAfterFlush(timeout: .seconds(5))
                }.localPort
            }
            let fd = try blockingConnect(port: port)
            defer { close(fd) }
            // Read to the end: the server closes only after recording the last figure.
            let received = blockingReceive(fd, upTo: 7)
            #expect(received == [1, 2, 3, 4, 5, 6])
            // Nothing left while any hold was open; all of it went once the outer hold ended.
            #expect(pending.value == [5, 5, 0])
        }
    }
}

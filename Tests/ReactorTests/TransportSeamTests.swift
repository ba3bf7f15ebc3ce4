// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Dispatch
import ReactorTestSupport
import TestSupport
import Testing

@testable import Reactor

#if canImport(Glibc)
    import Glibc
#endif

/// A transport for tests that behaves like a security layer without being one: established only
/// after the peer's greeting byte (like a handshake that first waits for the peer), every byte
/// XORed with a key both ways (so the peer sees that bytes went through it), files never
/// zero-copy, and an orderly shutdown that sends a trailer byte (like close_notify).
final class ScramblingTransport: ByteTransport {
    static let greeting: UInt8 = 0x47
    static let trailer: UInt8 = 0x04
    let socket: Int32
    let key: UInt8
    let establishTimeout: Duration?
    private(set) var isEstablished = false

    init(socket: Int32, key: UInt8 = 0x5A, timeout: Duration? = .seconds(10)) {
        self.socket = socket
        self.key = key
        establishTimeout = timeout
    }

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    var interest: TransportInterest { isEstablished ? [] : .readable }

    func establish() throws -> Bool {
        var byte: UInt8 = 0
        switch try syscall("read", blocking: true, { Glibc.read(socket, &byte, 1) }) {
        case .wouldBlock: return false
        case .processed(0): throw Refused(description: "the peer closed before its greeting")
        case .processed:
            guard byte == Self.greeting else { throw Refused(description: "bad greeting \(byte)") }
            isEstablished = true
            return true
        }
    }

    func read(into buffer: inout ByteBuffer, chunkSize: Int) throws -> IOResult<Int> {
        let socket = self.socket
        let key = self.key
        return try buffer.read(chunkSize: chunkSize) { (chunk) throws(SystemError) -> IOResult<Int> in
            switch try syscall("read", blocking: true, { Glibc.read(socket, chunk.baseAddress, chunk.count) }) {
            case .wouldBlock: return .wouldBlock
            case .processed(let n):
                for index in 0..<n { chunk[index] ^= key }
                return .processed(n)
            }
        }
    }

    var hasBufferedInput: Bool { false }

    func write(_ iovecs: UnsafePointer<iovec>, count: Int, moreFollows: Bool) throws -> IOResult<Int> {
        var scrambled: [UInt8] = []
        for index in 0..<count {
            let piece = UnsafeRawBufferPointer(start: iovecs[index].iov_base, count: iovecs[index].iov_len)
            scrambled += piece.map { $0 ^ key }
        }
        let socket = self.socket
        return try scrambled.withUnsafeBytes { bytes throws(SystemError) in
            try syscall("write", blocking: true, { Glibc.write(socket, bytes.baseAddress, bytes.count) })
        }
    }

    var sendsFilesZeroCopy: Bool { false }

    func shutdown() {
        var byte = Self.trailer
        _ = Glibc.write(socket, &byte, 1)
    }
}

/// Plain TCP that refuses to take files zero-copy, so the connection copies them through it.
final class CopyingTransport: ByteTransport {
    private let plain: PlainTCPTransport
    init(socket: Int32) { plain = PlainTCPTransport(socket: socket) }
    var isEstablished: Bool { true }
    var interest: TransportInterest { [] }
    var establishTimeout: Duration? { nil }
    func establish() throws -> Bool { true }
    func read(into buffer: inout ByteBuffer, chunkSize: Int) throws -> IOResult<Int> {
        try plain.read(into: &buffer, chunkSize: chunkSize)
    }
    var hasBufferedInput: Bool { false }
    func write(_ iovecs: UnsafePointer<iovec>, count: Int, moreFollows: Bool) throws -> IOResult<Int> {
        try plain.write(iovecs, count: count, moreFollows: moreFollows)
    }
    var sendsFilesZeroCopy: Bool { false }
    func shutdown() {}
}

/// Plain TCP whose first read needs the socket writable first (as a TLS read may), to check
/// that the connection retries it on writability and then stops asking epoll for it.
final class ReadWantsWriteTransport: ByteTransport {
    private let plain: PlainTCPTransport
    private(set) var interest: TransportInterest = []
    private var askedForWritable = false
    init(socket: Int32) { plain = PlainTCPTransport(socket: socket) }
    var isEstablished: Bool { true }
    var establishTimeout: Duration? { nil }
    func establish() throws -> Bool { true }
    func read(into buffer: inout ByteBuffer, chunkSize: Int) throws -> IOResult<Int> {
        interest = []
        if !askedForWritable {
            askedForWritable = true
            interest = .writable
            return .wouldBlock
        }
        return try plain.read(into: &buffer, chunkSize: chunkSize)
    }
    var hasBufferedInput: Bool { false }
    func write(_ iovecs: UnsafePointer<iovec>, count: Int, moreFollows: Bool) throws -> IOResult<Int> {
        try plain.write(iovecs, count: count, moreFollows: moreFollows)
    }
    var sendsFilesZeroCopy: Bool { true }
    func shutdown() {}
}

/// A blocking client socket connected to 127.0.0.1:`port` with 10 s I/O timeouts.
private func connectBlocking(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SystemError(errno: errno, call: "socket") }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
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

private func scramble(_ bytes: [UInt8], key: UInt8 = 0x5A) -> [UInt8] { bytes.map { $0 ^ key } }

@Suite struct TransportSeamTests {
    @Test(
        "a transport is established first, then reads and gathered writes go through it, and an orderly close ends it")
    func establishedTransportCarriesReadsWritesAndClose() throws {
        try withRunningLoop { loop in
            struct Seen: Sendable {
                var queuedBeforeEstablished = -1
                var establishedAtAccept = true
                var established = 0
                var closeError: String? = "not closed"
            }
            let seen = Locked(Seen())
            let closed = Waiter()
            let banner: [UInt8] = Array("banner queued before the handshake".utf8)
            let port = try onLoop(loop) {
                let factory = TransportFactory { socket, _ in ScramblingTransport(socket: socket) }
                let listener = try loop.listen(host: "127.0.0.1", port: 0, transport: factory) { connection in
                    // Queued now, sent only once the transport is established.
                    connection.write(banner[...])
                    let queued = connection.pendingWriteBytes
                    let established = connection.isEstablished
                    seen.withLock {
                        $0.queuedBeforeEstablished = queued
                        $0.establishedAtAccept = established
                    }
                    connection.onEstablished = { seen.withLock { $0.established += 1 } }
                    connection.onRead = { [unowned connection] buffer in
                        let data = Array(buffer.readSlice(buffer.readableBytes)!)
                        // An echo in several slices: one gathered write through the transport.
                        connection.write(randomSlices(data, maxChunk: 7, seed: UInt64(data.count)))
                    }
                    connection.onClose = { error in
                        seen.withLock { $0.closeError = error.map { "\($0)" } }
                        closed.signal()
                    }
                }
                return listener.localPort
            }
            let client = try connectBlocking(port: port)
            defer { close(client) }
            let message = randomBytes(count: 100_000, seed: 77)
            // The greeting and the first application bytes in one send, as a TLS client's last
            // handshake flight may carry data.
            #expect(blockingSend(client, [([ScramblingTransport.greeting] + scramble(message))[...]]))
            let reply = blockingReceive(client, upTo: banner.count + message.count)
            #expect(reply.count == banner.count + message.count)
            #expect(firstDifference(scramble(reply), banner + message) == nil)
            shutdown(client, Int32(SHUT_WR))
            // Orderly end: the transport's trailer, then EOF.
            #expect(blockingReceive(client, upTo: 2) == [ScramblingTransport.trailer])
            #expect(closed.wait(seconds: 10))
            let result = seen.value
            #expect(result.queuedBeforeEstablished == banner.count)
            #expect(result.establishedAtAccept == false)
            #expect(result.established == 1)
            #expect(result.closeError == nil)
        }
    }

    @Test("a transport not established by its deadline is dropped with a reason; a refusal too")
    func establishmentDeadlineAndRefusal() throws {
        try withRunningLoop { loop in
            let errors = Locked<[String: TransportEstablishError]>([:])
            let closes = Locked(0)
            let bothClosed = DispatchSemaphore(value: 0)
            let port = try onLoop(loop) {
                let factory = TransportFactory { socket, _ in
                    ScramblingTransport(socket: socket, timeout: .milliseconds(300))
                }
                let listener = try loop.listen(host: "127.0.0.1", port: 0, transport: factory) { connection in
                    let peer = connection.peerAddress
                    connection.onRead = { _ in Issue.record("input delivered before establishment") }
                    connection.onClose = { error in
                        if let error = error as? TransportEstablishError { errors.withLock { $0[peer] = error } }
                        closes.withLock { $0 += 1 }
                        bothClosed.signal()
                    }
                }
                return listener.localPort
            }
            let stalled = try connectBlocking(port: port)
            defer { close(stalled) }
            let refused = try connectBlocking(port: port)
            defer { close(refused) }
            #expect(blockingSend(refused, [([0x16, 0x03, 0x01])[...]]))
            #expect(bothClosed.wait(timeout: .now() + 10) == .success)
            #expect(bothClosed.wait(timeout: .now() + 10) == .success)
            // Both peers see the connection closed, and no trailer (it never was established).
            #expect(blockingReceive(stalled, upTo: 1).isEmpty)
            #expect(blockingReceive(refused, upTo: 1).isEmpty)
            let found = errors.value.values.sorted { $0.timedOut && !$1.timedOut }
            #expect(closes.value == 2)
            #expect(found.count == 2)
            #expect(found.first?.timedOut == true)
            #expect(found.first?.reason.contains("not established within") == true)
            #expect(found.last?.timedOut == false)
            #expect(found.last?.reason.contains("bad greeting 22") == true)
        }
    }

    @Test("over a transport without zero-copy, file regions, framed mappings and bytes are copied in order and in full")
    func filesGoThroughTheCopyPath() throws {
        let content = randomBytes(count: 2 * 1024 * 1024 + 5, seed: 61)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        let expected = Locked<[UInt8]>([])
        let frames = FramedMappingTests()
        let delivery = try deliverToSlowReader(transport: { CopyingTransport(socket: $0) }) {
            let range = 3_001..<1_200_000
            let framed = try frames.framed(
                FileMapping(file: file, offset: 0, length: content.count), range,
                chunk: 16 * 1024 - 6, seed: 500, content: content)
            let head: [UInt8] = [9, 8, 7]
            let regionRange = 1_200_000..<content.count
            expected.withLock { $0 = head + framed.expected + Array(content[regionRange]) + head }
            return [
                .bytes(head[...]), framed.piece,
                .file(FileRegion(file: file, offset: regionRange.lowerBound, length: regionRange.count)),
                .bytes(head[...]),
            ]
        }
        let result = delivery.outcome
        #expect(result.zeroCopy == false)
        #expect(result.splicedThroughPipe == false)
        #expect(result.closes == 1)
        #expect(result.closeError == nil)
        #expect(result.partialWrites > 0)
        #expect(firstDifference(delivery.received, expected.value) == nil)
    }

    @Test("on the copy path a file that got shorter closes the connection with a file region error")
    func copyPathReportsAShortFile() throws {
        let content = randomBytes(count: 4 * 1024 * 1024, seed: 62)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        let delivery = try deliverToSlowReader(
            waitSeconds: 30,
            beforeReading: {
                #expect(truncate(path, off_t(content.count / 2)) == 0)
            }, transport: { CopyingTransport(socket: $0) }
        ) {
            [.file(FileRegion(file: file, offset: 0, length: content.count))]
        }
        let result = delivery.outcome
        #expect(result.closes == 1)
        #expect(result.closedWithFileRegionError, "closed with \(result.closeError ?? "no error")")
        #expect(result.closeError?.hasPrefix("pread") == true, "closed with \(result.closeError ?? "no error")")
        #expect(delivery.received.elementsEqual(content.prefix(delivery.received.count)))
        #expect(delivery.received.count <= content.count / 2)
    }

    @Test("two listeners on one loop, each with its own handler and transport")
    func twoListenersTwoHandlers() throws {
        try withRunningLoop { loop in
            struct Accepted: Sendable {
                var plainTransport = false
                var plainZeroCopy = false
                var scrambledTransport = false
            }
            let accepted = Locked(Accepted())
            let ports = try onLoop(loop) { () throws -> [Int] in
                let plain = try loop.listen(host: "127.0.0.1", port: 0) { connection in
                    let isPlain = connection.transport is PlainTCPTransport
                    let zeroCopy = connection.isEstablished && connection.sendsFilesZeroCopy
                    accepted.withLock {
                        $0.plainTransport = isPlain
                        $0.plainZeroCopy = zeroCopy
                    }
                    connection.onRead = { [unowned connection] buffer in
                        let data = buffer.readSlice(buffer.readableBytes)!
                        connection.write([Array("plain:".utf8)[...], data])
                    }
                }
                let factory = TransportFactory { socket, _ in ScramblingTransport(socket: socket) }
                let scrambled = try loop.listen(host: "127.0.0.1", port: 0, transport: factory) { connection in
                    let isScrambling = connection.transport is ScramblingTransport
                    accepted.withLock { $0.scrambledTransport = isScrambling }
                    connection.onRead = { [unowned connection] buffer in
                        let data = Array(buffer.readSlice(buffer.readableBytes)!)
                        connection.write((Array("other:".utf8) + data.reversed())[...])
                    }
                }
                return [plain.localPort, scrambled.localPort]
            }
            let first = try connectBlocking(port: ports[0])
            defer { close(first) }
            let second = try connectBlocking(port: ports[1])
            defer { close(second) }
            #expect(blockingSend(first, [(Array("abc".utf8))[...]]))
            #expect(blockingSend(second, [([ScramblingTransport.greeting] + scramble(Array("abc".utf8)))[...]]))
            #expect(blockingReceive(first, upTo: 9) == Array("plain:abc".utf8))
            #expect(scramble(blockingReceive(second, upTo: 9)) == Array("other:cba".utf8))
            let result = accepted.value
            #expect(result.plainTransport)
            #expect(result.plainZeroCopy)
            #expect(result.scrambledTransport)
        }
    }
    @Test(
        "a transport whose read asks for writability still gets its input, and epoll stops watching writability after")
    func transportInterestIsServedThenDropped() throws {
        try withRunningLoop { loop in
            let received = Locked<[UInt8]>([])
            let arrived = Waiter()
            let server = Locked<LoopBound<Connection>?>(nil)
            let port = try onLoop(loop) {
                let factory = TransportFactory { socket, _ in ReadWantsWriteTransport(socket: socket) }
                let listener = try loop.listen(host: "127.0.0.1", port: 0, transport: factory) { connection in
                    server.withLock { $0 = LoopBound(connection, loop: loop) }
                    connection.onRead = { buffer in
                        let data = Array(buffer.readSlice(buffer.readableBytes)!)
                        received.withLock { $0 += data }
                        arrived.signal()
                    }
                }
                return listener.localPort
            }
            let client = try connectBlocking(port: port)
            defer { close(client) }
            #expect(blockingSend(client, [([1, 2, 3])[...]]))
            #expect(arrived.wait(seconds: 10))
            #expect(received.value == [1, 2, 3])
            let armed = try onLoop(loop) { server.value.map { $0.value.isWritabilityArmed } }
            #expect(armed == false)
        }
    }
}

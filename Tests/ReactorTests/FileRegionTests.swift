// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Dispatch
import Testing
@testable import Reactor

#if canImport(Glibc)
import Glibc
#endif

/// A temporary file holding `bytes`, opened read-only; removed when the test ends.
func temporaryFile(_ bytes: [UInt8]) throws -> (path: String, file: OpenFile) {
    var template = Array("/tmp/qrscpd-fileregion-XXXXXX".utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { throw SystemError(errno: errno, call: "mkstemp") }
    let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    guard written == bytes.count else { throw SystemError(errno: EIO, call: "write") }
    let readFD = open(path, O_RDONLY | O_CLOEXEC)
    guard readFD >= 0 else { throw SystemError(errno: errno, call: "open") }
    return (path, OpenFile(takingOwnershipOf: readFD, name: path))
}

/// A connected AF_UNIX stream pair with small buffers: [0] non-blocking for the connection,
/// [1] blocking (10 s receive timeout) for the reading thread.
func smallBufferPair() throws -> (Int32, Int32) {
    var fds: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else {
        throw SystemError(errno: errno, call: "socketpair")
    }
    _ = qrs_set_nonblocking(fds[0])
    _ = qrs_set_sndbuf(fds[0], 16 * 1024)
    _ = qrs_set_rcvbuf(fds[1], 16 * 1024)
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fds[1], SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return (fds[0], fds[1])
}

/// Reads from `fd` until EOF, error or timeout, in small reads with pauses so the writer keeps
/// finding the socket full.
func slowReadAll(_ fd: Int32, pauseEvery: Int = 256 * 1024) -> [UInt8] {
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 8 * 1024)
    var sincePause = 0
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        received += chunk[0..<n]
        sincePause += n
        if sincePause >= pauseEvery {
            sincePause = 0
            usleep(2_000)
        }
    }
    return received
}

@Suite struct FileRegionTests {
    struct Outcome: Sendable {
        var closeError: String?
        var closedWithFileRegionError = false
        var closes = 0
        var partialWrites = 0
        var pendingAfterQueue = 0
    }

    /// Queues `pieces` (built on the loop from the file) on a connection over `fd`, records how
    /// it closes, and closes it once everything was written.
    private func run(_ loop: EventLoop, fd: Int32, outcome: Locked<Outcome>, closed: Waiter,
                     pieces: @escaping @Sendable () -> [OutputPiece]) throws {
        try onLoop(loop) {
            let connection = try TCPConnection(fd: fd, loop: loop)
            connection.writeLowWaterMark = 1
            connection.onClose = { [unowned connection] error in
                let partial = connection.partialWriteCount
                outcome.withLock {
                    $0.closes += 1
                    $0.closeError = error.map { "\($0)" }
                    $0.closedWithFileRegionError = error is FileRegionError
                    $0.partialWrites = partial
                }
                closed.signal()
            }
            connection.onWritable = { [unowned connection] in
                if connection.pendingWriteBytes == 0 { connection.closeAfterFlush() }
            }
            connection.write(pieces())
            let pending = connection.pendingWriteBytes
            outcome.withLock { $0.pendingAfterQueue = pending }
        }
    }

    @Test("bytes and file regions go out in order and in full, through partial sendfile calls")
    func regionsAndBytesKeepOrder() throws {
        let content = randomBytes(count: 3 * 1024 * 1024 + 17, seed: 11)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        let head = randomBytes(count: 12, seed: 1)
        let middle = randomBytes(count: 5, seed: 2)
        let tail = randomBytes(count: 1000, seed: 3)
        // Two regions out of order in the file, with byte pieces around and between them.
        let first = 1_000_000..<content.count
        let second = 3..<700_003
        let expected = head + content[first] + middle + content[second] + tail
        try withRunningLoop { loop in
            let (writer, reader) = try smallBufferPair()
            defer { close(reader) }
            let outcome = Locked(Outcome())
            let closed = Waiter()
            let received = Locked<[UInt8]>([])
            let readDone = Waiter()
            DispatchQueue.global().async {
                let bytes = slowReadAll(reader)
                received.withLock { $0 = bytes }
                readDone.signal()
            }
            try run(loop, fd: writer, outcome: outcome, closed: closed) {
                [.bytes(head[...]),
                 .file(FileRegion(file: file, offset: first.lowerBound, length: first.count)),
                 .bytes(middle[...]),
                 .file(FileRegion(file: file, offset: second.lowerBound, length: second.count)),
                 .bytes(tail[...])]
            }
            #expect(closed.wait(seconds: 60))
            #expect(readDone.wait(seconds: 60))
            let result = outcome.value
            #expect(result.pendingAfterQueue > 0 && result.pendingAfterQueue <= expected.count)
            #expect(result.closes == 1)
            #expect(result.closeError == nil)
            #expect(result.partialWrites > 0)
            #expect(received.value.count == expected.count)
            #expect(received.value == expected)
        }
    }

    @Test("a file that got shorter than its queued region closes the connection with an error")
    func truncatedFileIsAnError() throws {
        let content = randomBytes(count: 2 * 1024 * 1024, seed: 21)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        try withRunningLoop { loop in
            let (writer, reader) = try smallBufferPair()
            defer { close(reader) }
            let outcome = Locked(Outcome())
            let closed = Waiter()
            // The reader does not read yet: the region stays queued while the file is cut.
            try run(loop, fd: writer, outcome: outcome, closed: closed) {
                [.bytes([1, 2, 3][...]), .file(FileRegion(file: file, offset: 0, length: content.count))]
            }
            #expect(truncate(path, off_t(content.count / 2)) == 0)
            let received = Locked<[UInt8]>([])
            let readDone = Waiter()
            DispatchQueue.global().async {
                let bytes = slowReadAll(reader)
                received.withLock { $0 = bytes }
                readDone.signal()
            }
            #expect(closed.wait(seconds: 30))
            #expect(readDone.wait(seconds: 30))
            let result = outcome.value
            #expect(result.closes == 1)
            #expect(result.closedWithFileRegionError, "closed with \(result.closeError ?? "no error")")
            // Everything the file still had went out before the error, nothing after it.
            #expect(received.value == [1, 2, 3] + content[..<(content.count / 2)])
        }
    }

    @Test("a region starting past the end of its file is an error, not a hang")
    func regionPastEndIsAnError() throws {
        let content = randomBytes(count: 1000, seed: 31)
        let (path, file) = try temporaryFile(content)
        defer { unlink(path) }
        try withRunningLoop { loop in
            let (writer, reader) = try smallBufferPair()
            defer { close(reader) }
            let outcome = Locked(Outcome())
            let closed = Waiter()
            try run(loop, fd: writer, outcome: outcome, closed: closed) {
                [.file(FileRegion(file: file, offset: 5000, length: 10))]
            }
            #expect(closed.wait(seconds: 10))
            #expect(outcome.value.closedWithFileRegionError)
        }
    }
}

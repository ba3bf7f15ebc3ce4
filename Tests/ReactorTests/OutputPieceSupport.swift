// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Dispatch
import ReactorTestSupport
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

/// How a connection fed with output pieces ended.
struct OutputOutcome: Sendable {
    var closeError: String?
    var closedWithFileRegionError = false
    var closes = 0
    var partialWrites = 0
    var pendingAfterQueue = 0
    /// Whether framed mappings went through the connection's pipe.
    var splicedThroughPipe = false
    /// Whether the connection's transport took files zero-copy.
    var zeroCopy = true
}

/// Queues `pieces` (built on the loop from the file) on a connection over `fd`, records how
/// it closes, and closes it once everything was written. `splice: false` sends framed mappings
/// with `writev`, as a connection does when it cannot have a pipe. `transport` makes the
/// connection's transport (plain TCP when nil).
func runOutput(
    _ loop: EventLoop, fd: Int32, outcome: Locked<OutputOutcome>, closed: Waiter, splice: Bool = true,
    transport: (@Sendable (Int32) -> any ByteTransport)? = nil,
    pieces: @escaping @Sendable () throws -> [OutputPiece]
) throws {
    try onLoop(loop) {
        let connection = try Connection(fd: fd, loop: loop, transport: transport?(fd))
        let zeroCopy = connection.sendsFilesZeroCopy
        outcome.withLock { $0.zeroCopy = zeroCopy }
        connection.writeLowWaterMark = 1
        connection.splicesFramedMappings = splice
        connection.onClose = { [unowned connection] error in
            let partial = connection.partialWriteCount
            let spliced = connection.usedSplicePipe
            outcome.withLock {
                $0.splicedThroughPipe = spliced
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
        connection.write(try pieces())
        let pending = connection.pendingWriteBytes
        outcome.withLock { $0.pendingAfterQueue = pending }
    }
}

/// Reads `fd` with ``slowReadAll(_:pauseEvery:)`` on another thread; `done` is signalled once
/// the bytes are in `received`.
func startSlowReader(_ fd: Int32) -> (received: Locked<[UInt8]>, done: Waiter) {
    let received = Locked<[UInt8]>([])
    let done = Waiter()
    DispatchQueue.global().async {
        let bytes = slowReadAll(fd)
        received.withLock { $0 = bytes }
        done.signal()
    }
    return (received, done)
}

/// How a connection fed with output pieces ended, and the bytes its reader received.
struct Delivery {
    var outcome: OutputOutcome
    var received: [UInt8]
}

/// Queues the pieces `pieces` builds (on the loop) on a connection over a small-buffer socket
/// pair (see ``runOutput(_:fd:outcome:closed:splice:pieces:)``), then runs `beforeReading` while
/// they are still queued (to cut the file under them, say) and reads the other end slowly until
/// the connection has closed. A wait that times out is recorded as a failed expectation.
func deliverToSlowReader(
    splice: Bool = true, waitSeconds: Double = 60, beforeReading: () throws -> Void = {},
    transport: (@Sendable (Int32) -> any ByteTransport)? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ pieces: @escaping @Sendable () throws -> [OutputPiece]
) throws -> Delivery {
    try withRunningLoop { loop in
        let (writer, reader) = try smallBufferPair()
        defer { close(reader) }
        let outcome = Locked(OutputOutcome())
        let closed = Waiter()
        try runOutput(
            loop, fd: writer, outcome: outcome, closed: closed, splice: splice, transport: transport,
            pieces: pieces)
        try beforeReading()
        let (received, readDone) = startSlowReader(reader)
        #expect(closed.wait(seconds: waitSeconds), "the connection did not close", sourceLocation: sourceLocation)
        #expect(readDone.wait(seconds: waitSeconds), "the reader did not finish", sourceLocation: sourceLocation)
        return Delivery(outcome: outcome.value, received: received.value)
    }
}

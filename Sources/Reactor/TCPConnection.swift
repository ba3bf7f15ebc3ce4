// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A non-blocking TCP connection driven by an ``EventLoop``. Loop-confined: create, use and close
/// it on the loop thread only.
///
/// Input accumulates in a ``ByteBuffer`` handed to ``onRead`` after each batch of reads; output is
/// queued as slices (written with `writev`), framed file mappings (moved to the socket through a
/// pipe with `vmsplice` and `splice`) and file regions (written with `sendfile`), with `EPOLLOUT`
/// armed only while output is pending.
public final class TCPConnection {
    /// The loop this connection belongs to.
    public let loop: EventLoop
    /// The socket; -1 once closed.
    public private(set) var fd: Int32
    /// The peer as `"host:port"` (`"[v6]:port"`), captured when the connection was set up.
    public let peerAddress: String

    /// Called on the loop after data arrived, with all unconsumed input. Consume what can be
    /// decoded and leave the rest for the next call.
    public var onRead: ((inout ByteBuffer) -> Void)?
    /// Called exactly once when the connection closes: `nil` for an orderly end (peer EOF or local
    /// ``close()``), the error otherwise.
    public var onClose: ((Error?) -> Void)?
    /// Called when queued output that had reached ``writeLowWaterMark`` drains below it.
    public var onWritable: (() -> Void)?

    /// Output level below which ``onWritable`` fires after having been reached.
    public var writeLowWaterMark = 64 * 1024

    /// Total bytes received.
    public private(set) var bytesRead = 0
    /// Total bytes written to the socket.
    public private(set) var bytesWritten = 0
    /// Bytes queued and not yet accepted by the kernel.
    public private(set) var pendingWriteBytes = 0
    /// Bytes received and not yet consumed by ``onRead`` (the start of a PDU still incomplete).
    public var bufferedInputBytes: Int { input.readableBytes }
    /// Whether reading is paused by ``pauseReading()``.
    public private(set) var isReadingPaused = false
    /// Whether the connection has been closed.
    public var isClosed: Bool { state == .closed }

    enum State { case open, closingAfterFlush, closed }
    private(set) var state = State.open

    private var input = ByteBuffer()
    private var output: [OutputPiece] = []
    /// File regions in `output`: while there are any, a flush runs with TCP_CORK on.
    private var queuedFileRegions = 0
    private var outputHead = 0
    /// The pipe framed mappings go through, made on first use; nil after that failed.
    private var splicePipe: SplicePipe?
    private var splicePipeFailed = false
    /// Whether framed mappings go through a pipe; tests turn it off to exercise `writev`.
    var splicesFramedMappings = true
    /// Whether this connection made a pipe for framed mappings (for tests).
    private(set) var usedSplicePipe = false
    private var sizer = ReadChunkSizer()
    private var wasAboveLowWater = false
    /// Depth of ``holdingWrites(_:)`` calls: while above zero, writes are queued, not flushed.
    private var writesHeld = 0
    private var flushTimer: TimerID?
    private var handler: ConnectionHandler?
    private var registered = false
    /// The interest set currently given to epoll; `EPOLLOUT` is in it only while output is pending.
    private(set) var registeredInterest: EpollEvents = []

    /// `writev`/`sendfile` calls that took less than offered or would block (for tests forcing partial writes).
    private(set) var partialWriteCount = 0

    /// Whether `EPOLLOUT` is currently armed (for tests: only while output is pending).
    var isWritabilityArmed: Bool { registeredInterest.contains(.writable) }

    /// Maximum iovecs per `writev`; bounded so building them nests a bounded number of closures.
    static let maxIOVecs = Int(min(qrs_iov_max(), 256))
    /// Reads per readiness event before yielding to other connections.
    static let maxReadsPerEvent = 4

    /// Adopts a connected non-blocking socket and registers it with `loop`.
    init(fd: Int32, loop: EventLoop) throws {
        loop.preconditionInLoop()
        self.fd = fd
        self.loop = loop
        var text = [CChar](repeating: 0, count: 64)
        if qrs_peer_address(fd, &text, text.count) == 0 {
            peerAddress = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        } else {
            peerAddress = "unknown"
        }
        _ = qrs_set_nodelay(fd, 1)
        let handler = ConnectionHandler()
        self.handler = handler
        handler.connection = self
        do {
            try updateInterest()
        } catch {
            // The caller owns (and closes) the fd on failure; just break the handler cycle.
            handler.connection = nil
            self.handler = nil
            throw error
        }
    }

    // MARK: Reading

    /// Stops reading from the socket (backpressure): no ``onRead`` until ``resumeReading()``.
    public func pauseReading() {
        guard !isReadingPaused else { return }
        isReadingPaused = true
        try? updateInterest()
    }

    /// Resumes reading; input already buffered is delivered on the next loop iteration.
    public func resumeReading() {
        guard isReadingPaused, state == .open else { return }
        isReadingPaused = false
        try? updateInterest()
        if !input.isEmpty {
            loop.execute { [weak self] in
                guard let self, !self.isReadingPaused, self.state == .open else { return }
                self.deliverInput()
            }
        }
    }

    fileprivate func handleEvents(_ events: EpollEvents) {
        let failed = !events.isDisjoint(with: [.error, .hangup])
        if events.contains(.writable) || (failed && pendingWriteBytes > 0) {
            flush(fromEvent: true)
        }
        guard state != .closed else { return }
        if !isReadingPaused {
            if !events.isDisjoint(with: [.readable, .readHangup, .hangup, .error]) { readAvailable() }
        } else if events.contains(.error) {
            // Paused: don't deliver input, but don't spin on a pending error either.
            var err: Int32 = 0
            _ = qrs_socket_error(fd, &err)
            close(error: SystemError(errno: err == 0 ? ECONNRESET : err, call: "socket"))
        }
    }

    private func readAvailable() {
        var reads = 0
        var eof = false
        var failure: SystemError?
        while reads < Self.maxReadsPerEvent && !isReadingPaused {
            let chunkSize = sizer.next
            do {
                switch try input.read(from: fd, chunkSize: chunkSize) {
                case .wouldBlock:
                    reads = Self.maxReadsPerEvent
                case .processed(0):
                    eof = true
                case .processed(let n):
                    bytesRead += n
                    sizer.record(bytesRead: n, chunkSize: chunkSize)
                    if n < chunkSize { reads = Self.maxReadsPerEvent }
                }
            } catch {
                failure = error
            }
            if eof || failure != nil { break }
            reads += 1
        }
        if !input.isEmpty { deliverInput() }
        guard state != .closed else { return }
        if let failure {
            close(error: failure)
        } else if eof {
            close(error: nil)
        }
    }

    private func deliverInput() {
        guard let onRead, state != .closed else { return }
        // Move the buffer out so the handler may call back into the connection freely.
        var buffer = ByteBuffer()
        swap(&buffer, &input)
        onRead(&buffer)
        if input.isEmpty {
            input = buffer
        } else {
            // Input that arrived re-entrantly goes after what the handler left unconsumed.
            var merged = buffer
            while let slice = input.peek(input.readableBytes), !slice.isEmpty {
                merged.append(slice)
                input.moveReaderIndex(forwardBy: slice.count)
            }
            input = merged
        }
    }

    // MARK: Writing

    /// Queues `pieces` for sending and writes as much as the socket takes now.
    ///
    /// The slices are kept (not copied) until written. Writes after ``close()`` or
    /// ``closeAfterFlush(timeout:)`` are dropped.
    public func write(_ pieces: [ArraySlice<UInt8>]) {
        write(pieces.map(OutputPiece.bytes))
    }

    /// Queues byte slices, framed file mappings and file regions, written in order: consecutive
    /// byte slices with `writev`, framed mappings through a pipe (`vmsplice`, then `splice`), file
    /// regions with `sendfile` (the file's bytes are never read in user space). A region or
    /// mapping is read when it is written, not when it is queued; a file that has become shorter
    /// by then closes the connection with a ``FileRegionError``. Queued regions keep their file
    /// open, and framed mappings their mapping, until written or dropped.
    public func write(_ pieces: [OutputPiece]) {
        guard state == .open else { return }
        for piece in pieces where piece.count > 0 {
            if case .file = piece { queuedFileRegions += 1 }
            output.append(piece)
            pendingWriteBytes += piece.count
        }
        if pendingWriteBytes >= writeLowWaterMark { wasAboveLowWater = true }
        // With EPOLLOUT armed the socket is known full; wait for the event instead of a futile writev.
        if !isWritabilityArmed && writesHeld == 0 { flush(fromEvent: false) }
    }

    /// Runs `body` with the writes it queues held back, then flushes them together: a message
    /// and the one that follows it (a C-GET pending response and the next C-STORE-RQ) go to
    /// the kernel in one call and one TCP push instead of one each. Nests.
    public func holdingWrites(_ body: () -> Void) {
        writesHeld += 1
        body()
        writesHeld -= 1
        if writesHeld == 0, state != .closed, pendingWriteBytes > 0, !isWritabilityArmed {
            flush(fromEvent: false)
        }
    }

    /// Queues one slice; see ``write(_:)``.
    public func write(_ piece: ArraySlice<UInt8>) {
        write([piece])
    }

    /// Largest count asked of one `sendfile` (Linux sends at most about 2 GiB per call anyway).
    static let maxSendfileCount = 1 << 30

    private func flush(fromEvent: Bool) {
        // Each PDU sent from a file is two calls (its header, then sendfile of its payload) and
        // with TCP_NODELAY every sendfile would end in a segment of its own: with small PDUs
        // (16 KiB from DCMTK) that is four times the segments, and the per-segment work of the
        // TCP stack, of full-sized ones. Corked, the kernel fills segments across PDUs; the cork
        // comes off before flush returns (all written, or the socket is full), which sends any
        // partial segment at once, so nothing waits on the cork's 200 ms timer.
        let corked = queuedFileRegions > 0 && qrs_set_cork(fd, 1) == 0
        defer { if corked && state != .closed { _ = qrs_set_cork(fd, 0) } }
        while pendingWriteBytes > 0 && state != .closed {
            let step: Result<Bool, Error>
            switch output[outputHead] {
            case .file(let region): step = writeFileRegion(region)
            case .framed(let framed): step = writeFramed(framed)
            case .bytes: step = writeBytePieces()
            }
            switch step {
            case .failure(let error):
                close(error: error)
                return
            case .success(true):
                continue
            case .success(false):
                break
            }
            break
        }
        guard state != .closed else { return }
        if pendingWriteBytes == 0 && state == .closingAfterFlush {
            close(error: nil)
            return
        }
        try? updateInterest()
        if wasAboveLowWater && pendingWriteBytes < writeLowWaterMark {
            wasAboveLowWater = false
            if fromEvent { onWritable?() }
        }
    }

    /// Writes the byte slices at the head of the queue in one call; true when all offered bytes
    /// were taken (so writing on may succeed), false when the socket is full.
    ///
    /// Slices right before a file region (or a framed mapping) are the PDU and PDV headers of
    /// the payload that follows. They go out with `sendmsg(MSG_MORE)` so the kernel keeps them back and sends them in
    /// one segment with the start of the region's data, instead of a 12-byte segment of their own
    /// (TCP_NODELAY is on). The flush is corked anyway while regions are queued (see `flush`);
    /// MSG_MORE is per call and costs nothing, and keeps headers with their payload where the
    /// cork cannot be set.
    private func writeBytePieces() -> Result<Bool, Error> {
        var count = 0
        while count < Self.maxIOVecs, outputHead + count < output.count, case .bytes = output[outputHead + count] {
            count += 1
        }
        let beforeFile = outputHead + count < output.count && count < Self.maxIOVecs
        let iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: count)
        defer { iovecs.deallocate() }
        var offered = 0
        let fd = self.fd
        let result: Result<IOResult<Int>, SystemError> = withIOVecs(iovecs, index: 0, count: count, offered: &offered) {
            Result { () throws(SystemError) -> IOResult<Int> in
                if beforeFile {
                    var message = msghdr()
                    message.msg_iov = iovecs
                    message.msg_iovlen = count
                    return try syscall("sendmsg", blocking: true, { sendmsg(fd, &message, Int32(MSG_MORE)) })
                }
                return try syscall("writev", blocking: true, { qrs_writev(fd, iovecs, Int32(count)) })
            }
        }
        return result.map { wrote($0, of: offered) }.mapError { $0 }
    }

    /// Takes a gathering write's outcome off the queue: true when all `offered` bytes went (so
    /// writing on may succeed), false when the socket is full.
    private func wrote(_ result: IOResult<Int>, of offered: Int) -> Bool {
        switch result {
        case .wouldBlock:
            partialWriteCount += 1
            return false
        case .processed(let n):
            consumeOutput(n)
            if n == offered { return true }
            // The socket buffer is full; writing again now would only return EAGAIN.
            partialWriteCount += 1
            return false
        }
    }

    /// Moves (part of) the framed mapping at the head of the queue to the socket: the pipe is
    /// topped up with `vmsplice` (page references, no copy) and emptied into the socket with
    /// `splice`, until all of it went (true) or the socket is full (false). The pipe only ever
    /// holds bytes of the head piece, so output keeps its order. Without a pipe (none could be
    /// made) the frames are copied with `writev`.
    private func writeFramed(_ framed: FramedMapping) -> Result<Bool, Error> {
        if splicePipe == nil && !splicePipeFailed && splicesFramedMappings {
            do {
                splicePipe = try SplicePipe()
                usedSplicePipe = true
            } catch {
                // Out of descriptors, most likely: copying the frames still works.
                splicePipeFailed = true
            }
        }
        guard let pipe = splicePipe else { return writeFramedCopying(framed) }
        var framed = framed
        let fd = self.fd
        while true {
            if framed.loaded < framed.totalLength {
                let loading = framed.loaded
                let loaded: IOResult<Int>
                do {
                    loaded = try withUnsafeTemporaryAllocation(of: iovec.self, capacity: Self.maxIOVecs) { iovecs throws(SystemError) in
                        let (count, _) = framed.segments(from: loading, into: iovecs.baseAddress!, capacity: iovecs.count)
                        return try syscall("vmsplice", blocking: true, faultIsError: true,
                                           { qrs_vmsplice(pipe.writeFD, iovecs.baseAddress, Int32(count)) })
                    }
                } catch {
                    return .failure(shortFileError(error, framed, at: loading, call: "vmsplice"))
                }
                if case .processed(let n) = loaded {
                    framed.loaded += n
                    output[outputHead] = .framed(framed)
                }
            }
            // The pipe holds what of this piece was loaded and not yet sent, and nothing else.
            let asked = framed.loaded - framed.sent
            // vmsplice takes at least a byte while the pipe has room, and the pipe only holds
            // bytes of this piece, which is not all sent yet: it cannot be empty here.
            guard asked > 0 else { return .failure(SystemError(errno: EPIPE, call: "vmsplice")) }
            let more: Int32 = pendingWriteBytes > asked ? 1 : 0
            let moved: IOResult<Int>
            do {
                moved = try syscall("splice", blocking: true, { qrs_splice_to_socket(pipe.readFD, fd, asked, more) })
            } catch {
                return .failure(error)
            }
            switch moved {
            case .wouldBlock:
                partialWriteCount += 1
                return .success(false)
            case .processed(0):
                // The pipe held fewer bytes than counted: the bookkeeping is wrong.
                return .failure(SystemError(errno: EPIPE, call: "splice"))
            case .processed(let n):
                let wasLeft = framed.length
                consumeOutput(n)
                if n == wasLeft { return .success(true) }
                if n < asked {
                    partialWriteCount += 1
                    return .success(false)
                }
                guard case .framed(let current) = output[outputHead] else { return .success(true) }
                framed = current
            }
        }
    }

    /// Writes (part of) the framed mapping at the head of the queue with `writev`, for a
    /// connection without a pipe; true when all offered bytes went.
    private func writeFramedCopying(_ framed: FramedMapping) -> Result<Bool, Error> {
        let fd = self.fd
        let written: IOResult<Int>
        var offered = 0
        do {
            written = try withUnsafeTemporaryAllocation(of: iovec.self, capacity: Self.maxIOVecs) { iovecs throws(SystemError) in
                let (count, bytes) = framed.segments(from: framed.sent, into: iovecs.baseAddress!, capacity: iovecs.count)
                offered = bytes
                return try syscall("writev", blocking: true, faultIsError: true,
                                   { qrs_writev(fd, iovecs.baseAddress, Int32(count)) })
            }
        } catch {
            return .failure(shortFileError(error, framed, at: framed.sent, call: "writev"))
        }
        return .success(wrote(written, of: offered))
    }

    /// `EFAULT` from handing over mapped bytes means a page past the file's end: the file got
    /// shorter since it was mapped (the kernel reports it where a user-space read would SIGBUS).
    private func shortFileError(_ error: SystemError, _ framed: FramedMapping, at position: Int, call: String) -> Error {
        guard error.errno == EFAULT else { return error }
        let offset = framed.fileOffset(at: position)
        var shortFile = FileRegionError(file: framed.mapping.file.name, offset: offset,
                                        missing: framed.payloadOffset + framed.payloadLength - offset)
        shortFile.call = call
        return shortFile
    }

    /// Sends (part of) the file region at the head of the queue; true when the part asked for
    /// went out in full, false when the socket is full.
    private func writeFileRegion(_ region: FileRegion) -> Result<Bool, Error> {
        let ask = min(region.length, Self.maxSendfileCount)
        var offset = off_t(region.offset)
        let fd = self.fd
        let result: IOResult<Int>
        do {
            result = try syscall("sendfile", blocking: true, { sendfile(fd, region.file.fd, &offset, ask) })
        } catch {
            return .failure(error)
        }
        switch result {
        case .wouldBlock:
            partialWriteCount += 1
            return .success(false)
        case .processed(0):
            // End of file before the region's end: the file got shorter since the region was made.
            return .failure(FileRegionError(file: region.file.name, offset: region.offset, missing: region.length))
        case .processed(let n):
            consumeOutput(n)
            if n == ask { return .success(true) }
            partialWriteCount += 1
            return .success(false)
        }
    }

    /// Builds iovecs for the queued slices by nesting `withUnsafeBufferPointer`, so every pointer
    /// is valid while `body` runs `writev`.
    private func withIOVecs<R>(
        _ iovecs: UnsafeMutablePointer<iovec>,
        index: Int,
        count: Int,
        offered: inout Int,
        _ body: () -> R
    ) -> R {
        if index == count { return body() }
        let slice: ArraySlice<UInt8>
        switch output[outputHead + index] {
        case .bytes(let bytes):
            slice = bytes
        case .file, .framed:
            preconditionFailure("withIOVecs: only byte slices are gathered")
        }
        return slice.withUnsafeBufferPointer { buffer in
            iovecs[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress), iov_len: buffer.count)
            offered += buffer.count
            return withIOVecs(iovecs, index: index + 1, count: count, offered: &offered, body)
        }
    }

    private func consumeOutput(_ written: Int) {
        bytesWritten += written
        pendingWriteBytes -= written
        var remaining = written
        while remaining > 0 {
            let size = output[outputHead].count
            if size <= remaining {
                remaining -= size
                if case .file = output[outputHead] { queuedFileRegions -= 1 }
                output[outputHead] = .bytes([])
                outputHead += 1
            } else {
                switch output[outputHead] {
                case .bytes(var bytes):
                    bytes.removeFirst(remaining)
                    output[outputHead] = .bytes(bytes)
                case .file(var region):
                    region.offset += remaining
                    region.length -= remaining
                    output[outputHead] = .file(region)
                case .framed(var framed):
                    framed.sent += remaining
                    output[outputHead] = .framed(framed)
                }
                remaining = 0
            }
        }
        if outputHead == output.count {
            output.removeAll(keepingCapacity: true)
            outputHead = 0
        } else if outputHead >= 64 && outputHead * 2 >= output.count {
            output.removeFirst(outputHead)
            outputHead = 0
        }
    }

    // MARK: Closing

    /// Closes the connection now, discarding queued output. ``onClose`` receives `nil`.
    public func close() {
        close(error: nil)
    }

    /// Stops reading and closes once queued output has been written, or after `timeout` at the
    /// latest (then ``onClose`` receives `ETIMEDOUT`), so a peer that stops reading cannot hold the
    /// connection open forever.
    public func closeAfterFlush(timeout: Duration = .seconds(30)) {
        guard state == .open else { return }
        if pendingWriteBytes == 0 {
            close(error: nil)
            return
        }
        state = .closingAfterFlush
        isReadingPaused = true
        try? updateInterest()
        flushTimer = loop.schedule(after: timeout) { [weak self] in
            self?.flushTimer = nil
            self?.close(error: SystemError(errno: ETIMEDOUT, call: "closeAfterFlush"))
        }
    }

    private func close(error: Error?) {
        guard state != .closed else { return }
        state = .closed
        if let flushTimer { loop.cancel(flushTimer) }
        flushTimer = nil
        if registered { loop.deregister(fd: fd) }
        registered = false
        registeredInterest = []
        closeDescriptor(fd)
        fd = -1
        output.removeAll()
        outputHead = 0
        queuedFileRegions = 0
        splicePipe = nil
        pendingWriteBytes = 0
        handler?.connection = nil
        handler = nil
        let onClose = self.onClose
        // Drop callbacks so closures capturing the connection don't keep it alive.
        self.onClose = nil
        self.onRead = nil
        self.onWritable = nil
        onClose?(error)
    }

    // MARK: Interest

    private var desiredInterest: EpollEvents {
        var interest: EpollEvents = []
        if !isReadingPaused { interest.formUnion([.readable, .readHangup]) }
        if pendingWriteBytes > 0 { interest.insert(.writable) }
        return interest
    }

    /// Brings the epoll registration in line with what we want. While paused with nothing to write
    /// the fd is removed from epoll entirely: a hang-up is always reported and would otherwise
    /// wake the loop continuously for a connection that has chosen not to read.
    private func updateInterest() throws(SystemError) {
        guard state != .closed, let handler else { return }
        let wanted = desiredInterest
        if wanted.isEmpty {
            if registered {
                loop.deregister(fd: fd)
                registered = false
            }
        } else if !registered {
            try loop.register(fd: fd, interest: wanted, handler: handler)
            registered = true
        } else if wanted != registeredInterest {
            try loop.reregister(fd: fd, interest: wanted)
        }
        registeredInterest = registered ? wanted : []
    }
}

/// Routes epoll events to a connection without the loop's table owning it past `close()`.
private final class ConnectionHandler: EpollHandler {
    var connection: TCPConnection?
    func handleEvents(_ events: EpollEvents) {
        connection?.handleEvents(events)
    }
}

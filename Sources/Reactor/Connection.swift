// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A non-blocking stream connection driven by an ``EventLoop``, over a ``ByteTransport`` (plain
/// TCP or TLS). Loop-confined: create, use and close it on the loop thread only.
///
/// Input accumulates in a ``ByteBuffer`` handed to ``onRead`` after each batch of reads; output is
/// queued as slices (gathered writes), framed file mappings (moved to the socket through a
/// pipe with `vmsplice` and `splice`) and file regions (written with `sendfile`), with `EPOLLOUT`
/// armed only while output is pending. A transport that cannot take files zero-copy gets them
/// read into a bounded buffer instead (``sendsFilesZeroCopy``). While the transport is being
/// established (a TLS handshake) nothing is read or written; output queued meanwhile waits.
public final class Connection {
    /// The loop this connection belongs to.
    public let loop: EventLoop
    /// The socket; -1 once closed.
    public private(set) var fd: Int32
    /// The peer as `"host:port"` (`"[v6]:port"`), captured when the connection was set up.
    public let peerAddress: String
    /// How bytes move over the socket (``PlainTCPTransport``, or TLS).
    public let transport: any ByteTransport

    /// Called on the loop after data arrived, with all unconsumed input. Consume what can be
    /// decoded and leave the rest for the next call.
    public var onRead: ((inout ByteBuffer) -> Void)?
    /// Called exactly once when the connection closes: `nil` for an orderly end (peer EOF or local
    /// ``close()``), the error otherwise.
    public var onClose: ((Error?) -> Void)?
    /// Called once when the peer has shut down its sending side (end of stream read, a TCP
    /// half-close) after the input before it was delivered to ``onRead``. Reading is over;
    /// writing goes on, so what the peer asked for can still be answered: the owner closes the
    /// connection when it is done (``closeAfterFlush(timeout:)``). Without a handler the
    /// connection closes once the output queued so far is written.
    public var onInputEnded: (() -> Void)?
    /// Called when queued output that had reached ``writeLowWaterMark`` drains below it.
    public var onWritable: (() -> Void)?
    /// Called once when the transport has been established (after a TLS handshake); never for a
    /// transport established from the start (plain TCP).
    public var onEstablished: (() -> Void)?

    /// Output level below which ``onWritable`` fires after having been reached.
    public var writeLowWaterMark = 64 * 1024

    /// Total bytes received.
    public internal(set) var bytesRead = 0
    /// Total bytes written to the socket.
    public internal(set) var bytesWritten = 0
    /// Bytes queued and not yet accepted by the kernel.
    public internal(set) var pendingWriteBytes = 0
    /// Bytes received and not yet consumed by ``onRead`` (the start of a PDU still incomplete).
    public var bufferedInputBytes: Int { input.readableBytes }
    /// Whether reading is paused by ``pauseReading()``.
    public internal(set) var isReadingPaused = false
    /// Whether the peer has ended its sending side (see ``onInputEnded``).
    public internal(set) var isInputEnded = false
    /// Whether the connection has been closed.
    public var isClosed: Bool { state == .closed }
    /// Whether application bytes flow (the transport is established: a TLS handshake is done).
    public internal(set) var isEstablished: Bool
    /// Whether file regions and framed mappings go to the socket zero-copy (`sendfile`, `splice`);
    /// false when they are read into a bounded buffer and written through the transport (TLS
    /// without the kernel's send offload). Meaningful once established.
    public var sendsFilesZeroCopy: Bool { transport.sendsFilesZeroCopy }

    enum State { case open, closingAfterFlush, closed }
    private(set) var state = State.open

    var input = ByteBuffer()
    var output: [OutputPiece] = []
    /// File regions in `output`: while there are any, a flush runs with TCP_CORK on.
    var queuedFileRegions = 0
    var outputHead = 0
    /// The pipe framed mappings go through, made on first use; nil after that failed.
    var splicePipe: SplicePipe?
    var splicePipeFailed = false
    /// Whether framed mappings go through a pipe; tests turn it off to exercise `writev`.
    var splicesFramedMappings = true
    /// Whether this connection made a pipe for framed mappings (for tests).
    var usedSplicePipe = false
    var sizer = ReadChunkSizer()
    var wasAboveLowWater = false
    /// Depth of ``holdingWrites(_:)`` calls: while above zero, writes are queued, not flushed.
    var writesHeld = 0
    private var flushTimer: TimerID?
    var establishTimer: TimerID?
    /// Readiness the transport asked for after its last would-block (see ``ByteTransport/interest``).
    var transportWants: TransportInterest = []
    private var handler: ConnectionEventRouter?
    private var registered = false
    /// The interest set currently given to epoll; `EPOLLOUT` is in it only while output is pending.
    private(set) var registeredInterest: EpollEvents = []

    /// `writev`/`sendfile` calls that took less than offered or would block (for tests forcing partial writes).
    var partialWriteCount = 0

    /// Whether `EPOLLOUT` is currently armed (for tests: only while output is pending).
    var isWritabilityArmed: Bool { registeredInterest.contains(.writable) }

    /// Maximum iovecs per `writev`; bounded so building them nests a bounded number of closures.
    static let maxIOVecs = Int(min(qrs_iov_max(), 256))
    /// Reads per readiness event before yielding to other connections.
    static let maxReadsPerEvent = 4

    /// Adopts a connected non-blocking socket and registers it with `loop`; `transport` (plain
    /// TCP when nil) moves its bytes. On failure the caller keeps (and closes) the socket.
    init(fd: Int32, loop: EventLoop, transport: (any ByteTransport)? = nil) throws {
        loop.preconditionInLoop()
        self.fd = fd
        self.loop = loop
        let transport = transport ?? PlainTCPTransport(socket: fd)
        self.transport = transport
        isEstablished = transport.isEstablished
        var text = [CChar](repeating: 0, count: 64)
        if qrs_peer_address(fd, &text, text.count) == 0 {
            peerAddress = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        } else {
            peerAddress = "unknown"
        }
        _ = qrs_set_nodelay(fd, 1)
        let handler = ConnectionEventRouter()
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
        if !isEstablished { startEstablishTimer() }
    }

    // MARK: Closing

    /// Closes the connection now, discarding queued output. ``onClose`` receives `nil`.
    public func close() {
        close(error: nil)
    }

    /// Closes the connection now as a failure: queued output is dropped and the transport sends
    /// no orderly end (no TLS close_notify), so the peer can tell a stream cut short from one
    /// that ended. ``onClose`` receives `ECONNABORTED`.
    public func abort() {
        close(error: SystemError(errno: ECONNABORTED, call: "abort"))
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

    func close(error: Error?) {
        guard state != .closed else { return }
        state = .closed
        if let flushTimer { loop.cancel(flushTimer) }
        flushTimer = nil
        if let establishTimer { loop.cancel(establishTimer) }
        establishTimer = nil
        // An orderly end says so above TCP too (TLS close_notify); after a failure there is
        // nothing to say, or no way to say it.
        if error == nil && isEstablished { transport.shutdown() }
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
        self.onEstablished = nil
        self.onInputEnded = nil
        onClose?(error)
    }

    // MARK: Interest

    private var desiredInterest: EpollEvents {
        var interest: EpollEvents = []
        // While establishing, only the transport's next step counts.
        let wants = isEstablished ? transportWants : transport.interest
        if wants.contains(.readable) { interest.insert(.readable) }
        if wants.contains(.writable) { interest.insert(.writable) }
        guard isEstablished else { return interest }
        if !isReadingPaused && !isInputEnded { interest.formUnion([.readable, .readHangup]) }
        if pendingWriteBytes > 0 { interest.insert(.writable) }
        return interest
    }

    /// Brings the epoll registration in line with what we want. While paused with nothing to write
    /// the fd is removed from epoll entirely: a hang-up is always reported and would otherwise
    /// wake the loop continuously for a connection that has chosen not to read.
    func updateInterest() throws(SystemError) {
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
private final class ConnectionEventRouter: EpollHandler {
    var connection: Connection?
    func handleEvents(_ events: EpollEvents) {
        connection?.handleEvents(events)
    }
}

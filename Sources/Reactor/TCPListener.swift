// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A listening TCP socket that accepts connections on its ``EventLoop``. Loop-confined.
///
/// Each listener has its own handler (``onAccept``) and its own ``transportFactory``, so one loop
/// can serve several protocols and transports side by side: the DICOM upper layer on a plain and
/// a TLS port, HTTP on another.
public final class TCPListener {
    /// The loop accepting on this listener.
    public let loop: EventLoop
    /// The listening socket; -1 once closed.
    public private(set) var fd: Int32
    /// The bound local port (useful after binding port 0).
    public let localPort: Int
    /// Called on the loop for each accepted connection; set its callbacks here. The connection
    /// may not be established yet (a TLS handshake runs first; see ``Connection/isEstablished``
    /// and ``Connection/onEstablished``): it reads and writes nothing until it is, and a failed
    /// or stalled handshake closes it with a ``TransportEstablishError``.
    public var onAccept: ((Connection) -> Void)?
    /// Makes the transport of each accepted connection (plain TCP by default). Replace it to
    /// change what later connections get (a reloaded TLS context); open ones keep theirs. A
    /// factory that throws refuses the connection: the socket is closed and ``onAcceptError``
    /// hears why.
    public var transportFactory: TransportFactory
    /// Called when `accept` fails with something other than a transient error (e.g. `EMFILE`);
    /// accepting pauses for ``acceptBackoff`` so a full fd table doesn't spin the loop.
    public var onAcceptError: ((SystemError) -> Void)?
    /// How long accepting pauses after a resource error.
    public var acceptBackoff: Duration = .milliseconds(100)
    /// Called when `accept` failed for want of descriptors (`EMFILE`, `ENFILE`), after
    /// ``onAcceptError``: return true when a descriptor was freed (a connection closed) and
    /// accepting should be retried at once. Otherwise the waiting connection is shed (see
    /// ``onShed``).
    public var onDescriptorsExhausted: (() -> Bool)?
    /// Called for each connection accepted and closed at once because no descriptor could be
    /// freed for it: the descriptor held in reserve is given up for the `accept`, then taken
    /// back. The peer sees its connection closed instead of waiting in the backlog for a
    /// descriptor that may not come.
    public var onShed: (() -> Void)?
    /// Connections accepted so far.
    public private(set) var acceptedCount = 0

    private var handler: ListenerHandler?
    private var backoffTimer: TimerID?
    /// A descriptor kept open (on /dev/null) to be closed when the table is full, so that one
    /// connection can still be accepted and closed; -1 when none could be opened.
    private var reserveFD: Int32 = -1
    /// Accepts per readiness event before yielding to other work.
    private static let maxAcceptsPerEvent = 64

    init(fd: Int32, loop: EventLoop, transport: TransportFactory, onAccept: @escaping (Connection) -> Void) throws {
        self.fd = fd
        self.loop = loop
        self.onAccept = onAccept
        self.transportFactory = transport
        let port = qrs_local_port(fd)
        localPort = Int(port)
        let handler = ListenerHandler()
        self.handler = handler
        try loop.register(fd: fd, interest: .readable, handler: handler)
        handler.target = self
        reserveFD = Self.openReserve()
    }

    private static func openReserve() -> Int32 {
        open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    fileprivate func acceptAvailable() {
        // A reserve lost to a full table (it could not be taken back) is retried here.
        if reserveFD < 0 { reserveFD = Self.openReserve() }
        for _ in 0..<Self.maxAcceptsPerEvent {
            guard fd >= 0 else { return }
            let result: IOResult<Int32>
            do {
                result = try syscall("accept4", blocking: true) { qrs_accept(fd) }
            } catch {
                switch error.errno {
                case ECONNABORTED, EPROTO, EPERM:
                    // The peer gave up before we accepted; nothing to do for it.
                    continue
                case EMFILE, ENFILE:
                    // accept fails so whenever the table is full, connection waiting or not:
                    // nothing to do (and nobody to make room for) unless one is waiting.
                    guard hasPendingConnection else { return }
                    onAcceptError?(error)
                    if onDescriptorsExhausted?() == true || shedOne() { continue }
                    pauseAccepting()
                    return
                default:
                    onAcceptError?(error)
                    pauseAccepting()
                    return
                }
            }
            guard case .processed(let clientFD) = result else { return }
            let connection: Connection
            do {
                connection = try Connection(fd: clientFD, loop: loop, transport: transportFactory.make(clientFD, loop))
            } catch {
                closeDescriptor(clientFD)
                onAcceptError?(error as? SystemError ?? SystemError(errno: EIO, call: "accept: \(error)"))
                continue
            }
            acceptedCount += 1
            onAccept?(connection)
        }
    }

    /// Whether a connection waits in the accept queue (the listening socket is readable).
    private var hasPendingConnection: Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1 && entry.revents & Int16(POLLIN) != 0
    }

    /// Accepts one waiting connection on the reserve descriptor and closes it; false when there
    /// was none waiting or no reserve to give up.
    private func shedOne() -> Bool {
        guard reserveFD >= 0 else { return false }
        closeDescriptor(reserveFD)
        defer { reserveFD = Self.openReserve() }
        guard case .processed(let clientFD)? = try? syscall("accept4", blocking: true, { qrs_accept(fd) }) else {
            return false
        }
        closeDescriptor(clientFD)
        onShed?()
        return true
    }

    private func pauseAccepting() {
        guard backoffTimer == nil, fd >= 0 else { return }
        try? loop.reregister(fd: fd, interest: [])
        backoffTimer = loop.schedule(after: acceptBackoff) { [weak self] in
            guard let self, self.fd >= 0 else { return }
            self.backoffTimer = nil
            try? self.loop.reregister(fd: self.fd, interest: .readable)
        }
    }

    /// Stops listening and closes the socket. Accepted connections stay open.
    public func close() {
        guard fd >= 0 else { return }
        if let backoffTimer { loop.cancel(backoffTimer) }
        backoffTimer = nil
        loop.deregister(fd: fd)
        closeDescriptor(fd)
        fd = -1
        if reserveFD >= 0 { closeDescriptor(reserveFD) }
        reserveFD = -1
        handler?.target = nil
        handler = nil
        onAccept = nil
        onAcceptError = nil
        onDescriptorsExhausted = nil
        onShed = nil
    }
}

/// Routes events to a listener; the loop's table holds it, and it holds the listener until close().
private final class ListenerHandler: EpollHandler {
    var target: TCPListener?
    func handleEvents(_ events: EpollEvents) { target?.acceptAvailable() }
}

extension EventLoop {
    /// Binds a listening socket to numeric `host` (`"0.0.0.0"`, `"::"`, `"127.0.0.1"`) and `port`
    /// (0 picks a free port; read it back from ``TCPListener/localPort``). Loop-confined.
    ///
    /// Accepted sockets are non-blocking, close-on-exec and have `TCP_NODELAY` set; `transport`
    /// wraps each (plain TCP by default, or TLS) before `onAccept` receives its connection.
    public func listen(
        host: String,
        port: Int,
        backlog: Int32 = 128,
        transport: TransportFactory = .plainTCP,
        onAccept: @escaping (Connection) -> Void
    ) throws -> TCPListener {
        preconditionInLoop()
        let fd = try host.withCString { (cHost) throws(SystemError) -> Int32 in
            try syscallValue("listen(\(host):\(port))") { qrs_listen_tcp(cHost, Int32(port), backlog) }
        }
        do {
            return try TCPListener(fd: fd, loop: self, transport: transport, onAccept: onAccept)
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }

    /// Adopts an already bound and listening socket, e.g. one passed by systemd socket activation.
    /// The socket is made non-blocking and close-on-exec; `transport` as for
    /// ``listen(host:port:backlog:transport:onAccept:)``. Loop-confined.
    public func listen(
        fd: Int32,
        transport: TransportFactory = .plainTCP,
        onAccept: @escaping (Connection) -> Void
    ) throws -> TCPListener {
        preconditionInLoop()
        let listening = try syscallValue("getsockopt(SO_ACCEPTCONN)") { qrs_is_listening_stream(fd) }
        guard listening == 1 else { throw SystemError(errno: EINVAL, call: "listen(fd: \(fd))") }
        _ = try syscallValue("fcntl(O_NONBLOCK)") { qrs_set_nonblocking(fd) }
        _ = try syscallValue("fcntl(FD_CLOEXEC)") { qrs_set_cloexec(fd) }
        return try TCPListener(fd: fd, loop: self, transport: transport, onAccept: onAccept)
    }
}

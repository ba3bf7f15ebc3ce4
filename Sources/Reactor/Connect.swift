// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension EventLoop {
    /// Opens a TCP connection to `host`, a numeric address or a name. A name is resolved on
    /// `workers` first (`getaddrinfo` blocks, so never on the loop); a failed resolution completes
    /// with a ``NameResolutionError``. Otherwise as ``connect(host:port:timeout:completion:)``; the
    /// timeout covers the connect, not the resolution. Loop-confined.
    public func connect(
        host: String,
        port: Int,
        timeout: Duration,
        resolvingNamesOn workers: WorkerPool?,
        transport: TransportFactory = .plainTCP,
        completion: @escaping (Result<Connection, Error>) -> Void
    ) {
        preconditionInLoop()
        if HostAddress.isNumeric(host) {
            connect(host: host, port: port, timeout: timeout, transport: transport, completion: completion)
            return
        }
        guard let workers else {
            execute { completion(.failure(NameResolutionError(host: host, reason: "no worker pool"))) }
            return
        }
        let resolve = { @Sendable () throws(NameResolutionError) -> String in try HostAddress.resolve(host) }
        workers.run(resolve, on: self) { [self] result in
            switch result {
            case .success(let address):
                connect(host: address, port: port, timeout: timeout, transport: transport, completion: completion)
            case .failure(let error): completion(.failure(error))
            }
        }
    }

    /// Opens a TCP connection to numeric `host` (IPv4 or IPv6 literal; resolve names on the worker
    /// pool first) without blocking. Loop-confined.
    ///
    /// `completion` runs on the loop exactly once, never synchronously inside this call: with the
    /// connection, or with a ``SystemError`` (`ECONNREFUSED`, `ETIMEDOUT` after `timeout`, `EINVAL`
    /// for a host that is not a numeric address, ...).
    ///
    /// `transport` wraps the connected socket (plain TCP by default). A TLS connection completes
    /// here once TCP is connected, before its handshake: output written meanwhile waits for it,
    /// and a failed or stalled handshake closes the connection with a ``TransportEstablishError``.
    public func connect(
        host: String,
        port: Int,
        timeout: Duration,
        transport: TransportFactory = .plainTCP,
        completion: @escaping (Result<Connection, Error>) -> Void
    ) {
        preconditionInLoop()
        do {
            let attempt = try ConnectAttempt(
                host: host, port: port, loop: self, transport: transport, completion: completion)
            attempt.begin(timeout: timeout)
        } catch {
            execute { completion(.failure(error)) }
        }
    }
}

/// One in-flight non-blocking connect: waits for `EPOLLOUT`, reads `SO_ERROR`, and races a timer.
final class ConnectAttempt: EpollHandler {
    private let loop: EventLoop
    private var fd: Int32
    private var completion: ((Result<Connection, Error>) -> Void)?
    private let transport: TransportFactory
    private var timer: TimerID?
    /// Keeps the attempt alive while only the loop's tables refer to it.
    private var selfReference: ConnectAttempt?

    init(
        host: String, port: Int, loop: EventLoop, transport: TransportFactory,
        completion: @escaping (Result<Connection, Error>) -> Void
    ) throws {
        self.loop = loop
        self.transport = transport
        self.completion = completion
        var family: Int32 = 0
        let rc = host.withCString { qrs_numeric_family($0, &family) }
        guard rc == 0 else { throw SystemError(errno: EINVAL, call: "connect(\(host)): not a numeric address") }
        fd = try syscallValue("socket") { qrs_socket_tcp(family) }
        _ = qrs_set_nodelay(fd, 1)
        let started = host.withCString { qrs_connect(fd, $0, Int32(port)) }
        if started != 0 {
            let err = qrs_errno()
            if err != EINPROGRESS {
                closeDescriptor(fd)
                throw SystemError(errno: err, call: "connect")
            }
        }
    }

    func begin(timeout: Duration) {
        selfReference = self
        do {
            try loop.register(fd: fd, interest: .writable, handler: self)
        } catch {
            finish(.failure(error))
            return
        }
        timer = loop.schedule(after: timeout) { [weak self] in
            self?.timer = nil
            self?.finish(.failure(SystemError(errno: ETIMEDOUT, call: "connect")))
        }
    }

    func handleEvents(_ events: EpollEvents) {
        var err: Int32 = 0
        if qrs_socket_error(fd, &err) != 0 { err = qrs_errno() }
        if err != 0 {
            finish(.failure(SystemError(errno: err, call: "connect")))
            return
        }
        loop.deregister(fd: fd)
        let connectedFD = fd
        fd = -1
        do {
            let connection = try Connection(fd: connectedFD, loop: loop, transport: transport.make(connectedFD, loop))
            finish(.success(connection))
        } catch {
            closeDescriptor(connectedFD)
            finish(.failure(error))
        }
    }

    private func finish(_ result: Result<Connection, Error>) {
        if let timer { loop.cancel(timer) }
        timer = nil
        if fd >= 0 {
            loop.deregister(fd: fd)
            closeDescriptor(fd)
            fd = -1
        }
        let completion = self.completion
        self.completion = nil
        selfReference = nil
        completion?(result)
    }
}

/// A host name that did not resolve to an address (the resolver's own words in ``reason``).
public struct NameResolutionError: Error, Sendable, CustomStringConvertible {
    /// The name that was looked up.
    public var host: String
    /// Why it did not resolve, e.g. `"Name or service not known"`.
    public var reason: String

    public var description: String { reason }
}

/// Numeric addresses and name resolution for ``EventLoop/connect(host:port:timeout:resolvingNamesOn:completion:)``.
enum HostAddress {
    /// Whether `host` is an IPv4 or IPv6 literal (nothing to resolve).
    static func isNumeric(_ host: String) -> Bool {
        var family: Int32 = 0
        return host.withCString { qrs_numeric_family($0, &family) } == 0
    }

    /// The first address `host` resolves to, as numeric text. Blocks: worker pool only.
    static func resolve(_ host: String) throws(NameResolutionError) -> String {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &result)
        guard rc == 0, let first = result else {
            throw NameResolutionError(host: host, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(result) }
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard
            getnameinfo(
                first.pointee.ai_addr, first.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0,
                NI_NUMERICHOST) == 0
        else {
            throw NameResolutionError(host: host, reason: "getnameinfo failed")
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Why a connect failed, in the words a log line or an Error Comment uses: the one place that
/// turns connect errnos into text.
public enum ConnectFailure {
    /// `"connection refused"`, `"connection timed out"`, `"host unreachable"`,
    /// `"cannot resolve <host>: <reason>"`, or the error itself.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? NameResolutionError {
            return "cannot resolve \(error.host): \(error.reason)"
        }
        if let error = error as? SystemError {
            switch error.errno {
            case ECONNREFUSED: return "connection refused"
            case ETIMEDOUT: return "connection timed out"
            case EHOSTUNREACH, ENETUNREACH: return "host unreachable"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

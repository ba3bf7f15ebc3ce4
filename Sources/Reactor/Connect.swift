// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension EventLoop {
    /// Opens a TCP connection to numeric `host` (IPv4 or IPv6 literal; resolve names on the worker
    /// pool first) without blocking. Loop-confined.
    ///
    /// `completion` runs on the loop exactly once, never synchronously inside this call: with the
    /// connection, or with a ``SystemError`` (`ECONNREFUSED`, `ETIMEDOUT` after `timeout`, `EINVAL`
    /// for a host that is not a numeric address, ...).
    public func connect(
        host: String,
        port: Int,
        timeout: Duration,
        completion: @escaping (Result<TCPConnection, Error>) -> Void
    ) {
        preconditionInLoop()
        do {
            let attempt = try ConnectAttempt(host: host, port: port, loop: self, completion: completion)
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
    private var completion: ((Result<TCPConnection, Error>) -> Void)?
    private var timer: TimerID?
    /// Keeps the attempt alive while only the loop's tables refer to it.
    private var selfReference: ConnectAttempt?

    init(host: String, port: Int, loop: EventLoop, completion: @escaping (Result<TCPConnection, Error>) -> Void) throws {
        self.loop = loop
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
            let connection = try TCPConnection(fd: connectedFD, loop: loop)
            finish(.success(connection))
        } catch {
            closeDescriptor(connectedFD)
            finish(.failure(error))
        }
    }

    private func finish(_ result: Result<TCPConnection, Error>) {
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

// SPDX-License-Identifier: Apache-2.0
import Foundation
import TLS

#if canImport(Glibc)
    import Glibc
#endif

/// The test plays the reactor: non-blocking sockets, `poll` on what the session says it wants,
/// and a deadline on every wait.
enum LoopHarness {
    /// A peer gone mid-write must not kill the test process (the daemon ignores SIGPIPE too).
    static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Waits until `fd` is ready for `events`, at most until `deadline`. False on timeout.
    static func wait(_ fd: Int32, for events: Int16, until deadline: Date) -> Bool {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return false }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, Int32(min(remaining * 1000, 1000).rounded(.up)))
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return false }
        }
    }

    /// What a session call needs before it is tried again: nothing (it is done), nothing but
    /// another try, or the socket readable or writable.
    enum Need { case done, again, readable, writable }

    /// Calls `step` until it is done, waiting on the socket for what it needs; `timedOut` when the
    /// deadline passes first.
    private static func repeatUntilDone<Result>(
        _ session: TLSSession, timeout: Double, timedOut: Result, _ step: () -> (Result, Need)
    ) -> Result {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let (result, need) = step()
            switch need {
            case .done: return result
            case .again: continue
            case .readable, .writable:
                let events = Int16(need == .readable ? POLLIN : POLLOUT)
                guard wait(session.socket, for: events, until: deadline) else { return timedOut }
            }
        }
    }

    /// Runs the handshake to its end, waiting on the socket as it asks.
    static func handshake(_ session: TLSSession, timeout: Double = 10) -> TLSSession.HandshakeResult {
        repeatUntilDone(session, timeout: timeout, timedOut: .failed("test timed out")) {
            let result = session.handshake()
            switch result {
            case .wantRead: return (result, .readable)
            case .wantWrite: return (result, .writable)
            case .done, .failed: return (result, .done)
            }
        }
    }

    /// Reads until `count` bytes have arrived or the stream ends; returns what arrived and how it ended.
    static func read(_ session: TLSSession, count: Int, timeout: Double = 10) -> ([UInt8], TLSSession.ReadResult) {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 5000)
        let end = repeatUntilDone(session, timeout: timeout, timedOut: .failed("test timed out")) {
            () -> (TLSSession.ReadResult, Need) in
            let result = chunk.withUnsafeMutableBytes { session.read(into: $0) }
            switch result {
            case .bytes(let n):
                received += chunk[0..<n]
                return (.bytes(received.count), received.count < count ? .again : .done)
            case .wantRead: return (result, .readable)
            case .wantWrite: return (result, .writable)
            case .closed, .failed: return (result, .done)
            }
        }
        return (received, end)
    }

    /// Writes all of `bytes`, retrying with the same bytes after a wait.
    static func write(_ session: TLSSession, _ bytes: [UInt8], timeout: Double = 10) -> TLSSession.WriteResult {
        var offset = 0
        guard !bytes.isEmpty else { return .written(0) }
        return repeatUntilDone(session, timeout: timeout, timedOut: .failed("test timed out")) {
            () -> (TLSSession.WriteResult, Need) in
            let result = bytes.withUnsafeBytes { session.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            switch result {
            case .written(let n):
                offset += n
                return (.written(offset), offset < bytes.count ? .again : .done)
            case .wantRead: return (result, .readable)
            case .wantWrite: return (result, .writable)
            case .failed: return (result, .done)
            }
        }
    }

    /// Sends close_notify, waiting on the socket as asked.
    static func shutdown(_ session: TLSSession, timeout: Double = 10) -> TLSSession.ShutdownResult {
        repeatUntilDone(session, timeout: timeout, timedOut: .failed("test timed out")) {
            let result = session.shutdown()
            switch result {
            case .wantRead: return (result, .readable)
            case .wantWrite: return (result, .writable)
            case .done, .failed: return (result, .done)
            }
        }
    }
}

/// SOCK_STREAM, non-blocking, close-on-exec (the child processes must not inherit sockets).
private let nonBlockingStream =
    Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)

/// A listening socket on 127.0.0.1 with a kernel-chosen port.
final class TestListener {
    let fd: Int32
    let port: Int

    init() throws {
        _ = LoopHarness.ignoreSIGPIPE
        let fd = socket(AF_INET, nonBlockingStream, 0)
        guard fd >= 0 else { throw PeerError(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw PeerError(description: "bind/listen on 127.0.0.1: errno \(errno)")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }

    /// Accepts one connection as a non-blocking socket, waiting at most `timeout` seconds.
    func accept(timeout: Double = 10) throws -> Int32 {
        guard LoopHarness.wait(fd, for: Int16(POLLIN), until: Date().addingTimeInterval(timeout)) else {
            throw PeerError(description: "no connection within \(timeout) s")
        }
        let connection = Glibc.accept(fd, nil, nil)
        guard connection >= 0 else { throw PeerError(description: "accept: errno \(errno)") }
        _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
        _ = fcntl(connection, F_SETFL, fcntl(connection, F_GETFL) | O_NONBLOCK)
        return connection
    }
}

/// A non-blocking TCP connection to 127.0.0.1:`port` (the connect itself waits, bounded).
func connectNonBlocking(port: Int, timeout: Double = 10) throws -> Int32 {
    _ = LoopHarness.ignoreSIGPIPE
    let fd = socket(AF_INET, nonBlockingStream, 0)
    guard fd >= 0 else { throw PeerError(description: "socket: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    if result != 0 && errno != EINPROGRESS {
        let error = errno
        close(fd)
        throw PeerError(description: "connect: errno \(error)")
    }
    guard LoopHarness.wait(fd, for: Int16(POLLOUT), until: Date().addingTimeInterval(timeout)) else {
        close(fd)
        throw PeerError(description: "connect to 127.0.0.1:\(port) did not finish in \(timeout) s")
    }
    var error: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
    guard error == 0 else {
        close(fd)
        throw PeerError(description: "connect to 127.0.0.1:\(port): errno \(error)")
    }
    return fd
}

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

    /// Waits for what the session asked for; false when the deadline passed first.
    private static func wait(_ session: TLSSession, readable: Bool, until deadline: Date) -> Bool {
        wait(session.socket, for: Int16(readable ? POLLIN : POLLOUT), until: deadline)
    }

    /// Runs the handshake to its end, waiting on the socket as it asks.
    static func handshake(_ session: TLSSession, timeout: Double = 10) -> TLSSession.HandshakeResult {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let result = session.handshake()
            switch result {
            case .wantRead:
                guard wait(session, readable: true, until: deadline) else {
                    return .failed("test timed out")
                }
            case .wantWrite:
                guard wait(session, readable: false, until: deadline) else {
                    return .failed("test timed out")
                }
            case .done, .failed:
                return result
            }
        }
    }

    /// Reads until `count` bytes have arrived or the stream ends; returns what arrived and how it ended.
    static func read(_ session: TLSSession, count: Int, timeout: Double = 10) -> ([UInt8], TLSSession.ReadResult) {
        let deadline = Date().addingTimeInterval(timeout)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 5000)
        while received.count < count {
            let result = chunk.withUnsafeMutableBytes { session.read(into: $0) }
            switch result {
            case .bytes(let n):
                received += chunk[0..<n]
            case .wantRead:
                guard wait(session, readable: true, until: deadline) else {
                    return (received, .failed("test timed out"))
                }
            case .wantWrite:
                guard wait(session, readable: false, until: deadline) else {
                    return (received, .failed("test timed out"))
                }
            case .closed, .failed:
                return (received, result)
            }
        }
        return (received, .bytes(received.count))
    }

    /// Writes all of `bytes`, retrying with the same bytes after a wait.
    static func write(_ session: TLSSession, _ bytes: [UInt8], timeout: Double = 10) -> TLSSession.WriteResult {
        let deadline = Date().addingTimeInterval(timeout)
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { session.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            switch result {
            case .written(let n):
                offset += n
            case .wantRead:
                guard wait(session, readable: true, until: deadline) else {
                    return .failed("test timed out")
                }
            case .wantWrite:
                guard wait(session, readable: false, until: deadline) else {
                    return .failed("test timed out")
                }
            case .failed:
                return result
            }
        }
        return .written(offset)
    }

    /// Sends close_notify, waiting on the socket as asked.
    static func shutdown(_ session: TLSSession, timeout: Double = 10) -> TLSSession.ShutdownResult {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let result = session.shutdown()
            switch result {
            case .wantRead:
                guard wait(session, readable: true, until: deadline) else {
                    return .failed("test timed out")
                }
            case .wantWrite:
                guard wait(session, readable: false, until: deadline) else {
                    return .failed("test timed out")
                }
            case .done, .failed:
                return result
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

// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking loopback TCP client that sends hand-made bytes to the daemon, for the
/// bad-input tests that no well-behaved DICOM peer would produce.
final class RawDICOMSocket {
    private(set) var fd: Int32

    init(port: Int, timeout: TimeInterval = 5) throws {
        fd = try connectToLoopback(port: port, timeout: timeout)
    }

    deinit { close() }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Shuts down the sending side (a half-close).
    func shutdownSending() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Sends all bytes; returns false if the peer has already closed.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Reads until the peer closes the connection or `timeout` passes.
    /// - Returns: the bytes received and whether the peer closed (EOF or reset).
    func receiveUntilClosed(timeout: TimeInterval) -> (bytes: [UInt8], closed: Bool) {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += chunk[0..<n]
                continue
            }
            if n == 0 { return (received, true) }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
            return (received, true)  // ECONNRESET and friends: the daemon dropped us
        }
        return (received, false)
    }

    /// Reads exactly one PDU (6-byte header plus body), or nil on timeout/close.
    func receivePDU() -> (type: UInt8, body: [UInt8])? {
        guard let header = receiveExactly(6) else { return nil }
        let length = Int(header[2]) << 24 | Int(header[3]) << 16 | Int(header[4]) << 8 | Int(header[5])
        guard let body = receiveExactly(length) else { return nil }
        return (header[0], body)
    }

    private func receiveExactly(_ count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = buffer[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            offset += n
        }
        return buffer
    }
}

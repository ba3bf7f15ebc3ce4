// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking HTTP/1.1 client on one loopback connection, for what curl cannot do: several
/// requests in one write (pipelining), a reader that stops reading, a half-sent head.
final class RawHTTPConnection {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, timeout: Double = 30, receiveBufferSize: Int32? = nil) throws {
        fd = try connectToLoopback(port: port, timeout: timeout, receiveBufferSize: receiveBufferSize)
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw DaemonError("send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Shuts down the sending side (a half-close): the server reads the end of the stream.
    func shutdownSending() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Whether the server closes the connection with nothing more sent (false on more bytes,
    /// an error or the receive timeout).
    func closedByServer() -> Bool {
        guard buffer.isEmpty else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }

    /// One response: status, fields (lower-case names) and the body (chunked framing removed).
    struct Response {
        var status: Int
        var fields: [String: String]
        var body: [UInt8]
    }

    /// Reads the next response; nil when the server closed before a whole one arrived (or
    /// the read timed out).
    func readResponse() -> Response? {
        guard let headEnd = fill(until: { $0.firstRange(of: [13, 10, 13, 10]).map { $0.upperBound } }) else {
            return nil
        }
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd)
        let lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "),
            let status = Int(statusLine.dropFirst(9).prefix(3))
        else { return nil }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body: [UInt8] = []
        if let length = fields["content-length"].flatMap(Int.init) {
            guard fill(until: { $0.count >= length ? length : nil }) != nil else { return nil }
            body = Array(buffer.prefix(length))
            buffer.removeFirst(length)
        } else if fields["transfer-encoding"] == "chunked" {
            while true {
                guard let lineEnd = fill(until: { $0.firstRange(of: [13, 10]).map { $0.lowerBound } }),
                    let size = Int(String(decoding: buffer[..<lineEnd], as: UTF8.self), radix: 16)
                else { return nil }
                buffer.removeFirst(lineEnd + 2)
                guard fill(until: { $0.count >= size + 2 ? size + 2 : nil }) != nil else { return nil }
                if size == 0 {
                    buffer.removeFirst(2)
                    break
                }
                body += buffer.prefix(size)
                buffer.removeFirst(size + 2)
            }
        }
        return Response(status: status, fields: fields, body: body)
    }

    /// Reads until `found` gives a value; nil at EOF, error or timeout.
    private func fill(until found: ([UInt8]) -> Int?) -> Int? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let value = found(buffer) { return value }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            buffer += chunk[..<n]
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal, fast Verification SCU over blocking loopback sockets, used by scripts/bench
/// to drive qrscpd and dcmqrscp identically. Its PDUs are fixed byte strings prepared
/// once, so the client spends its CPU on system calls, not on encoding.
struct BenchClient {
    let port: Int
    let calledAE: String
    let associateRequest: [UInt8]
    let echoRequest: [UInt8]
    static let releaseRequest: [UInt8] = [0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]

    init(port: Int, calledAE: String) {
        self.port = port
        self.calledAE = calledAE
        associateRequest = WirePDUs.associateRequest(called: calledAE, calling: "BENCHSCU")
        echoRequest = WirePDUs.echoRequest(contextID: 1, messageID: 1)
    }

    /// One connection: associate, `echoes` C-ECHOs, release.
    func runAssociation(echoes: Int) throws {
        let socket = try BlockingSocket(port: port)
        defer { socket.close() }
        try socket.send(associateRequest)
        let accept = try socket.receivePDU()
        guard accept.type == 0x02 else { throw BenchError("association not accepted (PDU type \(accept.type))") }
        for _ in 0..<echoes {
            try socket.send(echoRequest)
            var response = try socket.receivePDU()
            // The response may span several P-DATA-TF PDUs; read until the last command fragment.
            while response.type == 0x04, !WirePDUs.containsLastCommandFragment(response.body) {
                response = try socket.receivePDU()
            }
            guard response.type == 0x04 else { throw BenchError("expected P-DATA-TF, got PDU type \(response.type)") }
        }
        try socket.send(Self.releaseRequest)
        let release = try socket.receivePDU()
        guard release.type == 0x06 else { throw BenchError("expected A-RELEASE-RP, got PDU type \(release.type)") }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Blocking TCP socket with TCP_NODELAY and a 1 MiB receive buffer: connected to a server
/// (``init(port:)``) or accepted by a listener (``init(acceptedDescriptor:)``). Reads go through
/// the buffer in large chunks, so the number of system calls stays far below one per PDU when
/// the server streams many responses, and ``discard(_:)`` drops payload without copying it out.
/// A connecting socket speaks TLS when the command line asked for it (``BenchTLS``).
final class BlockingSocket {
    private var fd: Int32
    private var tls: ClientTLSSession?
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    /// Received bytes not consumed yet: `buffer[start..<end]`.
    private var start = 0
    private var end = 0

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
        Self.setNoDelay(fd)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            Glibc.close(fd)
            buffer.deallocate()
            throw BenchError("connect: errno \(error)")
        }
        do {
            tls = try BenchTLS.context?.connect(fd: fd)
        } catch {
            Glibc.close(fd)
            buffer.deallocate()
            throw error
        }
    }

    /// Takes ownership of a connection returned by `accept`.
    init(acceptedDescriptor: Int32) {
        fd = acceptedDescriptor
        Self.setNoDelay(fd)
    }

    deinit {
        close()
        buffer.deallocate()
    }

    private static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    func close() {
        tls?.close()
        tls = nil
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { rawSend($0.baseAddress!, $0.count) }
            guard n > 0 else { throw BenchError("send: errno \(errno)") }
            offset += n
        }
    }

    private func rawSend(_ base: UnsafeRawPointer, _ count: Int) -> Int {
        tls?.send(base, count) ?? Glibc.send(fd, base, count, Int32(MSG_NOSIGNAL))
    }

    private func rawReceive(_ base: UnsafeMutableRawPointer, _ count: Int) -> Int {
        tls?.receive(base, count) ?? recv(fd, base, count, 0)
    }

    func receivePDU() throws -> (type: UInt8, body: [UInt8]) {
        let header = try receiveExactly(6)
        let length = Int(header[2]) << 24 | Int(header[3]) << 16 | Int(header[4]) << 8 | Int(header[5])
        guard length <= 16 * 1024 * 1024 else { throw BenchError("PDU length \(length) too large") }
        return (header[0], try receiveExactly(length))
    }

    /// Fills the buffer with whatever the peer has sent (at least one byte) after compacting it.
    private func fill() throws {
        if start > 0 {
            if end > start { memmove(buffer.baseAddress!, buffer.baseAddress! + start, end - start) }
            end -= start
            start = 0
        }
        let n = rawReceive(buffer.baseAddress! + end, buffer.count - end)
        guard n > 0 else { throw BenchError(n == 0 ? "connection closed by peer" : "recv: errno \(errno)") }
        end += n
    }

    func receiveExactly(_ count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        if count > buffer.count {
            // Larger than the buffer: what is buffered, then the rest straight from the socket.
            var result = [UInt8](repeating: 0, count: count)
            let buffered = end - start
            try result.withUnsafeMutableBytes { out in
                out.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: buffered)
                var done = buffered
                while done < count {
                    let n = rawReceive(out.baseAddress! + done, count - done)
                    guard n > 0 else { throw BenchError(n == 0 ? "connection closed by peer" : "recv: errno \(errno)") }
                    done += n
                }
            }
            start = 0
            end = 0
            return result
        }
        while end - start < count { try fill() }
        let result = [UInt8](UnsafeRawBufferPointer(rebasing: buffer[start..<start + count]))
        start += count
        return result
    }

    /// Consumes `count` bytes without copying them anywhere: the receiving end of a benchmark
    /// that measures transfer, not storage.
    func discard(_ count: Int) throws {
        var remaining = count
        while remaining > 0 {
            if end == start {
                start = 0
                end = 0
                try fill()
            }
            let take = min(remaining, end - start)
            start += take
            remaining -= take
        }
    }
}

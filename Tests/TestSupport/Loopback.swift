// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#endif

/// A socket call on the loopback interface that failed, with its errno.
public struct LoopbackError: Error, CustomStringConvertible {
    public let description: String
}

/// A TCP port on 127.0.0.1 that was free a moment ago: the kernel picked it for a socket that is
/// closed again. Someone else may take it before the caller binds it, so a caller that can
/// retry does.
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw LoopbackError(description: "socket: errno \(errno)") }
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let found = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard found else { throw LoopbackError(description: "bind to 127.0.0.1:0: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A blocking TCP connection to 127.0.0.1:`port` whose reads and writes give up after `timeout`
/// seconds; the caller closes the descriptor. `receiveBufferSize` shrinks the receive buffer
/// before connecting, so that the TCP window advertised to the server stays small.
public func connectToLoopback(port: Int, timeout: Double, receiveBufferSize: Int32? = nil) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw LoopbackError(description: "socket: errno \(errno)") }
    if var size = receiveBufferSize {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    let seconds = timeout.rounded(.down)
    var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((timeout - seconds) * 1_000_000))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var address = loopbackAddress(port: port)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else {
        let error = errno
        close(fd)
        throw LoopbackError(description: "connect to 127.0.0.1:\(port): errno \(error)")
    }
    return fd
}

private func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return address
}

// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A failed system call: the `errno` value together with the name of the call that failed.
///
/// Environment and peer failures (refused connections, resets, exhausted descriptors) are thrown as
/// `SystemError`; programmer errors such as `EBADF` trap instead (see ``syscall(_:blocking:_:)``).
public struct SystemError: Error, Equatable, Hashable, CustomStringConvertible, Sendable {
    /// The C `errno` value.
    public var errno: Int32
    /// The name of the failed call, e.g. `"connect"`.
    public var call: String

    /// Creates an error for `call` failing with `errno`.
    public init(errno: Int32, call: String) {
        self.errno = errno
        self.call = call
    }

    /// `"connect: Connection refused (errno 111)"`.
    public var description: String {
        let message = strerror(errno).map { String(cString: $0) } ?? "Unknown error"
        return "\(call): \(message) (errno \(errno))"
    }
}

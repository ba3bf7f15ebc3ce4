// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An open file descriptor: an `Int32` with a type of its own, so that it is not confused with a
/// count or an offset, and with the calls the archive and the loaders make on files, each under the
/// error policy of ``syscall(_:blocking:faultIsError:_:)``.
///
/// Our own type rather than swift-system's `FileDescriptor`: that one throws a bare `Errno` for every
/// failure, `EBADF` included, while the project traps on `EBADF`/`EFAULT` and names the failed call
/// in ``SystemError``; wrapping it would have added a second error shape and a package dependency
/// for four calls.
public struct FileDescriptor: RawRepresentable, Hashable, Sendable {
    /// The descriptor number.
    public let rawValue: Int32

    /// Wraps a descriptor that is already open.
    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Opens `path` with `open(2)` `flags` (`O_CLOEXEC` is added) and, with `O_CREAT`, `permissions`.
    public init(opening path: String, flags: Int32, permissions: mode_t = 0) throws(SystemError) {
        rawValue = try syscallValue("open") { open(path, flags | O_CLOEXEC, permissions) }
    }

    /// Closes the descriptor (see ``closeDescriptor(_:)``).
    public func close() {
        closeDescriptor(rawValue)
    }

    /// The file's size now (`fstat`).
    public func size() throws(SystemError) -> Int {
        var status = stat()
        _ = try syscallValue("fstat") { fstat(rawValue, &status) }
        return Int(status.st_size)
    }

    /// Up to `count` bytes at `offset`, in a new array; fewer only when the file ends first (the
    /// caller decides whether that is an error).
    public func read(at offset: Int, count: Int) throws(SystemError) -> [UInt8] {
        var failure: SystemError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let chunk: Int
                do throws(SystemError) {
                    chunk = try syscallValue("pread") {
                        pread(rawValue, buffer.baseAddress! + done, count - done, off_t(offset + done))
                    }
                } catch {
                    failure = error
                    break
                }
                if chunk == 0 { break }
                done += chunk
            }
            initialized = done
        }
        if let failure { throw failure }
        return bytes
    }

    /// Writes all of `pieces`, in order, with `writev`: a short write continues with the rest.
    /// At most `IOV_MAX` pieces per call (the caller splits longer lists).
    public func write(gathering pieces: [ArraySlice<UInt8>]) throws(SystemError) {
        var failure: SystemError?
        Self.withIOVectors(pieces, from: 0, into: []) { vectors in
            var remaining = vectors
            var first = 0
            while first < remaining.count {
                let written: Int
                do throws(SystemError) {
                    written = try syscallValue("writev") {
                        remaining[first...].withUnsafeBufferPointer {
                            writev(rawValue, $0.baseAddress!, Int32($0.count))
                        }
                    }
                } catch {
                    failure = error
                    return
                }
                guard written > 0 else {
                    // No progress on a regular file means the device failed; do not spin.
                    failure = SystemError(errno: EIO, call: "writev")
                    return
                }
                Self.advance(&remaining, first: &first, by: written)
            }
        }
        if let failure { throw failure }
    }

    /// Drops `count` written bytes from the front of `vectors[first...]`.
    static func advance(_ vectors: inout [iovec], first: inout Int, by count: Int) {
        var skip = count
        while skip > 0, first < vectors.count {
            if skip >= vectors[first].iov_len {
                skip -= vectors[first].iov_len
                first += 1
            } else {
                vectors[first].iov_base = vectors[first].iov_base! + skip
                vectors[first].iov_len -= skip
                skip = 0
            }
        }
    }

    /// Calls `body` with one iovec per non-empty piece, each piece's storage pinned meanwhile.
    static func withIOVectors<R>(
        _ pieces: [ArraySlice<UInt8>], from index: Int, into vectors: [iovec],
        _ body: ([iovec]) -> R
    ) -> R {
        guard index < pieces.count else { return body(vectors) }
        return pieces[index].withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else {
                return withIOVectors(pieces, from: index + 1, into: vectors, body)
            }
            var next = vectors
            next.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: base), iov_len: raw.count))
            return withIOVectors(pieces, from: index + 1, into: next, body)
        }
    }
}

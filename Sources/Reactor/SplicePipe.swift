// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A pipe loaded on a worker with output for one connection — file pages spliced in (the pipe
/// holds references to page-cache pages: no copy, and reading them from disk happened on the
/// worker) with the bytes written between them (e.g. PDU headers) — that the loop then moves to
/// the socket with `splice`, many PDUs per call, still without a copy.
///
/// Each spliced page fragment and each written run takes one of the pipe's slots (a page of
/// its capacity), whatever its size: ``slots`` bounds what one pipe can carry.
public final class SplicePipe: @unchecked Sendable {
    // @unchecked: loaded by one worker, then handed to the loop, which only reads from it.
    let readFD: Int32
    private let writeFD: Int32
    /// Bytes the pipe can hold (its slots times the page size).
    public let capacity: Int
    /// Bytes loaded into the pipe so far.
    public private(set) var loaded = 0

    /// How appending a file range ended.
    public enum FileFill: Sendable, Equatable {
        /// Every byte is in the pipe.
        case complete
        /// The file ended first (it got shorter).
        case fileEnded
        /// The pipe ran out of slots first.
        case pipeFull
        /// Reading failed with this errno.
        case failed(errno: Int32)
    }

    /// A pipe of about `capacity` bytes (less when the kernel allows less, see `fs.pipe-max-size`).
    public init(capacity: Int) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        var actual: Int32 = 0
        guard qrs_splice_pipe(&fds, Int32(clamping: capacity), &actual) == 0 else {
            throw SystemError(errno: errno, call: "pipe2")
        }
        readFD = fds[0]
        writeFD = fds[1]
        self.capacity = Int(actual)
    }

    deinit {
        closeDescriptor(readFD)
        closeDescriptor(writeFD)
    }

    /// Slots of the pipe: each appended run of bytes, and each page a file range touches, takes one.
    public var slots: Int { capacity / Self.pageSize }

    /// The page size: what one slot holds at most.
    public static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Capacity of a pipe made with `capacity` asked: what this process is allowed (a privileged
    /// one may exceed `fs.pipe-max-size`). Measured once per requested size.
    public static func allowedCapacity(_ capacity: Int) -> Int {
        (try? SplicePipe(capacity: capacity).capacity) ?? 0
    }

    /// Writes `bytes` into the pipe; false when it had no room for all of them.
    public func append(_ bytes: ArraySlice<UInt8>) -> Bool {
        var rest = bytes
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { write(writeFD, $0.baseAddress, $0.count) }
            if n > 0 {
                loaded += n
                rest = rest.dropFirst(n)
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    /// Splices `length` bytes of `file` from `offset` into the pipe, waiting for the disk where
    /// pages are not cached (run it on a worker). This is the range's page-in: it is reported to
    /// ``PageIn``'s observers.
    public func appendFile(_ file: OpenFile, offset: Int, length: Int) -> FileFill {
        let fill = splice(file, offset: offset, length: length)
        switch fill {
        case .complete: PageIn.report(file, offset: offset, length: length, outcome: .pagedIn)
        case .fileEnded: PageIn.report(file, offset: offset, length: length, outcome: .fileEnded)
        case .failed(let errno): PageIn.report(file, offset: offset, length: length, outcome: .readFailed(errno: errno))
        case .pipeFull: break
        }
        return fill
    }

    private func splice(_ file: OpenFile, offset: Int, length: Int) -> FileFill {
        var done = 0
        while done < length {
            let n = qrs_splice_from_file(file.fd, Int64(offset + done), writeFD, length - done)
            if n > 0 {
                done += n
                loaded += n
            } else if n == 0 {
                return .fileEnded
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN {
                return .pipeFull
            } else {
                return .failed(errno: errno)
            }
        }
        return .complete
    }
}

/// Bytes of a loaded ``SplicePipe`` queued on a connection, moved to the socket with `splice`.
public struct PipedBytes: Sendable {
    /// The pipe the bytes are in.
    public let pipe: SplicePipe
    /// Bytes still to send.
    public internal(set) var length: Int

    /// Everything loaded into `pipe`; nothing more may be appended to it afterwards.
    public init(pipe: SplicePipe) {
        self.pipe = pipe
        self.length = pipe.loaded
    }
}

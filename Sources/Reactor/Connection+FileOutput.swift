// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Output from files: framed mappings through a pipe (or copied with `writev`) and file regions
/// with `sendfile`.
extension Connection {
    /// Moves (part of) the framed mapping at the head of the queue to the socket: the pipe is
    /// topped up with `vmsplice` (page references, no copy) and emptied into the socket with
    /// `splice`, until all of it went (true) or the socket is full (false). The pipe only ever
    /// holds bytes of the head piece, so output keeps its order. Without a pipe (none could be
    /// made) the frames are copied with `writev`.
    func writeFramed(_ framed: FramedMapping) -> Result<Bool, Error> {
        if splicePipe == nil && !splicePipeFailed && splicesFramedMappings {
            do {
                splicePipe = try SplicePipe()
                usedSplicePipe = true
            } catch {
                // Out of descriptors, most likely: copying the frames still works.
                splicePipeFailed = true
            }
        }
        guard let pipe = splicePipe else { return writeFramedCopying(framed) }
        var framed = framed
        let fd = self.fd
        while true {
            if framed.loaded < framed.totalLength {
                let loading = framed.loaded
                let loaded: IOResult<Int>
                do {
                    loaded = try withUnsafeTemporaryAllocation(of: iovec.self, capacity: Self.maxIOVecs) {
                        iovecs throws(SystemError) in
                        let (count, _) = framed.segments(
                            from: loading, into: iovecs.baseAddress!, capacity: iovecs.count)
                        return try syscall(
                            "vmsplice", blocking: true, faultIsError: true,
                            { qrs_vmsplice(pipe.writeFD, iovecs.baseAddress, Int32(count)) })
                    }
                } catch {
                    return .failure(shortFileError(error, framed, at: loading, call: "vmsplice"))
                }
                if case .processed(let n) = loaded {
                    framed.loaded += n
                    output[outputHead] = .framed(framed)
                }
            }
            // The pipe holds what of this piece was loaded and not yet sent, and nothing else.
            let asked = framed.loaded - framed.sent
            // vmsplice takes at least a byte while the pipe has room, and the pipe only holds
            // bytes of this piece, which is not all sent yet: it cannot be empty here.
            guard asked > 0 else { return .failure(SystemError(errno: EPIPE, call: "vmsplice")) }
            let more: Int32 = pendingWriteBytes > asked ? 1 : 0
            let moved: IOResult<Int>
            do {
                moved = try syscall("splice", blocking: true, { qrs_splice_to_socket(pipe.readFD, fd, asked, more) })
            } catch {
                return .failure(error)
            }
            switch moved {
            case .wouldBlock:
                partialWriteCount += 1
                return .success(false)
            case .processed(0):
                // The pipe held fewer bytes than counted: the bookkeeping is wrong.
                return .failure(SystemError(errno: EPIPE, call: "splice"))
            case .processed(let n):
                let wasLeft = framed.length
                consumeOutput(n)
                if n == wasLeft { return .success(true) }
                if n < asked {
                    partialWriteCount += 1
                    return .success(false)
                }
                guard case .framed(let current) = output[outputHead] else { return .success(true) }
                framed = current
            }
        }
    }

    /// Writes (part of) the framed mapping at the head of the queue with `writev`, for a
    /// connection without a pipe; true when all offered bytes went.
    private func writeFramedCopying(_ framed: FramedMapping) -> Result<Bool, Error> {
        let fd = self.fd
        let written: IOResult<Int>
        var offered = 0
        do {
            written = try withUnsafeTemporaryAllocation(of: iovec.self, capacity: Self.maxIOVecs) {
                iovecs throws(SystemError) in
                let (count, bytes) = framed.segments(
                    from: framed.sent, into: iovecs.baseAddress!, capacity: iovecs.count)
                offered = bytes
                return try syscall(
                    "writev", blocking: true, faultIsError: true,
                    { qrs_writev(fd, iovecs.baseAddress, Int32(count)) })
            }
        } catch {
            return .failure(shortFileError(error, framed, at: framed.sent, call: "writev"))
        }
        return .success(wrote(written, of: offered))
    }

    /// `EFAULT` from handing over mapped bytes means a page past the file's end: the file got
    /// shorter since it was mapped (the kernel reports it where a user-space read would SIGBUS).
    private func shortFileError(_ error: SystemError, _ framed: FramedMapping, at position: Int, call: String) -> Error
    {
        guard error.errno == EFAULT else { return error }
        let offset = framed.fileOffset(at: position)
        var shortFile = FileRegionError(
            file: framed.mapping.file.name, offset: offset,
            missing: framed.payloadOffset + framed.payloadLength - offset)
        shortFile.call = call
        return shortFile
    }

    /// Sends (part of) the file region at the head of the queue; true when the part asked for
    /// went out in full, false when the socket is full.
    func writeFileRegion(_ region: FileRegion) -> Result<Bool, Error> {
        let ask = min(region.length, Self.maxSendfileCount)
        var offset = off_t(region.offset)
        let fd = self.fd
        let result: IOResult<Int>
        do {
            result = try syscall("sendfile", blocking: true, { sendfile(fd, region.file.fd, &offset, ask) })
        } catch {
            return .failure(error)
        }
        switch result {
        case .wouldBlock:
            partialWriteCount += 1
            return .success(false)
        case .processed(0):
            // End of file before the region's end: the file got shorter since the region was made.
            return .failure(FileRegionError(file: region.file.name, offset: region.offset, missing: region.length))
        case .processed(let n):
            consumeOutput(n)
            if n == ask { return .success(true) }
            partialWriteCount += 1
            return .success(false)
        }
    }
}

// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Output over a transport that cannot take files zero-copy (TLS without the kernel's send
/// offload): the head of the queue — byte slices, file regions and framed mappings alike — is
/// copied into the loop's staging buffer, files with `pread` (never through a mapping, so a file
/// that got shorter is an error, not a SIGBUS), and written with one transport write. A write the
/// socket does not take is copied again from the unchanged queue for the retry, so the buffer
/// is free between writes and one per loop bounds the memory. `flush` calls `writeCopied` for
/// every write on such a transport.
extension Connection {
    /// Copies from the head of the queue into the staging buffer and writes that; true when all
    /// of it went.
    func writeCopied() -> Result<Bool, Error> {
        let staging = loop.outputStaging.bytes
        var filled = 0
        var index = outputHead
        while filled < staging.count && index < output.count {
            let room = UnsafeMutableRawBufferPointer(rebasing: staging[filled...])
            let piece = output[index]
            let copied: Int
            do {
                switch piece {
                case .bytes(let bytes):
                    copied = min(bytes.count, room.count)
                    bytes.withUnsafeBytes { room.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(copied))) }
                case .file(let region):
                    copied = try region.copy(into: room)
                case .framed(let framed):
                    copied = try framed.copy(from: framed.sent, into: room)
                }
            } catch {
                return .failure(error)
            }
            filled += copied
            if copied < piece.count { break }
            index += 1
        }
        var vector = iovec(iov_base: staging.baseAddress, iov_len: filled)
        do {
            return .success(wrote(try transport.write(&vector, count: 1, moreFollows: false), of: filled))
        } catch {
            return .failure(error)
        }
    }
}

/// The buffer a loop's connections copy file output into for a transport that cannot take
/// files zero-copy; made on first use.
final class OutputStaging {
    /// Bytes copied per transport write: four TLS records of the largest size.
    static let capacity = 64 * 1024
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: OutputStaging.capacity, alignment: 16)
    deinit { bytes.deallocate() }
}

extension FileRegion {
    /// Reads the region's next bytes into `buffer` (as many as fit); how many were read.
    /// - Throws: ``FileRegionError`` when the file ends first (it got shorter), or the read's error.
    func copy(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let asked = min(length, buffer.count)
        let fd = file.fd
        let offset = off_t(self.offset)
        let read = try syscall("pread", { pread(fd, buffer.baseAddress, asked, offset) })
        guard case .processed(let n) = read, n > 0 else {
            var error = FileRegionError(file: file.name, offset: self.offset, missing: length)
            error.call = "pread"
            throw error
        }
        return n
    }
}

extension FramedMapping {
    /// Copies the framed bytes from `position` on into `buffer` (as many as fit): headers from
    /// memory, payloads read from the file with `pread`. How many were copied.
    /// - Throws: ``FileRegionError`` when the file ends before a payload does, or the read's error.
    func copy(from position: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let stride = headerLength + frameLength
        let fd = mapping.file.fd
        var position = position
        var copied = 0
        while copied < buffer.count && position < totalLength {
            let frame = position / stride
            let within = position % stride
            let destination = buffer.baseAddress! + copied
            let room = buffer.count - copied
            if within < headerLength {
                let count = min(headerLength - within, room)
                destination.copyMemory(from: headers.start + frame * headerLength + within, byteCount: count)
                copied += count
                position += count
                continue
            }
            let start = frame * frameLength + (within - headerLength)
            let count = min(min((frame + 1) * frameLength, payloadLength) - start, room)
            let offset = off_t(payloadOffset + start)
            let read = try syscall("pread", { pread(fd, destination, count, offset) })
            guard case .processed(let n) = read, n > 0 else {
                var error = FileRegionError(
                    file: mapping.file.name, offset: payloadOffset + start,
                    missing: payloadLength - start)
                error.call = "pread"
                throw error
            }
            copied += n
            position += n
            if n < count { break }
        }
        return copied
    }
}

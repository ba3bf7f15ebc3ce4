#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads a range of an open file into a new array: the one `pread` loop shared by
/// ``DICOMFile/readBytes(_:)``, the scanner, the C-STORE read-back and the retrieve loader.
public enum FileBytes {
    /// Up to `count` bytes at `offset` of `fd`, fewer only when the file ends first (the
    /// caller decides whether that is an error). Retries on EINTR; another error is thrown
    /// as its errno.
    public static func read(_ fd: Int32, at offset: Int = 0, count: Int) throws(FileReadError) -> [UInt8] {
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        guard failure == 0 else { throw FileReadError(errno: failure) }
        return bytes
    }
}

/// A failed read of ``FileBytes/read(_:at:count:)``: the system error.
public struct FileReadError: Error, Sendable, Hashable {
    public var errno: Int32
}

// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Reads a range of an open file, or a whole file, into a new array: the one `pread` loop shared by
/// the Part 10 file reader, the scanner, the C-STORE read-back and the retrieve loader.
public enum FileBytes {
    /// Up to `count` bytes at `offset` of `fd`, fewer only when the file ends first (the
    /// caller decides whether that is an error). See ``FileDescriptor/read(at:count:)``.
    public static func read(_ fd: Int32, at offset: Int = 0, count: Int) throws(FileReadError) -> [UInt8] {
        try FileDescriptor(rawValue: fd).read(at: offset, count: count)
    }

    /// The whole file at `path` (one allocation of its size; a file that grew since it was opened
    /// is read to its new end). The error names the call that failed: `open`, `fstat` or `pread`.
    public static func readFile(_ path: String) throws(SystemError) -> [UInt8] {
        let file = try FileDescriptor(opening: path, flags: O_RDONLY)
        defer { file.close() }
        let size = try file.size()
        var bytes = try file.read(at: 0, count: size)
        while bytes.count >= size, let more = try? file.read(at: bytes.count, count: 4096), !more.isEmpty {
            bytes += more
        }
        return bytes
    }
}

/// A failed read of ``FileBytes/read(_:at:count:)``: the system error (its `errno` and call).
public typealias FileReadError = SystemError

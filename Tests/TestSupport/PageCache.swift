// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#endif

/// Drops the file at `path` from the page cache, so that the next read of it comes from the
/// disk: dirty pages are written back first, as the kernel keeps those. Does nothing when the
/// file cannot be opened.
public func evictFromPageCache(_ path: String) {
    let fd = open(path, O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { return }
    _ = fdatasync(fd)
    _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
    close(fd)
}

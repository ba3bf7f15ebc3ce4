// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
    import Glibc
#endif

/// glibc malloc settings for the daemon's allocation pattern: socket reads and PDU bodies
/// are buffers of 64 KiB–1 MiB, allocated and freed at the rate data arrives (C-STORE
/// ingest moves hundreds of MiB per second through them).
///
/// With glibc's defaults such buffers are mmap'ed and munmap'ed, or carved from the top of
/// a heap that is trimmed back to the kernel as soon as they are freed: either way every
/// buffer's pages are faulted in and zeroed anew, and the unmapping costs TLB shoot-downs
/// across threads (measured: about a tenth of the daemon's CPU time during ingest went to
/// page faults). Fixed thresholds keep such buffers in the heap and freed memory in the
/// process for reuse; a heap still shrinks once more than ``trimThreshold`` lies free at
/// its top, so memory after a burst stays bounded.
///
/// Settings given in `GLIBC_TUNABLES` (glibc.malloc.*) win: nothing is changed then.
enum MallocTuning {
    /// Allocations from this size up get their own mapping (glibc default: 128 KiB, raised
    /// dynamically up to 32 MiB as such blocks are freed).
    static let mmapThreshold: Int32 = 4 * 1024 * 1024
    /// Free memory at the top of a heap beyond which it is returned to the kernel (glibc
    /// default: 128 KiB, kept at twice the dynamic mmap threshold).
    static let trimThreshold: Int32 = 32 * 1024 * 1024

    /// Applies the thresholds; call once at start-up, before other threads exist. Returns
    /// whether they were set.
    @discardableResult
    static func apply() -> Bool {
        if let tunables = getenv("GLIBC_TUNABLES"), String(cString: tunables).contains("glibc.malloc.") { return false }
        return qrs_set_malloc_thresholds(mmapThreshold, trimThreshold) == 1
    }
}

// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The libsystemd wrappers link and behave as outside systemd (no NOTIFY_SOCKET, LISTEN_FDS,
/// WATCHDOG_USEC in the test environment).
@Suite struct ShimTests {
    @Test func systemdCallsAreInertOutsideSystemd() {
        guard getenv("NOTIFY_SOCKET") == nil, getenv("LISTEN_FDS") == nil, getenv("WATCHDOG_USEC") == nil else {
            return
        }
        #expect(qrs_sd_notify(0, "STATUS=test") == 0)
        #expect(qrs_sd_listen_fds(0) == 0)
        #expect(qrs_sd_listen_fds_start() == 3)
        var usec: UInt64 = 0
        #expect(qrs_sd_watchdog_enabled(0, &usec) == 0)
    }

    @Test func journalSendvAcceptsIovecs() {
        // Succeeds with journald present and fails with -errno without it; either way it must not crash.
        let fields = ["MESSAGE=qrscpd reactor shim test", "PRIORITY=7"]
        let cStrings = fields.map { strdup($0)! }
        defer { for pointer in cStrings { free(pointer) } }
        var iovecs = cStrings.map { iovec(iov_base: UnsafeMutableRawPointer($0), iov_len: strlen($0)) }
        let rc = qrs_sd_journal_sendv(&iovecs, Int32(iovecs.count))
        #expect(rc <= 0)
    }

    @Test func linuxConstantsAndEpoll() {
        #expect(qrs_iov_max() >= 16)
        let epfd = qrs_epoll_create()
        #expect(epfd >= 0)
        close(epfd)
    }
}

// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The process's file descriptor limit. Every connection, stored file being sent or written,
/// and the index hold one; the soft limit is often far below the hard one (1024 against
/// 4096 or more), and a daemon that stays at the soft limit runs out while the system would
/// give it more. The reactor uses epoll, so descriptors above 1024 cost nothing.
enum DescriptorLimit {
    /// `RLIM_INFINITY` (all bits set), which Swift does not import as a constant.
    static let unlimited = rlim_t.max

    /// Raises the soft `RLIMIT_NOFILE` to the hard limit (bounded by `fs.nr_open` when the hard
    /// limit is unlimited) and logs the outcome.
    static func raise(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            logger.warning("cannot read the file descriptor limit", metadata: ["errno": "\(errno)"])
            return
        }
        let before = limit.rlim_cur
        var target = limit.rlim_max
        if target == Self.unlimited { target = systemMaximum() ?? before }
        guard target > before else {
            logger.info(
                "file descriptor limit", metadata: ["soft": "\(before)", "hard": "\(describe(limit.rlim_max))"])
            return
        }
        limit.rlim_cur = target
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            logger.info(
                "file descriptor limit raised to the hard limit",
                metadata: [
                    "from": "\(before)", "to": "\(target)",
                ])
        } else {
            logger.warning(
                "cannot raise the file descriptor limit",
                metadata: [
                    "soft": "\(before)", "hard": "\(describe(limit.rlim_max))", "errno": "\(errno)",
                ])
        }
    }

    private static func describe(_ value: rlim_t) -> String {
        value == Self.unlimited ? "unlimited" : "\(value)"
    }

    /// `fs.nr_open`: no process may have more descriptors than this.
    private static func systemMaximum() -> rlim_t? {
        guard let text = try? String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8) else { return nil }
        return rlim_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

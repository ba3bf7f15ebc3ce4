// SPDX-License-Identifier: Apache-2.0
// Linux kernel interfaces re-exported with a stable `qrs_` prefix. Swift cannot import
// function-like macros and some constants reliably; wrapping them here keeps the Swift side
// independent of glibc header details.
#ifndef CSYSTEMSHIMS_LINUX_H
#define CSYSTEMSHIMS_LINUX_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <signal.h>

#ifdef __linux__
#include <sys/epoll.h>

// MARK: epoll
int qrs_epoll_create(void);
int qrs_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits for events; writes the user data and event masks into parallel arrays.
int qrs_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int maxevents, int timeout_ms);

extern const uint32_t qrs_EPOLLIN;
extern const uint32_t qrs_EPOLLOUT;
extern const uint32_t qrs_EPOLLERR;
extern const uint32_t qrs_EPOLLHUP;
extern const uint32_t qrs_EPOLLRDHUP;
extern const uint32_t qrs_EPOLLET;
extern const int qrs_EPOLL_CTL_ADD;
extern const int qrs_EPOLL_CTL_MOD;
extern const int qrs_EPOLL_CTL_DEL;
#endif

// MARK: eventfd
int qrs_eventfd_create(void);
/// Adds `value` to the counter. Returns 0 or -1 with errno.
int qrs_eventfd_write(int fd, uint64_t value);
/// Reads and resets the counter. Returns 0 or -1 with errno.
int qrs_eventfd_read(int fd, uint64_t *value);

// MARK: timerfd
int qrs_timerfd_create(void);
/// Arms the timer for an absolute CLOCK_MONOTONIC deadline in nanoseconds (0 disarms).
int qrs_timerfd_settime_abs(int fd, uint64_t deadline_ns);
/// Reads the expiration count (drains the fd).
int qrs_timerfd_read(int fd, uint64_t *expirations);
/// CLOCK_MONOTONIC now in nanoseconds.
uint64_t qrs_monotonic_now_ns(void);

// MARK: signals
/// Blocks the given signals in the calling thread (inherited by threads created later).
int qrs_block_signals(const int *signals, int count);
/// Ignores SIGPIPE process-wide so a write to a closed peer returns EPIPE.
int qrs_ignore_sigpipe(void);
/// Creates a non-blocking close-on-exec signalfd for the given signals.
int qrs_signalfd_create(const int *signals, int count);
/// Reads one siginfo; stores the signal number. Returns 0 or -1 with errno.
int qrs_signalfd_read(int fd, int *signo);

// MARK: sockets
/// accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC.
int qrs_accept(int fd);
/// Creates a non-blocking close-on-exec TCP socket for AF_INET or AF_INET6.
int qrs_socket_tcp(int family);
/// Resolves a numeric host (no DNS) into `family` (AF_INET/AF_INET6). Returns 0 or an EAI_* code.
int qrs_numeric_family(const char *host, int *family);
/// Starts a non-blocking connect to numeric host:port. Returns 0, or -1 with errno (EINPROGRESS expected).
int qrs_connect(int fd, const char *host, int port);
/// Returns the pending SO_ERROR value (0 on success) or -1 with errno.
int qrs_socket_error(int fd, int *error);
int qrs_set_nodelay(int fd, int on);
/// TCP_CORK on (1) or off (0): while on, partial segments are held back; turning it off sends them.
int qrs_set_cork(int fd, int on);
int qrs_set_reuseaddr(int fd, int on);
int qrs_set_sndbuf(int fd, int bytes);
int qrs_set_rcvbuf(int fd, int bytes);
int qrs_set_nonblocking(int fd);
int qrs_set_cloexec(int fd);
/// Creates a non-blocking socket bound to numeric host:port and listening. Returns the fd, or
/// -1 with errno (EINVAL for an unparsable host).
int qrs_listen_tcp(const char *host, int port, int backlog);
/// Local port of a bound socket or -1 with errno.
int qrs_local_port(int fd);
/// Peer address as "host:port" ("[v6]:port" for IPv6). Returns 0 or -1 with errno.
int qrs_peer_address(int fd, char *buf, size_t buflen);
/// Whether fd is a listening SOCK_STREAM socket (1), not (0), or -1 with errno.
int qrs_is_listening_stream(int fd);
int qrs_iov_max(void);
/// Names the calling thread (visible in top/gdb); truncated to 15 bytes.
void qrs_set_thread_name(const char *name);

ssize_t qrs_read(int fd, void *buf, size_t count);
ssize_t qrs_writev(int fd, const struct iovec *iov, int iovcnt);
int qrs_close(int fd);
int qrs_errno(void);

/// Starts write-back of a file range without waiting for it (sync_file_range with
/// SYNC_FILE_RANGE_WRITE), so that a later fsync has less left to wait for.
/// Returns 0 or -1 with errno set.
int qrs_start_writeback(int fd, int64_t offset, int64_t count);

/// Sets glibc malloc's mmap threshold and heap trim threshold (mallopt M_MMAP_THRESHOLD,
/// M_TRIM_THRESHOLD), which also turns off their dynamic adjustment. Returns 1 when both
/// were accepted, 0 otherwise (always 0 with another C library).
int qrs_set_malloc_thresholds(int mmap_threshold, int trim_threshold);

/// Pages of the file range [offset, offset + count) in the page cache (cachestat(2), Linux
/// 6.5+). Returns 0, or -1 with errno (ENOSYS on older kernels).
int qrs_cached_pages(int fd, int64_t offset, int64_t count, uint64_t *pages);

/// Marks (1) or unmarks (0) the calling thread as an event-loop thread, for checks that blocking
/// work never runs there.
void qrs_mark_loop_thread(int on);
/// Whether the calling thread was marked with qrs_mark_loop_thread.
int qrs_is_loop_thread(void);

/// A non-blocking, close-on-exec pipe ([0] read end, [1] write end) for moving pages to a socket
/// with vmsplice and splice, its capacity raised toward `bytes` (halved until the kernel allows
/// it). Returns 0 with the capacity in *capacity, or -1 with errno.
int qrs_splice_pipe(int fds[2], int bytes, int *capacity);
/// vmsplice(2) without SPLICE_F_GIFT: the pipe takes references to the pages behind `iov`, not
/// copies, so that memory must never change afterwards. Non-blocking. Returns the bytes moved
/// (fewer when the pipe filled up), or -1 with errno (EAGAIN: the pipe is full; EFAULT: an
/// address is not backed, e.g. a mapping past the end of its file).
ssize_t qrs_vmsplice(int pipe_out, const struct iovec *iov, int iovcnt);
/// splice(2) of up to `count` bytes from a pipe to a non-blocking socket, with SPLICE_F_MORE
/// when `more` output follows. Returns the bytes moved or -1 with errno.
ssize_t qrs_splice_to_socket(int pipe_in, int socket, size_t count, int more);

#endif

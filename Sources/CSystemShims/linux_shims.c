// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE
#include "CSystemShimsLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <netdb.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

// MARK: epoll

const uint32_t qrs_EPOLLIN = EPOLLIN;
const uint32_t qrs_EPOLLOUT = EPOLLOUT;
const uint32_t qrs_EPOLLERR = EPOLLERR;
const uint32_t qrs_EPOLLHUP = EPOLLHUP;
const uint32_t qrs_EPOLLRDHUP = EPOLLRDHUP;
const uint32_t qrs_EPOLLET = EPOLLET;
const int qrs_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
const int qrs_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
const int qrs_EPOLL_CTL_DEL = EPOLL_CTL_DEL;

int qrs_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int qrs_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int qrs_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int maxevents, int timeout_ms) {
    // A stack array keeps the packed struct layout out of Swift.
    struct epoll_event evs[256];
    if (maxevents > 256) maxevents = 256;
    int n = epoll_wait(epfd, evs, maxevents, timeout_ms);
    for (int i = 0; i < n; i++) {
        datas[i] = evs[i].data.u64;
        events[i] = evs[i].events;
    }
    return n;
}

// MARK: eventfd

int qrs_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int qrs_eventfd_write(int fd, uint64_t value) {
    ssize_t n = write(fd, &value, sizeof value);
    return n == (ssize_t)sizeof value ? 0 : -1;
}

int qrs_eventfd_read(int fd, uint64_t *value) {
    ssize_t n = read(fd, value, sizeof *value);
    return n == (ssize_t)sizeof *value ? 0 : -1;
}

// MARK: timerfd

int qrs_timerfd_create(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }

int qrs_timerfd_settime_abs(int fd, uint64_t deadline_ns) {
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ull);
    its.it_value.tv_nsec = (long)(deadline_ns % 1000000000ull);
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
}

int qrs_timerfd_read(int fd, uint64_t *expirations) {
    ssize_t n = read(fd, expirations, sizeof *expirations);
    return n == (ssize_t)sizeof *expirations ? 0 : -1;
}

uint64_t qrs_monotonic_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// MARK: signals

static void fill_set(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) sigaddset(set, signals[i]);
}

int qrs_block_signals(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0) { errno = rc; return -1; }
    return 0;
}

int qrs_ignore_sigpipe(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGPIPE, &sa, NULL);
}

int qrs_signalfd_create(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int qrs_signalfd_read(int fd, int *signo) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) {
        if (n >= 0) errno = EIO;
        return -1;
    }
    *signo = (int)info.ssi_signo;
    return 0;
}

// MARK: sockets

int qrs_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int qrs_socket_tcp(int family) {
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
}

// Numeric-only resolution: name lookups may block and belong on the worker pool.
static int resolve_numeric(const char *host, int port, int passive, struct addrinfo **out) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    const char *node = (host != NULL && host[0] != '\0') ? host : NULL;
    return getaddrinfo(node, service, &hints, out);
}

int qrs_numeric_family(const char *host, int *family) {
    struct addrinfo *ai = NULL;
    int rc = resolve_numeric(host, 0, 0, &ai);
    if (rc != 0) return rc;
    *family = ai->ai_family;
    freeaddrinfo(ai);
    return 0;
}

int qrs_connect(int fd, const char *host, int port) {
    struct addrinfo *ai = NULL;
    if (resolve_numeric(host, port, 0, &ai) != 0) { errno = EINVAL; return -1; }
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    int saved = errno;
    freeaddrinfo(ai);
    errno = saved;
    return rc;
}

int qrs_socket_error(int fd, int *error) {
    socklen_t len = sizeof *error;
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, error, &len);
}

int qrs_set_nodelay(int fd, int on) { return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); }
int qrs_set_cork(int fd, int on) { return setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on); }
int qrs_set_reuseaddr(int fd, int on) { return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on); }
int qrs_set_sndbuf(int fd, int bytes) { return setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes); }
int qrs_set_rcvbuf(int fd, int bytes) { return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes); }

int qrs_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int qrs_set_cloexec(int fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

int qrs_listen_tcp(const char *host, int port, int backlog) {
    struct addrinfo *ai = NULL;
    if (resolve_numeric(host, port, 1, &ai) != 0) { errno = EINVAL; return -1; }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) goto fail;
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) goto fail;
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) goto fail;
    if (listen(fd, backlog) < 0) goto fail;
    freeaddrinfo(ai);
    return fd;
fail:;
    int saved = errno;
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    errno = saved;
    return -1;
}

int qrs_local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    errno = EAFNOSUPPORT;
    return -1;
}

int qrs_peer_address(int fd, char *buf, size_t buflen) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) return -1;
    char host[INET6_ADDRSTRLEN];
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        snprintf(buf, buflen, "%s:%d", host, ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        snprintf(buf, buflen, "[%s]:%d", host, ntohs(sin6->sin6_port));
    } else {
        snprintf(buf, buflen, "unknown");
    }
    return 0;
}

int qrs_is_listening_stream(int fd) {
    int type = 0, acc = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return -1;
    len = sizeof acc;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0) return -1;
    return (type == SOCK_STREAM && acc) ? 1 : 0;
}

int qrs_iov_max(void) { return IOV_MAX; }

ssize_t qrs_read(int fd, void *buf, size_t count) { return read(fd, buf, count); }
ssize_t qrs_writev(int fd, const struct iovec *iov, int iovcnt) { return writev(fd, iov, iovcnt); }
int qrs_close(int fd) { return close(fd); }
int qrs_errno(void) { return errno; }
void qrs_set_thread_name(const char *name) { (void)pthread_setname_np(pthread_self(), name); }

int qrs_start_writeback(int fd, int64_t offset, int64_t count) {
    return sync_file_range(fd, (off64_t)offset, (off64_t)count, SYNC_FILE_RANGE_WRITE);
}

int qrs_set_malloc_thresholds(int mmap_threshold, int trim_threshold) {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
#else
    (void)mmap_threshold;
    (void)trim_threshold;
    return 0;
#endif
}

#ifndef __NR_cachestat
#define __NR_cachestat 451  /* the same number on every architecture (Linux 6.5) */
#endif

int qrs_cached_pages(int fd, int64_t offset, int64_t count, uint64_t *pages) {
    struct { uint64_t off, len; } range = { (uint64_t)offset, (uint64_t)count };
    struct { uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted; } stat;
    if (syscall(__NR_cachestat, fd, &range, &stat, 0) != 0) return -1;
    *pages = stat.nr_cache;
    return 0;
}

static __thread int loop_thread_marker;
void qrs_mark_loop_thread(int on) { loop_thread_marker = on; }
int qrs_is_loop_thread(void) { return loop_thread_marker; }

int qrs_splice_pipe(int fds[2], int bytes, int *capacity) {
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
    // Above /proc/sys/fs/pipe-max-size only a privileged process may go: take what is allowed.
    int size = -1;
    for (int want = bytes; want >= 4096 && size < 0; want /= 2) size = fcntl(fds[1], F_SETPIPE_SZ, want);
    if (size < 0) size = fcntl(fds[1], F_GETPIPE_SZ);
    if (size < 0) {
        int saved = errno;
        close(fds[0]);
        close(fds[1]);
        errno = saved;
        return -1;
    }
    *capacity = size;
    return 0;
}

ssize_t qrs_vmsplice(int pipe_out, const struct iovec *iov, int iovcnt) {
    return vmsplice(pipe_out, iov, (unsigned long)iovcnt, SPLICE_F_NONBLOCK);
}

ssize_t qrs_splice_to_socket(int pipe_in, int socket, size_t count, int more) {
    return splice(pipe_in, NULL, socket, NULL, count, SPLICE_F_NONBLOCK | (more ? SPLICE_F_MORE : 0));
}

// SPDX-License-Identifier: Apache-2.0
// libsystemd entry points used by the daemon, re-exported with the `qrs_` prefix.
#ifndef CSYSTEMSHIMS_SYSTEMD_H
#define CSYSTEMSHIMS_SYSTEMD_H

#include <stdint.h>
#include <sys/uio.h>

/// sd_notify(unset_environment, state). Returns >0 sent, 0 no socket, <0 -errno.
int qrs_sd_notify(int unset_environment, const char *state);
/// sd_journal_sendv over an array of "FIELD=value" iovecs.
int qrs_sd_journal_sendv(const struct iovec *iov, int n);
/// sd_journal_sendv without libsystemd's added CODE_FILE/CODE_LINE/CODE_FUNC of the shim
/// itself: the caller sends its own. Returns 0 or -errno.
int qrs_sd_journal_sendv_fields(const struct iovec *iov, int n);
/// sd_listen_fds(unset_environment); the fds start at qrs_sd_listen_fds_start().
int qrs_sd_listen_fds(int unset_environment);
int qrs_sd_listen_fds_start(void);
/// sd_watchdog_enabled; stores the interval in microseconds when enabled (>0).
int qrs_sd_watchdog_enabled(int unset_environment, uint64_t *usec);

#endif

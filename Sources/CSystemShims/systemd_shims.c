// SPDX-License-Identifier: Apache-2.0
#include "CSystemShimsSystemd.h"

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

int qrs_sd_notify(int unset_environment, const char *state) { return sd_notify(unset_environment, state); }
int qrs_sd_journal_sendv(const struct iovec *iov, int n) { return sd_journal_sendv(iov, n); }
int qrs_sd_listen_fds(int unset_environment) { return sd_listen_fds(unset_environment); }
int qrs_sd_listen_fds_start(void) { return SD_LISTEN_FDS_START; }
int qrs_sd_watchdog_enabled(int unset_environment, uint64_t *usec) {
    return sd_watchdog_enabled(unset_environment, usec);
}

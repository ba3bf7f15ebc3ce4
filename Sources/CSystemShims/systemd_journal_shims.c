// SPDX-License-Identifier: Apache-2.0
// sd_journal_sendv without the caller location: sd-journal.h otherwise wraps the call in a
// macro that appends CODE_FILE/CODE_LINE/CODE_FUNC of this C file to every entry, after
// the Swift caller's own CODE_* fields.
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include "CSystemShimsSystemd.h"

#include <systemd/sd-journal.h>

int qrs_sd_journal_sendv_fields(const struct iovec *iov, int n) { return sd_journal_sendv(iov, n); }

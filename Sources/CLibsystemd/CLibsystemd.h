// SPDX-License-Identifier: Apache-2.0
// System library target: lets SwiftPM find libsystemd through pkg-config. Used only by
// CSystemShims; Swift code calls the qrs_sd_* wrappers instead.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

// SPDX-License-Identifier: Apache-2.0
// Umbrella header of the CSystemShims module.
#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H

#include "CSystemShimsLinux.h"
#include "CSystemShimsSystemd.h"

#endif

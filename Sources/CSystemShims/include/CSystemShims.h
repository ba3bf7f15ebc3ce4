#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H
#include "CSystemShimsZlib.h"
#endif

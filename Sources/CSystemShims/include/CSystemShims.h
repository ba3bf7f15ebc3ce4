#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H
#endif

#ifndef CSYSTEMSHIMS_ZLIB_H
#define CSYSTEMSHIMS_ZLIB_H

#include <stddef.h>
#include <stdint.h>

/// Raw-inflate (windowBits -15, no zlib header) `src[0..<srcLen]`.
/// On success returns 0, stores a malloc'ed buffer in *out (free with
/// csys_zlib_free) and its length in *outLen, and the number of input bytes
/// consumed in *consumed. Fails with -100 if the output would exceed maxOut,
/// or with a negative zlib error code (Z_DATA_ERROR = -3, Z_BUF_ERROR = -5 for
/// truncated input, Z_MEM_ERROR = -4).
int csys_inflate_raw(const uint8_t *src, size_t srcLen, size_t maxOut,
                     uint8_t **out, size_t *outLen, size_t *consumed);

/// Raw-deflate (windowBits -15, no zlib header) `src[0..<srcLen]` at `level`
/// (0-9, -1 default). Returns 0 on success with a malloc'ed buffer in *out.
int csys_deflate_raw(const uint8_t *src, size_t srcLen, int level,
                     uint8_t **out, size_t *outLen);

/// Frees a buffer returned by csys_inflate_raw / csys_deflate_raw.
void csys_zlib_free(void *p);

#endif

// SPDX-License-Identifier: Apache-2.0
// Raw deflate for the DICOM module (Deflated Explicit VR Little Endian), in a target of its own so
// that DICOM links zlib and nothing else.
#ifndef CZLIB_H
#define CZLIB_H

#include <stddef.h>
#include <stdint.h>

/// Raw-inflate (windowBits -15, no zlib header) `src[0..<srcLen]`.
/// On success returns 0, stores a malloc'ed buffer in *out (free with
/// qrs_zlib_free) and its length in *outLen, and the number of input bytes
/// consumed in *consumed. Fails with -100 if the output would exceed maxOut,
/// or with a negative zlib error code (Z_DATA_ERROR = -3, Z_BUF_ERROR = -5 for
/// truncated input, Z_MEM_ERROR = -4).
int qrs_inflate_raw(const uint8_t *src, size_t srcLen, size_t maxOut,
                     uint8_t **out, size_t *outLen, size_t *consumed);

/// Raw-deflate (windowBits -15, no zlib header) `src[0..<srcLen]` at `level`
/// (0-9, -1 default). Returns 0 on success with a malloc'ed buffer in *out.
int qrs_deflate_raw(const uint8_t *src, size_t srcLen, int level,
                     uint8_t **out, size_t *outLen);

/// Frees a buffer returned by qrs_inflate_raw / qrs_deflate_raw.
void qrs_zlib_free(void *p);

#endif

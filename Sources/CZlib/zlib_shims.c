// SPDX-License-Identifier: Apache-2.0
#include "CZlib.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int qrs_inflate_raw(const uint8_t *src, size_t srcLen, size_t maxOut,
                     uint8_t **out, size_t *outLen, size_t *consumed) {
    *out = NULL; *outLen = 0; *consumed = 0;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int rc = inflateInit2(&zs, -15);
    if (rc != Z_OK) return rc;
    size_t cap = srcLen * 4 + 1024;
    if (cap > maxOut && maxOut > 0) cap = maxOut;
    if (cap == 0) cap = 1;
    uint8_t *buf = malloc(cap);
    if (!buf) { inflateEnd(&zs); return Z_MEM_ERROR; }
    size_t inPos = 0, outPos = 0;
    for (;;) {
        if (outPos == cap) {
            if (cap >= maxOut) { rc = -100; break; }
            size_t ncap = cap * 2;
            if (ncap > maxOut) ncap = maxOut;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) { rc = Z_MEM_ERROR; break; }
            buf = nb; cap = ncap;
        }
        size_t inChunk = srcLen - inPos; if (inChunk > 0x40000000u) inChunk = 0x40000000u;
        size_t outChunk = cap - outPos; if (outChunk > 0x40000000u) outChunk = 0x40000000u;
        zs.next_in = (Bytef *)(src + inPos); zs.avail_in = (uInt)inChunk;
        zs.next_out = buf + outPos; zs.avail_out = (uInt)outChunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        inPos += inChunk - zs.avail_in;
        outPos += outChunk - zs.avail_out;
        if (rc == Z_STREAM_END) { rc = 0; break; }
        if (rc == Z_BUF_ERROR && inPos >= srcLen && zs.avail_out != 0) break; /* truncated */
        if (rc != Z_OK && rc != Z_BUF_ERROR) break;
        if (inPos >= srcLen && zs.avail_out != 0 && rc == Z_OK) {
            /* all input consumed, stream not finished: truncated */
            rc = Z_BUF_ERROR; break;
        }
    }
    inflateEnd(&zs);
    if (rc != 0) { free(buf); return rc; }
    *out = buf; *outLen = outPos; *consumed = inPos;
    return 0;
}

int qrs_deflate_raw(const uint8_t *src, size_t srcLen, int level,
                     uint8_t **out, size_t *outLen) {
    *out = NULL; *outLen = 0;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int rc = deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) return rc;
    size_t cap = deflateBound(&zs, (uLong)srcLen) + 16;
    uint8_t *buf = malloc(cap);
    if (!buf) { deflateEnd(&zs); return Z_MEM_ERROR; }
    size_t inPos = 0, outPos = 0;
    for (;;) {
        size_t inChunk = srcLen - inPos; if (inChunk > 0x40000000u) inChunk = 0x40000000u;
        size_t outChunk = cap - outPos; if (outChunk > 0x40000000u) outChunk = 0x40000000u;
        if (outChunk == 0) {
            size_t ncap = cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) { rc = Z_MEM_ERROR; break; }
            buf = nb; cap = ncap; continue;
        }
        zs.next_in = (Bytef *)(src + inPos); zs.avail_in = (uInt)inChunk;
        zs.next_out = buf + outPos; zs.avail_out = (uInt)outChunk;
        int flush = (inPos + inChunk >= srcLen) ? Z_FINISH : Z_NO_FLUSH;
        rc = deflate(&zs, flush);
        inPos += inChunk - zs.avail_in;
        outPos += outChunk - zs.avail_out;
        if (rc == Z_STREAM_END) { rc = 0; break; }
        if (rc != Z_OK && rc != Z_BUF_ERROR) break;
    }
    deflateEnd(&zs);
    if (rc != 0) { free(buf); return rc; }
    *out = buf; *outLen = outPos;
    return 0;
}

void qrs_zlib_free(void *p) { free(p); }

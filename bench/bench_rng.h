/* bench_rng.h - the benchmarks' deterministic generator (splitmix64), so that a run
 * with the same seed makes the same events, and the memstore headers made from it. */
#ifndef HEARTH_BENCH_RNG_H
#define HEARTH_BENCH_RNG_H

#include <stdint.h>
#include <string.h>

#include "sync/memstore.h"

/* rng_next - the next number of the sequence *s. */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* rng_header - a random memstore header, never one marked as a bad signature. */
static inline void rng_header(uint64_t *s, uint8_t h[MEMSTORE_HEADER_LEN])
{
    for (int i = 0; i < MEMSTORE_HEADER_LEN; i += 8) {
        uint64_t v = rng_next(s);
        memcpy(h + i, &v, 8);
    }
    if (h[0] == 0xff) /* the memstore's "bad signature" marker */
        h[0] = 0;
}

#endif

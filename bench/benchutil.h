/* benchutil.h - what the in-memory benchmarks (bench_recon, bench_gossip) share: a
 * deterministic generator (splitmix64), so that a run with the same seed makes the
 * same events, the memstore headers made from it, and the hand-over of one session's
 * messages to the other. */
#ifndef HEARTH_BENCHUTIL_H
#define HEARTH_BENCHUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sync/memstore.h"
#include "sync/session.h"

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

/* pump - every message `from` has ready, given to `to`; whether there was one. Each
 * side's result is read when the session ends (sync_session_result). */
static inline bool pump(struct sync_session *from, struct sync_session *to)
{
    const uint8_t *msg;
    size_t len;
    bool moved = false;
    while (sync_session_next(from, &msg, &len)) {
        moved = true;
        herr e = sync_session_receive(to, msg, len);
        (void)e; /* read at the session's end */
    }
    return moved;
}

#endif

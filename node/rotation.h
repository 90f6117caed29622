/* rotation.h - which peers an anti-entropy round contacts (node.c's anti_entropy, and
 * bench/bench_gossip.c, which simulates it).
 *
 * Each candidate carries a stamp: the round that last chose it (0: never chosen). A
 * round takes up to `want` candidates, those with the oldest stamps first, ties broken
 * at random, and the caller stamps the chosen ones with the round's number (a count
 * that only grows). So the candidates are taken in turn: of k candidates that stay
 * eligible, every one is chosen within ceil(k / want) rounds, and a new one (stamp 0)
 * in the next round. Choosing at random instead left an edge unused for many periods
 * now and then (docs/PERFORMANCE.md, "Gossip at scale, simulated").
 *
 * Pure arithmetic over arrays the caller owns; the randomness for ties comes from a
 * function passed in (NULL: random_uniform), so that a simulation can be replayed.
 */
#ifndef HEARTH_ROTATION_H
#define HEARTH_ROTATION_H

#include <stddef.h>
#include <stdint.h>

/* rotation_rand - a uniform number below upper (upper > 0). */
typedef uint32_t (*rotation_rand)(void *ctx, uint32_t upper);

/* rotation_pick - the indices into stamps[0..count) of up to `want` candidates, oldest
 * stamp first, ties at random (rnd, ctx; rnd NULL: random_uniform), written to
 * chosen[] (room for min(want, count)) in the order taken. Returns how many. The
 * stamps are not changed. */
size_t rotation_pick(const uint64_t *stamps, size_t count, size_t want, size_t *chosen,
                     rotation_rand rnd, void *ctx);

#endif

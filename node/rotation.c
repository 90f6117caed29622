/* rotation.c - the anti-entropy round's choice of peers: oldest stamp first, ties at
 * random (rotation.h). */
#include "node/rotation.h"

#include <stdbool.h>

#include "base/crypto.h"

static uint32_t uniform(void *ctx, uint32_t upper)
{
    (void)ctx;
    return random_uniform(upper);
}

size_t rotation_pick(const uint64_t *stamps, size_t count, size_t want, size_t *chosen,
                     rotation_rand rnd, void *ctx)
{
    if (!rnd)
        rnd = uniform;
    size_t taken = 0;
    while (taken < want && taken < count) {
        /* The oldest stamp not taken yet; among equals, each is kept with chance
         * 1/ties as it is met, so every one of them is equally likely. */
        size_t best = count;
        uint32_t ties = 0;
        for (size_t i = 0; i < count; i++) {
            bool done = false;
            for (size_t t = 0; t < taken && !done; t++)
                done = chosen[t] == i;
            if (done)
                continue;
            if (best == count || stamps[i] < stamps[best]) {
                best = i;
                ties = 1;
            } else if (stamps[i] == stamps[best] && rnd(ctx, ++ties) == 0) {
                best = i;
            }
        }
        chosen[taken++] = best;
    }
    return taken;
}

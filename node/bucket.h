/* bucket.h - the token bucket behind the node's bandwidth caps (`rate`, `peer_rate`).
 *
 * It may go into debt: a frame is sent when the balance is positive and then paid for
 * in full, so a cap holds on average whatever the frame size, and frames keep their
 * order. Tokens are bytes; they accrue at `rate` per second up to one second's worth
 * (the burst). Time is a monotonic clock in milliseconds, passed in, so the bucket is
 * pure arithmetic: whole tokens only, the time they took is spent and the rest kept
 * (at a few bytes a second, polls 20 ms apart still add up), and no product overflows
 * however long it sat idle.
 */
#ifndef HEARTH_BUCKET_H
#define HEARTH_BUCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bucket {
    uint64_t rate; /* bytes per second; 0: no cap */
    int64_t tokens;
    uint64_t last_ms;
};

/* bucket_init - a full bucket of `rate` bytes a second, at now_ms. */
void bucket_init(struct bucket *b, uint64_t rate, uint64_t now_ms);

/* bucket_ready - add what accrued up to now_ms; true when a frame may be sent (the
 * balance is positive, or there is no cap). A clock read before the last one adds
 * nothing. */
bool bucket_ready(struct bucket *b, uint64_t now_ms);

/* bucket_take - pay for n bytes sent (the balance may go negative). */
void bucket_take(struct bucket *b, size_t n);

#endif

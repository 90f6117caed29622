/* bucket.c - the token bucket behind the bandwidth caps (bucket.h). */
#include "node/bucket.h"

void bucket_init(struct bucket *b, uint64_t rate, uint64_t now_ms)
{
    b->rate = rate;
    b->tokens = (int64_t)rate;
    b->last_ms = now_ms;
}

bool bucket_ready(struct bucket *b, uint64_t now_ms)
{
    if (!b->rate)
        return true;
    if (now_ms <= b->last_ms)
        return b->tokens > 0;
    uint64_t elapsed = now_ms - b->last_ms;
    /* Tokens up to a full bucket; the debt (a frame or two) keeps this small. */
    uint64_t room = (uint64_t)((int64_t)b->rate - b->tokens);
    if (elapsed / 1000 > room / b->rate) {
        b->tokens = (int64_t)b->rate; /* long enough to fill it, and more */
        b->last_ms = now_ms;
    } else {
        uint64_t gained = elapsed * b->rate / 1000;
        b->tokens += (int64_t)gained;
        b->last_ms += gained * 1000 / b->rate;
    }
    if (b->tokens > (int64_t)b->rate)
        b->tokens = (int64_t)b->rate;
    return b->tokens > 0;
}

void bucket_take(struct bucket *b, size_t n)
{
    if (b->rate)
        b->tokens -= (int64_t)n;
}

/* clock.h - the node's two clocks, in milliseconds.
 *
 * mono_ms never goes back and measures intervals (timers, back-off, timeouts);
 * wall_ms is the calendar time people see (last seen, last sync), which may be years
 * off on a hub without internet and is never used to decide anything.
 */
#ifndef HEARTH_CLOCK_H
#define HEARTH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint64_t mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static inline uint64_t wall_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

#endif

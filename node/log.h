/* log.h - one line per happening, on stderr, with a level.
 *
 * A struct hlog is owned by whoever runs the node (no global logger) and passed to
 * the modules that log. Lines look like
 *   2026-11-25T10:00:00Z info  sync: peer 3f2a9c0d41e2: 12 events received
 * Levels below the configured one are dropped.
 */
#ifndef HEARTH_LOG_H
#define HEARTH_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum hlog_level { HLOG_DEBUG, HLOG_INFO, HLOG_WARN, HLOG_ERROR };

struct hlog {
    enum hlog_level level;
    FILE *out; /* stderr when NULL */
};

/* hlog_parse_level - "debug", "info", "warn", "error" -> level; -1 when unknown. */
int hlog_parse_level(const char *name);

/* hlog - write one line when level >= log->level. NULL-safe (log NULL: nothing). */
void hlog(const struct hlog *log, enum hlog_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A happening that a peer can repeat at will (a flood, a storm of bad handshakes)
 * gets at most `burst` lines (0: 1) per `every_ms`; the next line that gets through
 * says how many went unlogged before it. Set every_ms and burst, the rest zero. */
struct hlog_limit {
    uint64_t every_ms, burst;
    uint64_t window_ms, lines, unlogged;
};

/* hlog_due - count one happening at now_ms (a monotonic clock); true when it may have
 * a line, with *more set to the number that went unlogged since the last line. */
bool hlog_due(struct hlog_limit *l, uint64_t now_ms, uint64_t *more);

/* The same limit for each kind of a happening (a peer and a reason, say), so that a
 * flood of one kind does not hide the others, under a limit `all` on every kind
 * together (so that many kinds cannot flood the log either). HLOG_KINDS kinds at a
 * time, the one seen longest ago giving its place to a new one. Set every_ms and
 * burst (each kind) and all.every_ms and all.burst (together). */
#define HLOG_KINDS 32
struct hlog_kinds {
    uint64_t every_ms, burst;
    struct hlog_limit all;
    struct {
        uint64_t kind, used_ms;
        struct hlog_limit l;
    } slot[HLOG_KINDS];
};

/* hlog_kind - a kind from bytes (FNV-1a), chained: hlog_kind(r, n, hlog_kind(k, 32, 0)). */
uint64_t hlog_kind(const void *p, size_t n, uint64_t seed);

/* hlog_due_kind - hlog_due for a happening of that kind. */
bool hlog_due_kind(struct hlog_kinds *k, uint64_t kind, uint64_t now_ms, uint64_t *more);

#endif

#include "node/log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static const char *const names[] = {"debug", "info", "warn", "error"};

int hlog_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void hlog(const struct hlog *log, enum hlog_level level, const char *fmt, ...)
{
    if (!log || level < log->level)
        return;
    FILE *out = log->out ? log->out : stderr;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One write per line, so lines from concurrent processes do not interleave. */
    fprintf(out, "%s %-5s %s\n", stamp, names[level], line);
    fflush(out);
}

bool hlog_due(struct hlog_limit *l, uint64_t now_ms, uint64_t *more)
{
    if (!l->window_ms || now_ms - l->window_ms >= l->every_ms) {
        l->window_ms = now_ms ? now_ms : 1;
        l->lines = 0;
    }
    if (l->lines >= (l->burst ? l->burst : 1)) {
        l->unlogged++;
        return false;
    }
    l->lines++;
    *more = l->unlogged;
    l->unlogged = 0;
    return true;
}

uint64_t hlog_kind(const void *p, size_t n, uint64_t seed)
{
    uint64_t h = seed ? seed : 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ULL;
    return h;
}

bool hlog_due_kind(struct hlog_kinds *k, uint64_t kind, uint64_t now_ms, uint64_t *more)
{
    int pick = 0;
    for (int i = 0; i < HLOG_KINDS; i++) {
        if (k->slot[i].used_ms && k->slot[i].kind == kind) {
            pick = i;
            break;
        }
        if (k->slot[i].used_ms < k->slot[pick].used_ms)
            pick = i;
    }
    if (!k->slot[pick].used_ms || k->slot[pick].kind != kind) {
        k->slot[pick].kind = kind;
        k->slot[pick].l = (struct hlog_limit){.every_ms = k->every_ms, .burst = k->burst};
    }
    k->slot[pick].used_ms = now_ms ? now_ms : 1;
    struct hlog_limit *l = &k->slot[pick].l;
    uint64_t ignored;
    if (!hlog_due(l, now_ms, more))
        return false;
    if (!hlog_due(&k->all, now_ms, &ignored)) {
        /* This kind's line was due, but not any more lines at all: count it there. */
        l->lines--;
        l->unlogged = *more + 1;
        return false;
    }
    return true;
}

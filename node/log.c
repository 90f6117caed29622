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

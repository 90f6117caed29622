/* herr.c - error codes and their words (base/herr.h). */
#include "base/herr.h"

#include <errno.h>

const char *herr_str(herr e)
{
    switch (e) {
    case HERR_OK:
        return "ok";
    case HERR_NOMEM:
        return "out of memory";
    case HERR_IO:
        return "input/output error";
    case HERR_FULL:
        return "disk full";
    case HERR_BUSY:
        return "data directory is locked by another process";
    case HERR_READONLY:
        return "read-only data directory";
    case HERR_CORRUPT:
        return "database is damaged";
    case HERR_MALFORMED:
        return "malformed";
    case HERR_NONCANONICAL:
        return "non-canonical encoding";
    case HERR_TOO_LARGE:
        return "too large";
    case HERR_VERSION:
        return "unknown version";
    case HERR_KIND:
        return "unknown event kind";
    case HERR_BAD_SIG:
        return "bad signature";
    case HERR_WRONG_FORUM:
        return "wrong forum";
    case HERR_INVALID:
        return "invalid event";
    case HERR_FORK:
        return "fork";
    case HERR_DUPLICATE:
        return "duplicate";
    case HERR_NOT_FOUND:
        return "not found";
    case HERR_DENIED:
        return "not allowed";
    case HERR_PROTOCOL:
        return "protocol error";
    case HERR_TIMEOUT:
        return "timed out";
    case HERR_USAGE:
        return "bad usage";
    case HERR_NET:
        return "network error";
    case HERR_STATE:
        return "wrong state";
    case HERR_AMBIGUOUS:
        return "ambiguous";
    case HERR_NOOP:
        return "nothing to do";
    }
    return "unknown error";
}

int herr_is_bad_input(herr e)
{
    return e >= HERR_MALFORMED && e <= HERR_FORK;
}

_Static_assert(HERR_NOOP + 1 == HERR_COUNT, "HERR_COUNT follows the highest code");

const char *herr_name(herr e)
{
    static const char *const names[HERR_COUNT] = {
        [HERR_OK] = "ok",
        [HERR_NOMEM] = "nomem",
        [HERR_IO] = "io",
        [HERR_FULL] = "full",
        [HERR_BUSY] = "busy",
        [HERR_READONLY] = "readonly",
        [HERR_CORRUPT] = "corrupt",
        [HERR_MALFORMED] = "malformed",
        [HERR_NONCANONICAL] = "noncanonical",
        [HERR_TOO_LARGE] = "too_large",
        [HERR_VERSION] = "version",
        [HERR_KIND] = "kind",
        [HERR_BAD_SIG] = "bad_sig",
        [HERR_WRONG_FORUM] = "wrong_forum",
        [HERR_INVALID] = "invalid",
        [HERR_FORK] = "fork",
        [HERR_DUPLICATE] = "duplicate",
        [HERR_NOT_FOUND] = "not_found",
        [HERR_DENIED] = "denied",
        [HERR_PROTOCOL] = "protocol",
        [HERR_TIMEOUT] = "timeout",
        [HERR_USAGE] = "usage",
        [HERR_NET] = "net",
        [HERR_STATE] = "state",
        [HERR_AMBIGUOUS] = "ambiguous",
        [HERR_NOOP] = "noop",
    };
    return (unsigned)e < HERR_COUNT ? names[e] : "unknown";
}

herr herr_from_errno(int err)
{
    switch (err) {
    case ENOENT:
        return HERR_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return HERR_READONLY;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return HERR_FULL;
    case ENOMEM:
        return HERR_NOMEM;
    default:
        return HERR_IO;
    }
}

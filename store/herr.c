#include "store/herr.h"

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

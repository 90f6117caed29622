/* herr.h - the one error type of hearth.
 *
 * Every function that can fail returns a herr. The codes are append-only: a code,
 * once given a number, keeps it, because the CLI's exit codes and the wire's error
 * message carry these numbers. The groups let a caller tell "a peer sent garbage"
 * (HERR_MALFORMED .. HERR_FORK) from "our disk is in trouble" (HERR_IO .. HERR_CORRUPT)
 * from "no such thing" (HERR_NOT_FOUND).
 *
 * A function that fails may also leave a one-line detail (lower case, no full stop)
 * in a place its header names, usually `const char **why` (a static string) or a
 * message owned by the handle (store_errmsg()).
 */
#ifndef HEARTH_HERR_H
#define HEARTH_HERR_H

#define HEARTH_MUST_CHECK __attribute__((warn_unused_result))

typedef enum herr {
    HERR_OK = 0,
    /* local resources */
    HERR_NOMEM = 1,    /* an allocation failed */
    HERR_IO = 2,       /* a read or write failed */
    HERR_FULL = 3,     /* the disk (or a size limit of the database) is full */
    HERR_BUSY = 4,     /* the data directory is locked by another process */
    HERR_READONLY = 5, /* the data directory or database cannot be written */
    HERR_CORRUPT = 6,  /* the local database is damaged */
    /* bad bytes, from a peer, a bundle or a file */
    HERR_MALFORMED = 7,    /* not well-formed (truncated, wrong type, trailing bytes) */
    HERR_NONCANONICAL = 8, /* well-formed but not in the one canonical encoding */
    HERR_TOO_LARGE = 9,    /* a length, count or depth above its named maximum */
    HERR_VERSION = 10,     /* an unknown format or protocol version */
    HERR_KIND = 11,        /* an unknown event kind */
    HERR_BAD_SIG = 12,     /* the signature does not verify */
    HERR_WRONG_FORUM = 13, /* an event or peer of another forum */
    HERR_INVALID = 14,     /* well-formed and signed, but breaks a rule of the format */
    HERR_FORK = 15,        /* reserved: a second event with one (author, seq) */
    /* outcomes */
    HERR_DUPLICATE = 16, /* already held; not an error for ingest */
    HERR_NOT_FOUND = 17,
    HERR_DENIED = 18,   /* not allowed: missing role, banned, locked, unknown peer key */
    HERR_PROTOCOL = 19, /* a peer broke the sync protocol */
    HERR_TIMEOUT = 20,
    HERR_USAGE = 21,     /* a bad argument from a person or a caller */
    HERR_NET = 22,       /* the network failed: cannot bind, connect, or the link dropped */
    HERR_STATE = 23,     /* not in a state to do that (no forum yet, already initialised) */
    HERR_AMBIGUOUS = 24, /* an id prefix or name that matches more than one thing */
    HERR_NOOP = 25,      /* refused: the action would change nothing (already done, own post) */
} herr;

#define HERR_COUNT 26 /* one more than the highest code: arrays indexed by herr */

/* herr_str - a short lower-case description of e ("malformed bytes"). Never NULL. */
const char *herr_str(herr e);

/* herr_name - the code as one snake_case word ("bad_sig"), stable like the numbers:
 * metrics label values and logs that a machine reads use it. Never NULL. */
const char *herr_name(herr e);

/* herr_is_bad_input - true for the codes that mean "the bytes we were given are bad"
 * (HERR_MALFORMED through HERR_INVALID), as opposed to local trouble. */
int herr_is_bad_input(herr e);

/* herr_from_errno - what a failed system call's errno means to a person:
 * ENOENT HERR_NOT_FOUND; EACCES, EPERM, EROFS HERR_READONLY; ENOSPC, EDQUOT, EFBIG
 * HERR_FULL; ENOMEM HERR_NOMEM; anything else HERR_IO. */
herr herr_from_errno(int err);

#endif

/* wire.h - the sync protocol's messages: canonical msgpack encoders and one decoder.
 *
 * Every message is one transport frame holding one msgpack array whose first element
 * is the message type (docs/PROTOCOL.md, "Messages", has each layout byte for byte):
 *
 *   HELLO   [1, version, forum_tag: bin(8)|nil, caps, frame_log2, count,
 *            fingerprint: bin(16)|nil, plan, [sum: bin(16)], ...later fields]
 *   SYMBOLS [2, start, last: bool, symbols: bin(22 n), counts: bin(2 k)]
 *   MORE    [3, upto, counts]
 *   IDS     [4, last: bool, keys: bin(16 n)]
 *   WANT    [5, last: bool, keys: bin(16 n)]
 *   EVENTS  [6, [envelope: bin, ...]]
 *   DONE    [7]
 *   ERROR   [8, code, text: str]
 *   PUSH    [9, envelope: bin]          (outside a session: eager push of one event)
 *   ZEVENTS [10, size, zstd: bin]       (an EVENTS message compressed with zstd; only to
 *                                        a peer whose HELLO offered SYNC_CAP_ZSTD)
 *   SKETCH  [11, sum: bin(16)]          (plan ONE: the initiator's symbol 0 sum)
 *
 * sync_msg_decode() is the one decoder of these bytes. It reads only through the
 * bounded mp_reader, checks every length and count against the maxima below before
 * use, rejects trailing bytes and non-canonical encodings, allocates nothing (the
 * result points into the caller's buffer, which must outlive it) and gives a static
 * reason for every rejection. It checks what can be checked from one message alone;
 * whether a message fits the session's state is the session's business.
 *
 * The maxima belong in base/limits.h (one header for the attack surface); they are
 * here until that header is changed, and docs/PROTOCOL.md states the same numbers.
 */
#ifndef HEARTH_SYNC_WIRE_H
#define HEARTH_SYNC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "base/hbuf.h"
#include "base/herr.h"
#include "base/limits.h"
#include "base/mp.h"
#include "store/store.h"
#include "sync/recon.h"

#define SYNC_VERSION 1
#define SYNC_FORUM_TAG_LEN 8
#define SYNC_MIN_FRAME_LOG2 17   /* 128 KiB: a frame must hold the largest event */
#define SYNC_MAX_HELLO_FIELDS 32 /* elements of a HELLO, later fields included */
#define SYNC_MAX_SKIP_DEPTH 8    /* levels of a later HELLO field we skip (itself the first) */
#define SYNC_MAX_SET_COUNT (1ULL << 40) /* a set count a peer may claim */
#define SYNC_MAX_EVENTS_PER_MSG 16384   /* envelopes in one EVENTS */
#define SYNC_MAX_ERROR_TEXT 200         /* bytes of an ERROR's text */
#define SYNC_ZSTD_LEVEL 3               /* zstd level for ZEVENTS (higher levels gain ~2%) */

enum sync_type {
    SYNC_HELLO = 1,
    SYNC_SYMBOLS = 2,
    SYNC_MORE = 3,
    SYNC_IDS = 4,
    SYNC_WANT = 5,
    SYNC_EVENTS = 6,
    SYNC_DONE = 7,
    SYNC_ERROR = 8,
    SYNC_PUSH = 9,
    SYNC_ZEVENTS = 10,
    SYNC_SKETCH = 11,
};

/* Capability bits of a HELLO; unknown bits are ignored. */
#define SYNC_CAP_SEND 1u /* the sender will send events */
#define SYNC_CAP_RECV 2u /* the sender accepts events */
#define SYNC_CAP_ZSTD 4u /* the sender accepts ZEVENTS (docs/PROTOCOL.md 7.11) */
#define SYNC_CAP_ONE 8u  /* the sender speaks plan ONE and SKETCH (docs/PROTOCOL.md 9.5) */

/* The plan a responder announces in its HELLO (an initiator sends SYNC_PLAN_NONE). */
enum sync_plan {
    SYNC_PLAN_NONE = 0,     /* the sets are equal (responder) / no plan (initiator) */
    SYNC_PLAN_IBLT = 1,     /* the responder streams coded symbols, the initiator decodes */
    SYNC_PLAN_LIST_R = 2,   /* the responder lists its keys, the initiator compares */
    SYNC_PLAN_LIST_I = 3,   /* the initiator lists its keys, the responder compares */
    SYNC_PLAN_SUFFIX_R = 4, /* the responder's newest events are all the difference */
    SYNC_PLAN_SUFFIX_I = 5, /* the initiator holds more: it checks its newest events */
    SYNC_PLAN_ONE = 6,      /* the responder holds one more: the initiator sends a SKETCH */
    SYNC_PLAN_MAX = 6,
};

struct sync_hello {
    uint64_t version;
    bool has_forum;
    uint8_t forum[SYNC_FORUM_TAG_LEN];
    uint64_t caps;
    uint64_t frame_log2;
    uint64_t count;
    bool has_fp;
    uint8_t fp[RECON_FP_LEN];
    uint64_t plan;
    bool has_sum;               /* a responder's 9th field (plan SUFFIX_I, docs/PROTOCOL.md 9.4): */
    uint8_t sum[RECON_KEY_LEN]; /* the XOR of its keys */
    uint32_t extra;             /* later fields that were skipped */
};

struct sync_symbols {
    uint32_t start;
    bool last;
    const uint8_t *syms; /* nsyms * RECON_SYM_LEN bytes */
    uint32_t nsyms;
    const uint8_t *counts; /* ncounts * RECON_COUNT_LEN bytes, for [start+nsyms, ...) */
    uint32_t ncounts;
};

struct sync_more {
    uint32_t upto;   /* send symbols up to this index (exclusive) */
    uint32_t counts; /* and this many count-only entries after it */
};

struct sync_keys { /* IDS and WANT */
    bool last;
    const uint8_t *keys; /* n * RECON_KEY_LEN bytes */
    uint32_t n;
};

struct sync_events {
    uint32_t n;
    const uint8_t *first; /* the first envelope's bin, for sync_events_next */
    const uint8_t *end;
};

struct sync_error {
    uint64_t code;
    const char *text; /* not NUL-terminated */
    uint32_t len;
};

struct sync_push {
    const uint8_t *env;
    uint32_t len;
};

struct sync_zevents {
    uint32_t size;       /* the EVENTS message's length once decompressed */
    const uint8_t *data; /* one zstd frame */
    uint32_t len;
};

struct sync_sketch {
    const uint8_t *sum; /* RECON_KEY_LEN bytes */
};

struct sync_msg {
    enum sync_type type;
    union {
        struct sync_hello hello;
        struct sync_symbols symbols;
        struct sync_more more;
        struct sync_keys keys;
        struct sync_events events;
        struct sync_error error;
        struct sync_push push;
        struct sync_zevents zevents;
        struct sync_sketch sketch;
    } u;
};

/* sync_msg_decode - decode the message p[0..n). On failure returns HERR_MALFORMED
 * (truncated, wrong type or number of fields, trailing bytes), HERR_NONCANONICAL,
 * HERR_TOO_LARGE (a length, count or index above its maximum, or n above
 * HEARTH_MAX_FRAME), HERR_VERSION (a HELLO of version 0), HERR_INVALID (a field out
 * of its range) or HERR_PROTOCOL (an unknown message type), and sets *why to a static
 * one-line reason. m borrows from p. */
HEARTH_MUST_CHECK herr sync_msg_decode(struct sync_msg *m, const uint8_t *p, size_t n,
                                       const char **why);

/* sync_msg_peek - the type the message p[0..n) claims, read from its first bytes alone
 * (the array's header and its first element, a positive fixint), so that a node can
 * route a frame to a push or to a session before anything decodes it; whoever it goes
 * to decodes it with sync_msg_decode, which checks the rest. 0 when those bytes name
 * no type. SYNC_PUSH only for a frame laid out as a PUSH, an array of two: a push is
 * taken outside any session, so a frame that only claims the type goes where other
 * messages go, and is refused there. */
int sync_msg_peek(const uint8_t *p, size_t n);

/* An iterator over a decoded EVENTS message's envelopes. */
struct sync_events_iter {
    struct mp_reader r;
    uint32_t left;
};

void sync_events_iter_init(struct sync_events_iter *it, const struct sync_events *ev);

/* sync_events_next - the next envelope, false at the end. */
bool sync_events_next(struct sync_events_iter *it, const uint8_t **env, uint32_t *len);

/* Encoders: each appends one message to out. HERR_TOO_LARGE when out's maximum is
 * reached, HERR_NOMEM; out may then hold a partial message (reset it). */
HEARTH_MUST_CHECK herr sync_encode_hello(struct hbuf *out, const struct sync_hello *h);
HEARTH_MUST_CHECK herr sync_encode_symbols(struct hbuf *out, uint32_t start, bool last,
                                           const uint8_t *syms, uint32_t nsyms,
                                           const uint8_t *counts, uint32_t ncounts);
HEARTH_MUST_CHECK herr sync_encode_more(struct hbuf *out, uint32_t upto, uint32_t counts);
HEARTH_MUST_CHECK herr sync_encode_keys(struct hbuf *out, enum sync_type type, bool last,
                                        const uint8_t *keys, uint32_t n);
HEARTH_MUST_CHECK herr sync_encode_events(struct hbuf *out, const struct store_blob *envs,
                                          size_t n);
HEARTH_MUST_CHECK herr sync_encode_done(struct hbuf *out);
HEARTH_MUST_CHECK herr sync_encode_error(struct hbuf *out, herr code, const char *text);

/* sync_encode_push / sync_push_decode - the standalone PUSH message carrying one event
 * envelope, for eager push outside a session. sync_push_decode accepts only a PUSH
 * (HERR_PROTOCOL for another type) and sets *env to point into p. */
HEARTH_MUST_CHECK herr sync_encode_push(struct hbuf *out, const uint8_t *env, size_t len);
HEARTH_MUST_CHECK herr sync_push_decode(const uint8_t *p, size_t n, const uint8_t **env,
                                        size_t *len, const char **why);

/* sync_encode_zevents - append to out a ZEVENTS message holding msg[0..len) (an
 * encoded EVENTS message) compressed with cctx at SYNC_ZSTD_LEVEL, as one zstd frame
 * that states its content size and names no dictionary. HERR_NOMEM, HERR_TOO_LARGE
 * (out's maximum), HERR_INVALID when zstd fails. */
HEARTH_MUST_CHECK herr sync_encode_zevents(struct hbuf *out, ZSTD_CCtx *cctx, const uint8_t *msg,
                                           size_t len);

/* sync_zevents_inflate - decompress a decoded ZEVENTS into out (reset first), never
 * producing or allocating more than max bytes: a size above max is HERR_TOO_LARGE
 * before anything is allocated; data that is not exactly one zstd frame stating
 * content size `size`, with no dictionary and a window of at most max, or that does
 * not decompress to exactly `size` bytes, is HERR_MALFORMED (HERR_TOO_LARGE when the
 * frame claims more than max). *why gets a static reason. HERR_NOMEM. The result is
 * the bytes of a message still to be decoded (sync_msg_decode), which must be EVENTS. */
HEARTH_MUST_CHECK herr sync_zevents_inflate(ZSTD_DCtx *dctx, const struct sync_zevents *z,
                                            size_t max, struct hbuf *out, const char **why);

HEARTH_MUST_CHECK herr sync_encode_sketch(struct hbuf *out, const uint8_t sum[RECON_KEY_LEN]);

/* Bytes a message adds around its payload, for packing frames. */
#define SYNC_SYMBOLS_OVERHEAD 24 /* array, type, start, last, two bin headers */
#define SYNC_KEYS_OVERHEAD 10
#define SYNC_EVENTS_OVERHEAD 8
#define SYNC_EVENT_ITEM_OVERHEAD 5 /* a bin header */

#endif

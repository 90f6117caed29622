/* hostile_peer.c - a hearth peer that misbehaves on purpose, for test_hostile.sh.
 *
 *   hostile_peer CASE ADDRESS BUNDLE [--count N] [--hold MS] [--conns N]
 *
 * ADDRESS is the victim's hearth://KEY@HOST:PORT; BUNDLE is a bundle exported from
 * the victim (it names the forum, and its events are what a replay sends again).
 * The tool speaks to the victim with libzmq directly, with its own CURVE keys, so it
 * can do what hearth's own transport never does: several frames, oversize frames,
 * routing ids of its choosing, raw TCP that never finishes the handshake.
 *
 * Every event the tool sends is first judged by hearth's own decoder (event_parse,
 * event_verify, event_check_forum) and must get the verdict the case intends; a case
 * whose bytes are not what it claims stops with exit 1. So a case that says "forged
 * signature" sends an event that parses and fails only on its signature.
 *
 * Output, one fact per line, for the test to check:
 *   sent N          messages (or connections) sent
 *   valid N         of the events sent, how many are new and valid: a correct node
 *                   stores exactly these
 *   forks N         new (author, seq) forks among them
 *   expect TEXT     a fragment the victim must log for this case
 *   check TEXT      a fact the tool checked itself on the wire (reply, disconnect)
 *   ready           (cases that hold connections open) now holding: test meanwhile
 * Exit 0 when the case ran as planned and every wire check held; 1 when a check or
 * the tool itself failed (the line "fail: ..." says why); 2 for bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include <zstd.h>

#include "base/crypto.h"
#include "base/limits.h"
#include "node/transport.h"
#include "store/bundle.h"
#include "store/event.h"
#include "sync/wire.h"

/* ---- small things ---- */

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("fail: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    failures++;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("fail: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    exit(1);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

/* ---- a raw msgpack writer that can also write the non-shortest forms ---- */

struct raw {
    uint8_t *p;
    size_t n, cap;
};

static void raw_put(struct raw *r, const void *p, size_t n)
{
    if (r->n + n > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->n + n)
            cap *= 2;
        uint8_t *q = realloc(r->p, cap);
        if (!q)
            die("out of memory");
        r->p = q;
        r->cap = cap;
    }
    memcpy(r->p + r->n, p, n);
    r->n += n;
}

static void raw_byte(struct raw *r, uint8_t b)
{
    raw_put(r, &b, 1);
}

static void raw_be(struct raw *r, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        raw_byte(r, (uint8_t)(v >> (8 * i)));
}

static void raw_free(struct raw *r)
{
    free(r->p);
    memset(r, 0, sizeof *r);
}

/* width: 0 the shortest (canonical) form; 1, 2, 4, 8 force that many length bytes. */
static void raw_uint(struct raw *r, uint64_t v, int width)
{
    if (!width)
        width = v < 128 ? -1 : v < 256 ? 1 : v < 65536 ? 2 : v <= 0xffffffffu ? 4 : 8;
    if (width < 0)
        raw_byte(r, (uint8_t)v);
    else
        raw_byte(r, width == 1   ? 0xcc
                    : width == 2 ? 0xcd
                    : width == 4 ? 0xce
                                 : 0xcf),
            raw_be(r, v, width);
}

static void raw_nil(struct raw *r)
{
    raw_byte(r, 0xc0);
}

static void raw_bin_head(struct raw *r, uint64_t n, int width)
{
    if (!width)
        width = n < 256 ? 1 : n < 65536 ? 2 : 4;
    raw_byte(r, width == 1 ? 0xc4 : width == 2 ? 0xc5 : 0xc6);
    raw_be(r, n, width);
}

static void raw_bin(struct raw *r, const void *p, size_t n, int width)
{
    raw_bin_head(r, n, width);
    raw_put(r, p, n);
}

static void raw_str(struct raw *r, const void *p, size_t n)
{
    if (n < 32)
        raw_byte(r, (uint8_t)(0xa0 | n));
    else if (n < 256)
        raw_byte(r, 0xd9), raw_be(r, n, 1);
    else
        raw_byte(r, 0xda), raw_be(r, n, 2);
    raw_put(r, p, n);
}

/* width 0: fix form when it fits; 2 or 4 force array16 / array32. */
static void raw_array(struct raw *r, uint64_t n, int width)
{
    if (!width)
        width = n < 16 ? -1 : n < 65536 ? 2 : 4;
    if (width < 0)
        raw_byte(r, (uint8_t)(0x90 | n));
    else
        raw_byte(r, width == 2 ? 0xdc : 0xdd), raw_be(r, n, width);
}

static void raw_map(struct raw *r, uint64_t n)
{
    raw_byte(r, (uint8_t)(0x80 | n));
}

/* ---- events, right and wrong ---- */

struct evspec {
    uint64_t version, kind, seq, created;
    const uint8_t *forum; /* NULL: nil (a genesis) */
    const struct hkey *author;
    const struct hkey *signer; /* NULL: the author */
    const char *name;          /* the body's "name" (a profile's pseudonym) */
    size_t name_len;           /* 0: strlen(name) */
    int seq_width;             /* 0: canonical */
    int header_bin_width;      /* 0: canonical */
    int env_array_width;       /* 0: canonical */
    int header_fields;         /* 0: 10 */
    bool unsorted_body;        /* two body keys in descending order */
    bool nested_body;          /* an unknown key whose value is a deep array */
    bool flip_sig;
    bool trailing;
};

static const struct evspec profile_spec = {.version = EVENT_VERSION, .kind = EK_PROFILE, .seq = 1};

/* ev_build - the envelope of spec into env (appended). */
static void ev_build(const struct evspec *s, struct raw *env)
{
    struct raw body = {0}, hdr = {0};
    const char *name = s->name ? s->name : "hostile";
    size_t name_len = s->name_len ? s->name_len : strlen(name);
    if (s->unsorted_body) {
        raw_map(&body, 2);
        raw_str(&body, "name", 4), raw_str(&body, name, name_len);
        raw_str(&body, "about", 5), raw_str(&body, "x", 1);
    } else if (s->nested_body) {
        raw_map(&body, 2);
        raw_str(&body, "name", 4), raw_str(&body, name, name_len);
        raw_str(&body, "zz", 2);
        for (int i = 0; i < 64; i++)
            raw_array(&body, 1, 0);
        raw_nil(&body);
    } else {
        raw_map(&body, 1);
        raw_str(&body, "name", 4), raw_str(&body, name, name_len);
    }
    uint8_t body_hash[HEARTH_ID_LEN];
    hash_id(body_hash, body.p, body.n);
    raw_array(&hdr, s->header_fields ? (uint64_t)s->header_fields : 10, 0);
    raw_uint(&hdr, s->version, 0);
    if (s->forum)
        raw_bin(&hdr, s->forum, HEARTH_ID_LEN, 0);
    else
        raw_nil(&hdr);
    raw_bin(&hdr, s->author->pk, HEARTH_PK_LEN, 0);
    raw_uint(&hdr, s->seq, s->seq_width);
    raw_uint(&hdr, s->created ? s->created : 1700000000000ULL, 0);
    raw_uint(&hdr, s->kind, 0);
    raw_nil(&hdr);
    raw_nil(&hdr);
    raw_bin(&hdr, body_hash, HEARTH_ID_LEN, 0);
    raw_uint(&hdr, body.n, 0);
    for (int i = 10; i < s->header_fields; i++)
        raw_nil(&hdr);
    uint8_t sig[HEARTH_SIG_LEN];
    sign_detached(sig, EVENT_SIG_TAG, hdr.p, hdr.n, s->signer ? s->signer : s->author);
    if (s->flip_sig)
        sig[17] ^= 0x20;
    raw_array(env, 3, s->env_array_width);
    raw_bin(env, hdr.p, hdr.n, s->header_bin_width);
    raw_bin(env, sig, sizeof sig, 0);
    raw_bin(env, body.p, body.n, 0);
    if (s->trailing)
        raw_byte(env, 0xc0);
    raw_free(&body);
    raw_free(&hdr);
}

/* judge - what hearth's own checks say of env, in the node's order: parse, then the
 * signature, then the forum. Sets *id when the bytes parse. */
static herr judge(const uint8_t *env, size_t n, const uint8_t forum[HEARTH_ID_LEN],
                  const char **why, uint8_t id[HEARTH_ID_LEN])
{
    struct event ev;
    *why = "";
    herr e = event_parse(&ev, env, n, why);
    if (e)
        return e;
    if (id)
        memcpy(id, ev.id, HEARTH_ID_LEN);
    if (event_verify(&ev) != HERR_OK) {
        *why = "signature does not verify";
        return HERR_BAD_SIG;
    }
    if (event_check_forum(&ev, forum) != HERR_OK) {
        *why = "event of another forum";
        return HERR_WRONG_FORUM;
    }
    return HERR_OK;
}

/* must_judge - the event must get verdict `want`, or the case is not what it says. */
static void must_judge(const char *what, const uint8_t *env, size_t n,
                       const uint8_t forum[HEARTH_ID_LEN], herr want)
{
    const char *why;
    herr got = judge(env, n, forum, &why, NULL);
    if (got != want)
        die("self-check: %s: hearth's decoder says %s (%s), the case wants %s", what, herr_str(got),
            why, herr_str(want));
}

static void random_key(struct hkey *k)
{
    uint8_t seed[HEARTH_SEED_LEN];
    random_bytes(seed, sizeof seed);
    hkey_from_seed(k, seed);
    secret_wipe(seed, sizeof seed);
}

/* valid_profile - a new, valid profile event of a fresh author. */
static void valid_profile(struct raw *env, const uint8_t forum[HEARTH_ID_LEN], const char *name)
{
    struct hkey k;
    random_key(&k);
    struct evspec s = profile_spec;
    s.forum = forum;
    s.author = &k;
    s.name = name;
    ev_build(&s, env);
    hkey_wipe(&k);
}

/* ---- messages ---- */

static void msg_push(struct raw *out, const uint8_t *env, size_t n)
{
    raw_array(out, 2, 0);
    raw_uint(out, SYNC_PUSH, 0);
    raw_bin(out, env, n, 0);
}

/* msg_hello - an initiator's HELLO. caps: SYNC_CAP_*; count: the set size we claim. */
static void msg_hello(struct raw *out, uint64_t version, const uint8_t forum[HEARTH_ID_LEN],
                      uint64_t caps, uint64_t count)
{
    uint8_t fp[RECON_FP_LEN];
    random_bytes(fp, sizeof fp);
    raw_array(out, 8, 0);
    raw_uint(out, SYNC_HELLO, 0);
    raw_uint(out, version, 0);
    raw_bin(out, forum, SYNC_FORUM_TAG_LEN, 0);
    raw_uint(out, caps, 0);
    raw_uint(out, 20, 0);
    raw_uint(out, count, 0);
    raw_bin(out, fp, sizeof fp, 0);
    raw_uint(out, SYNC_PLAN_NONE, 0);
}

/* ---- the victim, the bundle and our sockets ---- */

struct ctx {
    void *zctx;
    uint8_t server[HEARTH_PK_LEN];
    char endpoint[256];
    char host[128];
    int port;
    uint8_t forum[HEARTH_ID_LEN];
    struct raw *events; /* the bundle's envelopes */
    size_t nevents;
    long count, hold_ms, conns;
    const char *out;
};

static void load_bundle(struct ctx *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    struct bundle_reader *r;
    const char *why = "";
    if (bundle_reader_new(&r, f, &why) != HERR_OK)
        die("%s: %s", path, why);
    memcpy(c->forum, bundle_forum(r), HEARTH_ID_LEN);
    size_t cap = 0;
    for (;;) {
        const uint8_t *env;
        size_t len;
        if (bundle_next(r, &env, &len, &why) != HERR_OK)
            die("%s: %s", path, why);
        if (!env)
            break;
        if (c->nevents == cap) {
            cap = cap ? 2 * cap : 64;
            c->events = realloc(c->events, cap * sizeof *c->events);
            if (!c->events)
                die("out of memory");
        }
        memset(&c->events[c->nevents], 0, sizeof c->events[0]);
        raw_put(&c->events[c->nevents++], env, len);
    }
    bundle_reader_destroy(&r);
    fclose(f);
}

static void setint(void *s, int opt, int v)
{
    if (zmq_setsockopt(s, opt, &v, sizeof v) != 0)
        die("setsockopt %d: %s", opt, zmq_strerror(zmq_errno()));
}

/* dealer - a CURVE DEALER to the victim with a fresh X25519 key (or the key of
 * `seed` when not NULL) and routing id rid (none when rid_len is 0). Messages are
 * queued only once the handshake is done, and a send gives up after 10 s. */
static void *dealer_with(struct ctx *c, const uint8_t *seed, const void *rid, size_t rid_len)
{
    uint8_t s[HEARTH_SEED_LEN], pk[HEARTH_PK_LEN], sk[32];
    if (seed)
        memcpy(s, seed, sizeof s);
    else
        random_bytes(s, sizeof s);
    nodekey_from_seed(pk, sk, s);
    void *d = zmq_socket(c->zctx, ZMQ_DEALER);
    if (!d)
        die("zmq_socket: %s", zmq_strerror(zmq_errno()));
    setint(d, ZMQ_LINGER, 2000);
    setint(d, ZMQ_IMMEDIATE, 1);
    setint(d, ZMQ_SNDTIMEO, 10000);
    setint(d, ZMQ_SNDHWM, 100000);
    setint(d, ZMQ_RCVHWM, 100000);
    zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, c->server, HEARTH_PK_LEN);
    zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, pk, HEARTH_PK_LEN);
    zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, sk, sizeof sk);
    if (rid_len && zmq_setsockopt(d, ZMQ_ROUTING_ID, rid, rid_len) != 0)
        die("routing id: %s", zmq_strerror(zmq_errno()));
    if (zmq_connect(d, c->endpoint) != 0)
        die("connect %s: %s", c->endpoint, zmq_strerror(zmq_errno()));
    secret_wipe(s, sizeof s);
    secret_wipe(sk, sizeof sk);
    return d;
}

static void *dealer(struct ctx *c)
{
    return dealer_with(c, NULL, NULL, 0);
}

static void close_sock(void **s)
{
    if (*s)
        zmq_close(*s);
    *s = NULL;
}

static bool send_msg(void *d, const void *p, size_t n, int flags)
{
    if (zmq_send(d, p, n, flags) < 0) {
        fail("send of %zu bytes: %s", n, zmq_strerror(zmq_errno()));
        return false;
    }
    return true;
}

static bool send_raw(void *d, const struct raw *r)
{
    return send_msg(d, r->p, r->n, 0);
}

/* recv_msg - the next message within timeout_ms into *out (reset first). */
static bool recv_msg(void *d, struct raw *out, int timeout_ms)
{
    zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
    out->n = 0;
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return false;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, d, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return false;
    }
    raw_put(out, zmq_msg_data(&m), zmq_msg_size(&m));
    zmq_msg_close(&m);
    return true;
}

/* recv_type - receive until a message of `type` (true), or timeout (false). Writes a
 * received ERROR's text into err (when not NULL). */
static bool recv_type(void *d, enum sync_type type, int timeout_ms, char *err, size_t errn)
{
    struct raw m = {0};
    uint64_t end = mono_ms() + (uint64_t)timeout_ms;
    bool found = false;
    while (!found && mono_ms() < end) {
        if (!recv_msg(d, &m, (int)(end - mono_ms())))
            break;
        struct sync_msg sm;
        const char *why;
        if (sync_msg_decode(&sm, m.p, m.n, &why) != HERR_OK)
            continue;
        if (sm.type == SYNC_ERROR && err)
            snprintf(err, errn, "%.*s", (int)sm.u.error.len, sm.u.error.text);
        found = sm.type == type;
    }
    raw_free(&m);
    return found;
}

/* recv_answer - wait for a HELLO or an ERROR. */
static bool recv_answer(void *d, int timeout_ms)
{
    struct raw m = {0};
    uint64_t end = mono_ms() + (uint64_t)timeout_ms;
    bool found = false;
    while (!found && mono_ms() < end && recv_msg(d, &m, (int)(end - mono_ms()))) {
        struct sync_msg sm;
        const char *why;
        found = sync_msg_decode(&sm, m.p, m.n, &why) == HERR_OK &&
                (sm.type == SYNC_HELLO || sm.type == SYNC_ERROR);
    }
    raw_free(&m);
    return found;
}

/* drain - wait until the victim has taken everything sent on d before now, so that
 * the test checks the case's whole effect (a flood of pushes is taken at the pace of
 * one transaction each). d must carry no session (pushes only): then a HELLO opens
 * one and is answered (or refused, by a victim that takes no sessions now: its disk
 * is full) only after everything before it on this connection was read. Gives up
 * after 120 s. Every case that pushes ends so before it closes the connection, not
 * after a fixed sleep that a loaded victim may outlast. */
static void drain(void *d, const uint8_t forum[HEARTH_ID_LEN])
{
    struct raw h = {0};
    msg_hello(&h, SYNC_VERSION, forum, SYNC_CAP_SEND, 5);
    if (!send_raw(d, &h) || !recv_answer(d, 120000))
        fail("the victim did not get through the queue within 120 s");
    raw_free(&h);
}

/* push_all - one PUSH per envelope on d. */
static size_t push_all(void *d, struct raw *envs, size_t n)
{
    size_t sent = 0;
    struct raw m = {0};
    for (size_t i = 0; i < n; i++) {
        m.n = 0;
        msg_push(&m, envs[i].p, envs[i].n);
        if (send_raw(d, &m))
            sent++;
    }
    raw_free(&m);
    return sent;
}

/* The victim's frame: sync messages above it are refused (node/node.h, NODE_FRAME). */
#define VICTIM_FRAME (1u << SYNC_MIN_FRAME_LOG2)

/* session_events - HELLO (we send, and take nothing), then EVENTS holding envs, then
 * DONE, on one connection: the path a sync session takes. Returns messages sent.
 * The EVENTS message must fit the victim's frame. */
static size_t session_events(struct ctx *c, struct raw *envs, size_t n)
{
    void *d = dealer(c);
    struct raw m = {0};
    size_t sent = 0;
    msg_hello(&m, SYNC_VERSION, c->forum, SYNC_CAP_SEND, 0);
    if (send_raw(d, &m))
        sent++;
    if (!recv_type(d, SYNC_HELLO, 5000, NULL, 0))
        fail("session: the victim did not answer our hello");
    m.n = 0;
    raw_array(&m, 2, 0);
    raw_uint(&m, SYNC_EVENTS, 0);
    raw_array(&m, n, 0);
    for (size_t i = 0; i < n; i++)
        raw_bin(&m, envs[i].p, envs[i].n, 0);
    if (send_raw(d, &m))
        sent++;
    m.n = 0;
    raw_array(&m, 1, 0);
    raw_uint(&m, SYNC_DONE, 0);
    if (send_raw(d, &m))
        sent++;
    /* Let the victim read it all before the socket goes. */
    recv_type(d, SYNC_DONE, 3000, NULL, 0);
    raw_free(&m);
    close_sock(&d);
    return sent;
}

/* one_shot_each - send each of msgs on its own connection and wait for the victim's
 * ERROR. With after_hello, a session is opened first (HELLO, answered), so that the
 * message is judged inside it: outside a session the victim answers anything but a
 * HELLO with "no session under way". Returns how many got an ERROR. */
static size_t one_shot_each(struct ctx *c, struct raw *msgs, size_t n, const char *what,
                            bool after_hello)
{
    size_t errors = 0;
    struct raw h = {0};
    msg_hello(&h, SYNC_VERSION, c->forum, SYNC_CAP_SEND, 5);
    for (size_t i = 0; i < n; i++) {
        void *d = dealer(c);
        char err[256] = "";
        if (after_hello && !(send_raw(d, &h) && recv_type(d, SYNC_HELLO, 3000, NULL, 0)))
            fail("%s #%zu: the session did not open", what, i);
        if (send_raw(d, &msgs[i]) && recv_type(d, SYNC_ERROR, 3000, err, sizeof err))
            errors++;
        else
            fail("%s #%zu (%zu bytes): no ERROR from the victim", what, i, msgs[i].n);
        close_sock(&d);
    }
    raw_free(&h);
    return errors;
}

static void free_all(struct raw *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        raw_free(&r[i]);
    free(r);
}

/* ---- event cases ---- */

/* send_bad_events - push each, and send them all again inside one session. */
static void send_bad_events(struct ctx *c, struct raw *envs, size_t n)
{
    void *d = dealer(c);
    size_t sent = push_all(d, envs, n);
    drain(d, c->forum);
    close_sock(&d);
    sent += session_events(c, envs, n);
    say("sent %zu", sent);
    say("valid 0");
    say("expect (0 new, %zu rejected)", n);
}

static int case_forged_sig(struct ctx *c)
{
    struct raw envs[8] = {0};
    struct hkey k;
    random_key(&k);
    for (int i = 0; i < 8; i++) {
        struct evspec s = profile_spec;
        s.forum = c->forum;
        s.author = &k;
        s.seq = (uint64_t)i + 1;
        s.flip_sig = true;
        ev_build(&s, &envs[i]);
        must_judge("forged signature", envs[i].p, envs[i].n, c->forum, HERR_BAD_SIG);
    }
    send_bad_events(c, envs, 8);
    say("expect rejected a pushed event: bad signature: signature does not verify");
    for (int i = 0; i < 8; i++)
        raw_free(&envs[i]);
    hkey_wipe(&k);
    return 0;
}

static int case_other_key(struct ctx *c)
{
    struct raw envs[8] = {0};
    struct hkey a, b;
    random_key(&a);
    random_key(&b);
    for (int i = 0; i < 8; i++) {
        struct evspec s = profile_spec;
        s.forum = c->forum;
        s.author = &a; /* the header names a... */
        s.signer = &b; /* ...and b signs it */
        s.seq = (uint64_t)i + 1;
        ev_build(&s, &envs[i]);
        must_judge("signature by another key", envs[i].p, envs[i].n, c->forum, HERR_BAD_SIG);
    }
    send_bad_events(c, envs, 8);
    say("expect rejected a pushed event: bad signature: signature does not verify");
    for (int i = 0; i < 8; i++)
        raw_free(&envs[i]);
    hkey_wipe(&a);
    hkey_wipe(&b);
    return 0;
}

static int case_other_forum(struct ctx *c)
{
    struct raw envs[3] = {0};
    uint8_t other[HEARTH_ID_LEN];
    random_bytes(other, sizeof other);
    struct hkey k;
    random_key(&k);
    struct evspec s = profile_spec;
    s.forum = other; /* a well-signed event of a forum that is not the victim's */
    s.author = &k;
    ev_build(&s, &envs[0]);
    must_judge("event of another forum", envs[0].p, envs[0].n, c->forum, HERR_WRONG_FORUM);
    struct evspec g = profile_spec; /* the genesis of another forum */
    g.kind = EK_GENESIS;
    g.author = &k;
    g.name = "a forum of our own";
    ev_build(&g, &envs[1]);
    must_judge("foreign genesis", envs[1].p, envs[1].n, c->forum, HERR_WRONG_FORUM);
    s.forum = other;
    s.seq = 2;
    s.name = "elsewhere";
    ev_build(&s, &envs[2]);
    send_bad_events(c, envs, 3);
    say("expect rejected a pushed event: wrong forum: event of another forum");
    /* A whole session that names another forum is refused at its HELLO. */
    void *d = dealer(c);
    struct raw m = {0};
    char err[256] = "";
    msg_hello(&m, SYNC_VERSION, other, SYNC_CAP_SEND | SYNC_CAP_RECV, 3);
    if (send_raw(d, &m) && recv_type(d, SYNC_ERROR, 3000, err, sizeof err))
        say("check a hello of another forum gets ERROR \"%s\"", err);
    else
        fail("a hello of another forum got no ERROR");
    say("expect the peer belongs to another forum");
    close_sock(&d);
    raw_free(&m);
    for (int i = 0; i < 3; i++)
        raw_free(&envs[i]);
    hkey_wipe(&k);
    return 0;
}

static int case_replay(struct ctx *c)
{
    if (c->nevents == 0)
        die("the bundle holds no events to replay");
    void *d = dealer(c);
    size_t sent = push_all(d, c->events, c->nevents);
    sent += push_all(d, c->events, c->nevents);
    drain(d, c->forum);
    close_sock(&d);
    /* And once more inside a session, in batches that fit a frame. */
    size_t at = 0;
    while (at < c->nevents) {
        size_t n = 0, bytes = 0;
        while (at + n < c->nevents && n < 2000 && bytes + c->events[at + n].n < VICTIM_FRAME - 4096)
            bytes += c->events[at + n++].n;
        sent += session_events(c, c->events + at, n);
        at += n;
    }
    say("sent %zu", sent);
    say("valid 0");
    say("expect (0 new, 0 rejected)");
    return 0;
}

static int case_fork(struct ctx *c)
{
    struct raw envs[3] = {0};
    struct hkey k;
    random_key(&k);
    struct evspec s = profile_spec;
    s.forum = c->forum;
    s.author = &k;
    s.seq = 1;
    s.name = "fork one";
    ev_build(&s, &envs[0]);
    s.name = "fork two"; /* the same author and seq, other content */
    ev_build(&s, &envs[1]);
    must_judge("fork one", envs[0].p, envs[0].n, c->forum, HERR_OK);
    must_judge("fork two", envs[1].p, envs[1].n, c->forum, HERR_OK);
    raw_put(&envs[2], envs[0].p, envs[0].n); /* and a replay of one side */
    void *d = dealer(c);
    size_t sent = push_all(d, envs, 3);
    drain(d, c->forum);
    close_sock(&d);
    say("sent %zu", sent);
    say("valid 2");
    say("forks 1");
    for (int i = 0; i < 3; i++)
        raw_free(&envs[i]);
    hkey_wipe(&k);
    return 0;
}

static int case_truncated_event(struct ctx *c)
{
    struct raw good = {0};
    valid_profile(&good, c->forum, "cut short");
    size_t n = good.n - 1;
    struct raw *envs = calloc(n, sizeof *envs);
    if (!envs)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        raw_put(&envs[i], good.p, i + 1);
        must_judge("truncated event", envs[i].p, envs[i].n, c->forum, HERR_MALFORMED);
    }
    void *d = dealer(c);
    size_t sent = push_all(d, envs, n);
    /* And the PUSH messages themselves cut short: the outer message is malformed. */
    struct raw m = {0};
    msg_push(&m, good.p, good.n);
    for (size_t cut = 2; cut < m.n; cut += 7)
        sent += send_msg(d, m.p, cut, 0);
    drain(d, c->forum);
    close_sock(&d);
    sent += session_events(c, envs, n);
    say("sent %zu", sent);
    say("valid 0");
    say("expect rejected a pushed event: malformed");
    say("expect rejected a push: push: envelope is not a bin");
    say("expect (0 new, %zu rejected)", n);
    raw_free(&m);
    raw_free(&good);
    free_all(envs, n);
    return 0;
}

static int case_noncanonical_event(struct ctx *c)
{
    enum { N = 7 };
    struct raw envs[N] = {0};
    struct hkey k;
    random_key(&k);
    struct evspec base = profile_spec;
    base.forum = c->forum;
    base.author = &k;
    struct evspec v[N];
    for (int i = 0; i < N; i++)
        v[i] = base, v[i].seq = (uint64_t)i + 1;
    v[0].env_array_width = 2;  /* the envelope as array16 */
    v[1].header_bin_width = 2; /* the header as bin16 */
    v[2].seq_width = 1;        /* seq as uint8, signed so: only the encoding is wrong */
    v[3].unsorted_body = true; /* body keys out of order (hashed and signed) */
    v[4].name = "\xc0\x80";    /* an overlong NUL in a str */
    v[4].name_len = 2;
    v[5].trailing = true; /* a byte after the envelope */
    v[6].seq = 300;       /* seq 300 as uint32 */
    v[6].seq_width = 4;
    herr want[N] = {HERR_NONCANONICAL, HERR_NONCANONICAL, HERR_NONCANONICAL, HERR_NONCANONICAL,
                    HERR_NONCANONICAL, HERR_MALFORMED,    HERR_NONCANONICAL};
    for (int i = 0; i < N; i++) {
        ev_build(&v[i], &envs[i]);
        must_judge("non-canonical event", envs[i].p, envs[i].n, c->forum, want[i]);
    }
    send_bad_events(c, envs, N);
    say("expect rejected a pushed event: non-canonical encoding");
    say("expect rejected a pushed event: malformed: trailing bytes after event");
    for (int i = 0; i < N; i++)
        raw_free(&envs[i]);
    hkey_wipe(&k);
    return 0;
}

static int case_unknown_kind(struct ctx *c)
{
    enum { N = 6 };
    struct raw envs[N] = {0};
    struct hkey k;
    random_key(&k);
    /* kinds above the known ones up to HEARTH_MAX_KIND are stored unread */
    uint64_t kinds[] = {0, HEARTH_MAX_KIND + 1, 65536, 0xffffffffULL};
    for (int i = 0; i < 4; i++) {
        struct evspec s = profile_spec;
        s.forum = c->forum;
        s.author = &k;
        s.seq = (uint64_t)i + 1;
        s.kind = kinds[i];
        ev_build(&s, &envs[i]);
        must_judge("unknown kind", envs[i].p, envs[i].n, c->forum, HERR_KIND);
    }
    /* Event format versions 2 and 0 (with version 1's layout and a valid signature). */
    for (int i = 4; i < N; i++) {
        struct evspec s = profile_spec;
        s.forum = c->forum;
        s.author = &k;
        s.seq = (uint64_t)i + 1;
        s.version = i == 4 ? 2 : 0;
        ev_build(&s, &envs[i]);
        must_judge("unknown event version", envs[i].p, envs[i].n, c->forum, HERR_VERSION);
    }
    send_bad_events(c, envs, N);
    say("expect rejected a pushed event: unknown event kind");
    say("expect rejected a pushed event: unknown version");
    for (int i = 0; i < N; i++)
        raw_free(&envs[i]);
    hkey_wipe(&k);
    return 0;
}

/* ---- wire cases ---- */

static int case_wire_truncated(struct ctx *c)
{
    struct raw hello = {0};
    msg_hello(&hello, SYNC_VERSION, c->forum, SYNC_CAP_SEND | SYNC_CAP_RECV, 5);
    size_t n = hello.n - 1;
    struct raw *msgs = calloc(n, sizeof *msgs);
    if (!msgs)
        die("out of memory");
    for (size_t i = 0; i < n; i++)
        raw_put(&msgs[i], hello.p, i + 1);
    size_t errors = one_shot_each(c, msgs, n, "truncated hello", false);
    say("sent %zu", n);
    say("valid 0");
    say("check %zu of %zu truncated hellos answered with ERROR", errors, n);
    say("expect bad message from the peer: malformed");
    raw_free(&hello);
    free_all(msgs, n);
    return 0;
}

static int case_wire_noncanonical(struct ctx *c)
{
    enum { N = 5 };
    struct raw m[N] = {0};
    uint8_t fp[RECON_FP_LEN] = {0};
    for (int i = 0; i < N; i++) {
        raw_array(&m[i], 8, i == 0 ? 2 : 0);           /* 0: the message array as array16 */
        raw_uint(&m[i], SYNC_HELLO, i == 1 ? 1 : 0);   /* 1: the type as uint8 */
        raw_uint(&m[i], SYNC_VERSION, i == 2 ? 8 : 0); /* 2: the version as uint64 */
        raw_bin(&m[i], c->forum, SYNC_FORUM_TAG_LEN, i == 3 ? 2 : 0); /* 3: bin16 */
        raw_uint(&m[i], 3, 0);
        raw_uint(&m[i], 20, 0);
        raw_uint(&m[i], 5, i == 4 ? 2 : 0); /* 4: the count as uint16 */
        raw_bin(&m[i], fp, sizeof fp, 0);
        raw_uint(&m[i], 0, 0);
    }
    size_t errors = one_shot_each(c, m, N, "non-canonical hello", false);
    say("sent %d", N);
    say("valid 0");
    say("check %zu of %d non-canonical hellos answered with ERROR", errors, N);
    say("expect bad message from the peer: non-canonical encoding");
    for (int i = 0; i < N; i++)
        raw_free(&m[i]);
    return 0;
}

/* case_unknown_type - inside a session (after a HELLO): unknown message types, a
 * protocol version of 0 (as a HELLO of its own), a malformed ERROR. */
static int case_unknown_type(struct ctx *c)
{
    enum { N = 5 };
    struct raw m[N] = {0};
    raw_array(&m[0], 1, 0), raw_uint(&m[0], 42, 0);
    raw_array(&m[1], 1, 0), raw_uint(&m[1], 0, 0);
    raw_array(&m[2], 2, 0), raw_uint(&m[2], 0xffffffffffffffffULL, 0), raw_nil(&m[2]);
    raw_array(&m[3], 3, 0), raw_uint(&m[3], SYNC_ERROR, 0), raw_uint(&m[3], 7, 0);
    raw_byte(&m[3], 0xc4), raw_byte(&m[3], 0); /* an ERROR whose text is a bin */
    raw_array(&m[4], 2, 0), raw_uint(&m[4], SYNC_DONE, 0), raw_nil(&m[4]); /* DONE, 2 fields */
    size_t errors = one_shot_each(c, m, N, "unknown message type", true);
    struct raw v0 = {0};
    msg_hello(&v0, 0, c->forum, 3, 5); /* protocol version 0 */
    errors += one_shot_each(c, &v0, 1, "hello of version 0", false);
    say("sent %d", 2 * N + 2);
    say("valid 0");
    say("check %zu of %d unknown types, versions and malformed messages answered with ERROR",
        errors, N + 1);
    say("expect bad message from the peer: protocol error: unknown message type");
    say("expect bad message from the peer: malformed: error: text is not a str");
    say("expect bad message from the peer: unknown version: hello: protocol version 0");
    /* A well-formed ERROR ends a session and is never answered (no ping-pong). */
    void *e = dealer(c);
    struct raw h = {0}, r = {0};
    msg_hello(&h, SYNC_VERSION, c->forum, SYNC_CAP_SEND, 5);
    struct raw er = {0};
    raw_array(&er, 3, 0), raw_uint(&er, SYNC_ERROR, 0), raw_uint(&er, HERR_PROTOCOL, 0);
    raw_str(&er, "you first", 9);
    if (send_raw(e, &h) && recv_type(e, SYNC_HELLO, 3000, NULL, 0) && send_raw(e, &er) &&
        recv_type(e, SYNC_ERROR, 1000, NULL, 0))
        fail("a well-formed ERROR from us was answered with an ERROR");
    else
        say("check a well-formed ERROR is not answered");
    close_sock(&e);
    /* A HELLO of a later version is answered, in version 1. */
    void *d = dealer(c);
    h.n = 0;
    msg_hello(&h, 7, c->forum, 3, 5);
    bool answered = false;
    if (send_raw(d, &h)) {
        uint64_t end = mono_ms() + 3000;
        while (!answered && mono_ms() < end && recv_msg(d, &r, 3000)) {
            struct sync_msg sm;
            const char *why;
            if (sync_msg_decode(&sm, r.p, r.n, &why) == HERR_OK && sm.type == SYNC_HELLO)
                answered = sm.u.hello.version == SYNC_VERSION;
        }
    }
    if (answered)
        say("check a hello of version 7 is answered with a version-1 hello");
    else
        fail("a hello of version 7 was not answered with a version-1 hello");
    close_sock(&d);
    raw_free(&h);
    raw_free(&r);
    raw_free(&er);
    raw_free(&v0);
    for (int i = 0; i < N; i++)
        raw_free(&m[i]);
    return 0;
}

/* case_no_session - messages that are not a HELLO, from a peer with no session: each
 * is answered with an ERROR, and the refusal must be in the log. */
static int case_no_session(struct ctx *c)
{
    enum { N = 6 };
    struct raw m[N] = {0};
    raw_array(&m[0], 1, 0), raw_uint(&m[0], 42, 0);        /* unknown type */
    raw_array(&m[1], 1, 0), raw_uint(&m[1], SYNC_DONE, 0); /* DONE first */
    raw_array(&m[2], 3, 0), raw_uint(&m[2], SYNC_WANT, 0), raw_byte(&m[2], 0xc3);
    raw_bin_head(&m[2], 16, 1), raw_put(&m[2], "0123456789abcdef", 16); /* WANT first */
    raw_byte(&m[3], 0xc1);                                              /* not msgpack */
    for (int i = 0; i < 1000; i++)                                      /* nested, no type */
        raw_array(&m[4], 1, 0);
    raw_nil(&m[4]);
    raw_array(&m[5], 2, 0), raw_uint(&m[5], SYNC_EVENTS, 0), raw_array(&m[5], 0xffffffffULL, 4);
    size_t errors = one_shot_each(c, m, N, "message outside a session", false);
    say("sent %d", N);
    say("valid 0");
    say("check %zu of %d messages outside a session answered with ERROR", errors, N);
    say("expect-re outside a session|no session|before (a|its) hello");
    for (int i = 0; i < N; i++)
        raw_free(&m[i]);
    return 0;
}

/* case_push_in_session - a PUSH of a valid event inside an open session (after our
 * HELLO was answered): refused with ERROR 19 (HERR_PROTOCOL), which ends the session,
 * and not stored (docs/PROTOCOL.md, 7.10). */
static int case_push_in_session(struct ctx *c)
{
    struct raw env = {0}, h = {0}, m = {0}, r = {0};
    valid_profile(&env, c->forum, "pushed inside a session");
    void *d = dealer(c);
    msg_hello(&h, SYNC_VERSION, c->forum, SYNC_CAP_SEND, 5);
    if (!(send_raw(d, &h) && recv_type(d, SYNC_HELLO, 5000, NULL, 0)))
        fail("the session did not open");
    msg_push(&m, env.p, env.n);
    bool sent = send_raw(d, &m);
    say("sent %d", sent ? 1 : 0);
    say("valid 0");
    say("expect a push inside a session");
    uint64_t code = 0;
    char text[256] = "";
    uint64_t end = mono_ms() + 5000;
    while (!code && mono_ms() < end && recv_msg(d, &r, (int)(end - mono_ms()))) {
        struct sync_msg sm;
        const char *why;
        if (sync_msg_decode(&sm, r.p, r.n, &why) == HERR_OK && sm.type == SYNC_ERROR) {
            code = sm.u.error.code;
            snprintf(text, sizeof text, "%.*s", (int)sm.u.error.len, sm.u.error.text);
        }
    }
    if (code == HERR_PROTOCOL)
        say("check a push inside a session got ERROR %llu \"%s\"", (unsigned long long)code, text);
    else if (code)
        fail("a push inside a session got ERROR %llu \"%s\", not %d", (unsigned long long)code,
             text, HERR_PROTOCOL);
    else
        fail("a push inside a session got no ERROR within 5 s (taken silently?)");
    close_sock(&d);
    raw_free(&env), raw_free(&h), raw_free(&m), raw_free(&r);
    return 0;
}

/* zmsg - a ZEVENTS stating `size`, holding the zstd frame of content[0..n). */
static void zmsg(struct raw *out, uint64_t size, const void *content, size_t n)
{
    size_t cap = ZSTD_compressBound(n);
    uint8_t *z = malloc(cap);
    if (!z)
        die("out of memory");
    size_t zn = ZSTD_compress(z, cap, content, n, 19);
    if (ZSTD_isError(zn))
        die("zstd: %s", ZSTD_getErrorName(zn));
    raw_array(out, 3, 0);
    raw_uint(out, SYNC_ZEVENTS, 0);
    raw_uint(out, size, 0);
    raw_bin(out, z, zn, 0);
    free(z);
}

/* zbomb_one - open a session offering compression, send m, and wait for the ERROR:
 * its code must be `code`. */
static void zbomb_one(struct ctx *c, const struct raw *m, uint64_t code, const char *what)
{
    struct raw h = {0}, r = {0};
    void *d = dealer(c);
    msg_hello(&h, SYNC_VERSION, c->forum, SYNC_CAP_SEND | SYNC_CAP_RECV | SYNC_CAP_ZSTD, 5);
    if (!(send_raw(d, &h) && recv_type(d, SYNC_HELLO, 5000, NULL, 0)))
        fail("%s: the session did not open", what);
    uint64_t got = 0;
    char text[256] = "";
    if (send_raw(d, m)) {
        uint64_t end = mono_ms() + 5000;
        while (!got && mono_ms() < end && recv_msg(d, &r, (int)(end - mono_ms()))) {
            struct sync_msg sm;
            const char *why;
            if (sync_msg_decode(&sm, r.p, r.n, &why) == HERR_OK && sm.type == SYNC_ERROR) {
                got = sm.u.error.code;
                snprintf(text, sizeof text, "%.*s", (int)sm.u.error.len, sm.u.error.text);
            }
        }
    }
    if (got == code)
        say("check %s (%zu bytes) got ERROR %llu \"%s\"", what, m->n, (unsigned long long)got,
            text);
    else
        fail("%s got ERROR %llu \"%s\", not %llu", what, (unsigned long long)got, text,
             (unsigned long long)code);
    close_sock(&d);
    raw_free(&h), raw_free(&r);
}

/* case_zbomb - compressed events that would make the victim allocate more than a
 * frame: a frame of 1 MiB of zeros (a few dozen bytes) stated as 1 MiB and as 1000
 * bytes, a frame that does not state its size, garbage; and a compressed message that
 * is not EVENTS. Each ends its session with an ERROR of the right code; then a valid
 * event, compressed, is taken (docs/PROTOCOL.md 7.11). */
static int case_zbomb(struct ctx *c)
{
    size_t big = 1u << 20;
    uint8_t *zeros = calloc(1, big);
    if (!zeros)
        die("out of memory");
    struct raw m[5] = {0};
    zmsg(&m[0], big, zeros, big);
    zmsg(&m[1], 1000, zeros, big);
    /* A frame with no content size: zstd's streaming API, never told the size. */
    {
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        uint8_t z[4096];
        ZSTD_outBuffer ob = {z, sizeof z, 0};
        ZSTD_inBuffer ib = {zeros, 100000, 0};
        /* Input first, the end apart: told all at once, zstd would state the size. */
        if (!cc || ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)) ||
            ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end) != 0 ||
            ZSTD_getFrameContentSize(z, ob.pos) != ZSTD_CONTENTSIZE_UNKNOWN)
            die("zstd streaming failed");
        ZSTD_freeCCtx(cc);
        raw_array(&m[2], 3, 0), raw_uint(&m[2], SYNC_ZEVENTS, 0), raw_uint(&m[2], 100000, 0);
        raw_bin(&m[2], z, ob.pos, 0);
    }
    raw_array(&m[3], 3, 0), raw_uint(&m[3], SYNC_ZEVENTS, 0), raw_uint(&m[3], 5000, 0);
    static const char junk[] = "\x28\xb5\x2f\xfd garbage, not a frame";
    raw_bin(&m[3], junk, sizeof junk - 1, 0);
    struct raw done = {0};
    raw_array(&done, 1, 0), raw_uint(&done, SYNC_DONE, 0);
    zmsg(&m[4], done.n, done.p, done.n);
    zbomb_one(c, &m[0], HERR_TOO_LARGE, "1 MiB of zeros stated as 1 MiB");
    zbomb_one(c, &m[1], HERR_TOO_LARGE, "1 MiB of zeros stated as 1000 bytes");
    zbomb_one(c, &m[2], HERR_MALFORMED, "a frame that does not state its size");
    zbomb_one(c, &m[3], HERR_MALFORMED, "garbage stated as 5000 bytes");
    zbomb_one(c, &m[4], HERR_PROTOCOL, "a compressed DONE");
    say("expect compressed events larger than our frame once decompressed");
    say("expect compressed events do not state their size");
    say("expect compressed message that is not events");
    /* A valid event, compressed: taken. */
    struct raw env = {0}, ev = {0}, z = {0}, h = {0};
    valid_profile(&env, c->forum, "compressed and welcome");
    raw_array(&ev, 2, 0), raw_uint(&ev, SYNC_EVENTS, 0), raw_array(&ev, 1, 0);
    raw_bin(&ev, env.p, env.n, 0);
    zmsg(&z, ev.n, ev.p, ev.n);
    void *d = dealer(c);
    msg_hello(&h, SYNC_VERSION, c->forum, SYNC_CAP_SEND | SYNC_CAP_RECV | SYNC_CAP_ZSTD, 5);
    bool sent = send_raw(d, &h) && recv_type(d, SYNC_HELLO, 5000, NULL, 0) && send_raw(d, &z);
    if (!sent)
        fail("a valid compressed event could not be sent");
    say("sent %d", 5 + (sent ? 1 : 0));
    say("valid %d", sent ? 1 : 0);
    /* Wait for the victim to take it before hanging up: its answer to our DONE. */
    struct raw dn = {0};
    raw_array(&dn, 1, 0), raw_uint(&dn, SYNC_DONE, 0);
    if (sent && send_raw(d, &dn) && recv_type(d, SYNC_DONE, 5000, NULL, 0))
        say("check a valid compressed event was taken and the session ended with DONE");
    close_sock(&d);
    raw_free(&env), raw_free(&ev), raw_free(&z), raw_free(&h), raw_free(&dn), raw_free(&done);
    for (int i = 0; i < 5; i++)
        raw_free(&m[i]);
    free(zeros);
    return 0;
}

static int case_huge_counts(struct ctx *c)
{
    enum { N = 9 };
    struct raw m[N] = {0};
    /* 0: a message array that claims 4 G elements */
    raw_array(&m[0], 0xffffffffULL, 4), raw_uint(&m[0], SYNC_HELLO, 0);
    /* 1: EVENTS claiming the most envelopes allowed, holding none */
    raw_array(&m[1], 2, 0), raw_uint(&m[1], SYNC_EVENTS, 0);
    raw_array(&m[1], SYNC_MAX_EVENTS_PER_MSG, 0);
    /* 2: EVENTS claiming 4 G envelopes */
    raw_array(&m[2], 2, 0), raw_uint(&m[2], SYNC_EVENTS, 0), raw_array(&m[2], 0xffffffffULL, 4);
    /* 3: a PUSH whose bin claims 4 GB */
    raw_array(&m[3], 2, 0), raw_uint(&m[3], SYNC_PUSH, 0), raw_bin_head(&m[3], 0xffffffffULL, 4);
    /* 4: IDS whose key list claims 4 GB */
    raw_array(&m[4], 3, 0), raw_uint(&m[4], SYNC_IDS, 0), raw_byte(&m[4], 0xc3);
    raw_bin_head(&m[4], 0xfffffff0ULL, 4);
    /* 5: a HELLO that claims more events than any forum may hold */
    msg_hello(&m[5], SYNC_VERSION, c->forum, 3, SYNC_MAX_SET_COUNT + 1);
    /* 6: SYMBOLS starting far beyond the last symbol */
    raw_array(&m[6], 5, 0), raw_uint(&m[6], SYNC_SYMBOLS, 0), raw_uint(&m[6], 0xffffffffULL, 0);
    raw_byte(&m[6], 0xc3), raw_bin_head(&m[6], 0, 1), raw_bin_head(&m[6], 0, 1);
    /* 7: MORE asking for 4 G symbols */
    raw_array(&m[7], 3, 0), raw_uint(&m[7], SYNC_MORE, 0), raw_uint(&m[7], 0xffffffffULL, 0);
    raw_uint(&m[7], 0xffffffffULL, 0);
    /* 8: an ERROR whose text claims 4 GB */
    raw_array(&m[8], 3, 0), raw_uint(&m[8], SYNC_ERROR, 0), raw_uint(&m[8], 1, 0);
    raw_byte(&m[8], 0xdb), raw_be(&m[8], 0xffffffffULL, 4);
    /* Each on its own connection, inside a session (a HELLO first; the HELLO that
     * claims too much is a HELLO of its own); all but the PUSH (3) are answered with
     * an ERROR. */
    size_t errors = 0, sent = 0;
    struct raw hello = {0};
    msg_hello(&hello, SYNC_VERSION, c->forum, SYNC_CAP_SEND, 5);
    for (int i = 0; i < N; i++) {
        void *d = dealer(c);
        char err[256] = "";
        if (i != 5 && i != 0 && i != 3) {
            sent += send_raw(d, &hello);
            if (!recv_type(d, SYNC_HELLO, 3000, NULL, 0))
                fail("huge count #%d: the session did not open", i);
        }
        sent += send_raw(d, &m[i]);
        if (i == 3) { /* a push gets no answer */
            drain(d, c->forum);
            close_sock(&d);
            continue;
        }
        if (!recv_type(d, SYNC_ERROR, 3000, err, sizeof err))
            fail("huge count #%d: no ERROR from the victim", i);
        else
            errors++;
        close_sock(&d);
    }
    raw_free(&hello);
    /* A HELLO with the largest count allowed goes on, and costs the victim no more
     * than listing its own ids. */
    void *d = dealer(c);
    struct raw h = {0};
    msg_hello(&h, SYNC_VERSION, c->forum, 3, SYNC_MAX_SET_COUNT);
    sent += send_raw(d, &h);
    if (!recv_type(d, SYNC_HELLO, 3000, NULL, 0))
        fail("a hello claiming 2^40 events got no hello back");
    sleep_ms(500);
    close_sock(&d);
    raw_free(&h);
    say("sent %zu", sent);
    say("valid 0");
    say("check %zu of %d huge declared counts answered with ERROR", errors, N - 1);
    say("expect bad message from the peer: too large");
    say("expect bad message from the peer: malformed: events: bad envelope array");
    say("expect rejected a push: push: envelope is not a bin of at most the event size");
    say("expect hello: set count too large");
    for (int i = 0; i < N; i++)
        raw_free(&m[i]);
    return 0;
}

static int case_deep_nesting(struct ctx *c)
{
    enum { N = 4 };
    struct raw m[N] = {0};
    /* 0: 100000 nested one-element arrays (within the victim's frame) */
    for (int i = 0; i < 100000; i++)
        raw_array(&m[0], 1, 0);
    raw_uint(&m[0], 1, 0);
    /* 1: a HELLO whose ninth (later) field nests 1000 deep */
    uint8_t fp[RECON_FP_LEN] = {0};
    raw_array(&m[1], 9, 0);
    raw_uint(&m[1], SYNC_HELLO, 0), raw_uint(&m[1], 1, 0);
    raw_bin(&m[1], c->forum, SYNC_FORUM_TAG_LEN, 0);
    raw_uint(&m[1], 3, 0), raw_uint(&m[1], 20, 0), raw_uint(&m[1], 5, 0);
    raw_bin(&m[1], fp, sizeof fp, 0), raw_uint(&m[1], 0, 0);
    for (int i = 0; i < 1000; i++)
        raw_array(&m[1], 1, 0);
    raw_nil(&m[1]);
    /* 2: a HELLO with 24 later fields, each a wide array of nils (as much work as fits
     * the victim's 128 KiB frame) */
    raw_array(&m[2], 32, 0);
    raw_uint(&m[2], SYNC_HELLO, 0), raw_uint(&m[2], 1, 0);
    raw_bin(&m[2], c->forum, SYNC_FORUM_TAG_LEN, 0);
    raw_uint(&m[2], 3, 0), raw_uint(&m[2], 20, 0), raw_uint(&m[2], 5, 0);
    raw_bin(&m[2], fp, sizeof fp, 0), raw_uint(&m[2], 0, 0);
    for (int i = 0; i < 24; i++) {
        raw_array(&m[2], 5000, 0);
        for (int j = 0; j < 5000; j++)
            raw_nil(&m[2]);
    }
    /* 3: a map-in-map-in-map as the message */
    for (int i = 0; i < 50000; i++)
        raw_map(&m[3], 1), raw_nil(&m[3]);
    raw_nil(&m[3]);
    size_t errors = one_shot_each(c, m, 2, "deeply nested message", true);
    /* The wide HELLO is well-formed and within the limits: it is answered with a HELLO. */
    void *d = dealer(c);
    if (!send_raw(d, &m[2]) || !recv_type(d, SYNC_HELLO, 5000, NULL, 0))
        fail("a hello with wide later fields got no hello back");
    close_sock(&d);
    errors += one_shot_each(c, &m[3], 1, "nested maps", true);
    /* An event whose body holds a 64-deep array under an unknown key. */
    struct raw ev = {0};
    struct hkey k;
    random_key(&k);
    struct evspec s = profile_spec;
    s.forum = c->forum;
    s.author = &k;
    s.nested_body = true;
    ev_build(&s, &ev);
    must_judge("nested body", ev.p, ev.n, c->forum, HERR_MALFORMED);
    d = dealer(c);
    size_t sent = 4 + push_all(d, &ev, 1);
    drain(d, c->forum);
    close_sock(&d);
    say("sent %zu", sent);
    say("valid 0");
    say("check %zu of 3 deeply nested messages answered with ERROR", errors);
    say("expect hello: bad later field");
    say("expect rejected a pushed event: malformed: unknown body field is not a scalar");
    raw_free(&ev);
    hkey_wipe(&k);
    for (int i = 0; i < N; i++)
        raw_free(&m[i]);
    return 0;
}

/* case_oversize - frames above the cap are cut off by libzmq (ZMQ_MAXMSGSIZE), which
 * drops the connection (frame-limit checks the frames at the cap). */
static int case_oversize(struct ctx *c)
{
    size_t sizes[] = {HEARTH_MAX_FRAME + 1, 4u << 20, 64u << 20};
    size_t sent = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *d = dealer(c);
        /* A PUSH of a giant bin: valid framing, so only the size is wrong. */
        struct raw m = {0};
        raw_array(&m, 2, 0), raw_uint(&m, SYNC_PUSH, 0);
        raw_bin_head(&m, sizes[i] - m.n - 5, 4);
        size_t body = sizes[i] - m.n;
        uint8_t *fill = calloc(1, body);
        if (!fill)
            die("out of memory");
        raw_put(&m, fill, body);
        free(fill);
        if (m.n != sizes[i])
            die("oversize: built %zu bytes, wanted %zu", m.n, sizes[i]);
        sent += send_raw(d, &m);
        /* The victim must hang up: a second message on this connection goes nowhere,
         * and the victim does not answer it. */
        struct raw h = {0};
        msg_hello(&h, SYNC_VERSION, c->forum, 3, 5);
        zmq_send(d, h.p, h.n, ZMQ_DONTWAIT);
        if (recv_type(d, SYNC_HELLO, 1500, NULL, 0))
            fail("after a %zu-byte frame the connection still carried a session", sizes[i]);
        else
            say("check a %zu-byte frame ends the connection", sizes[i]);
        raw_free(&h);
        raw_free(&m);
        zmq_setsockopt(d, ZMQ_LINGER, &(int){0}, sizeof(int));
        close_sock(&d);
    }
    say("sent %zu", sent);
    say("valid 0");
    say("expect-re too large|oversize|frame limit|above the frame");
    return 0;
}

/* frame_ok - whether a PUSH frame of exactly `size` bytes reaches the victim with the
 * connection intact (a HELLO after it is answered). */
static bool frame_ok(struct ctx *c, size_t size)
{
    void *d = dealer(c);
    struct raw m = {0}, h = {0};
    raw_array(&m, 2, 0), raw_uint(&m, SYNC_PUSH, 0);
    raw_bin_head(&m, size - 7, 4);
    uint8_t *fill = calloc(1, size - 7);
    if (!fill)
        die("out of memory");
    raw_put(&m, fill, size - 7);
    free(fill);
    msg_hello(&h, SYNC_VERSION, c->forum, 3, 5);
    bool ok = send_raw(d, &m) && send_raw(d, &h) && recv_type(d, SYNC_HELLO, 1500, NULL, 0);
    zmq_setsockopt(d, ZMQ_LINGER, &(int){0}, sizeof(int));
    close_sock(&d);
    raw_free(&m);
    raw_free(&h);
    return ok;
}

/* case_frame_limit - the largest frame the victim takes, found by bisection. */
static int case_frame_limit(struct ctx *c)
{
    size_t lo = 1024, hi = HEARTH_MAX_FRAME + 1; /* lo passes, hi fails */
    if (!frame_ok(c, lo))
        die("a %zu-byte frame did not pass", lo);
    if (frame_ok(c, hi))
        die("a %zu-byte frame passed", hi);
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (frame_ok(c, mid))
            lo = mid;
        else
            hi = mid;
    }
    say("check the largest frame taken is %zu bytes (HEARTH_MAX_FRAME is %d)", lo,
        HEARTH_MAX_FRAME);
    say("sent 0");
    say("valid 0");
    if (lo != HEARTH_MAX_FRAME)
        fail("frames of %zu..%d bytes, within the cap, end the connection", lo + 1,
             HEARTH_MAX_FRAME);
    return 0;
}

static int case_multipart(struct ctx *c)
{
    void *d = dealer(c);
    struct raw ev = {0}, push = {0};
    valid_profile(&ev, c->forum, "in pieces");
    msg_push(&push, ev.p, ev.n);
    int parts[] = {2, 3, 100};
    size_t sent = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        /* A valid PUSH split in frames: the node takes single-frame messages only. */
        size_t step = push.n / (size_t)parts[i] + 1;
        for (int p = 0; p < parts[i]; p++) {
            size_t at = (size_t)p * step < push.n ? (size_t)p * step : push.n;
            size_t len = at + step < push.n ? step : push.n - at;
            send_msg(d, push.p + at, len, p + 1 < parts[i] ? ZMQ_SNDMORE : 0);
        }
        sent++;
        /* And the same PUSH whole, as frame one, with trailing frames. */
        send_msg(d, push.p, push.n, ZMQ_SNDMORE);
        send_msg(d, "", 0, 0);
        sent++;
    }
    drain(d, c->forum);
    close_sock(&d);
    say("sent %zu", sent);
    say("valid 0");
    say("expect transport: dropped a 2-part message");
    say("expect transport: dropped a 100-part message");
    raw_free(&ev);
    raw_free(&push);
    return 0;
}

/* ---- floods ---- */

static int case_flood_valid(struct ctx *c)
{
    long n = c->count ? c->count : 10000;
    struct raw *envs = calloc((size_t)n, sizeof *envs);
    if (!envs)
        die("out of memory");
    for (long i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "flood %ld", i);
        valid_profile(&envs[i], c->forum, name);
    }
    const char *idfile = getenv("HOSTILE_IDS");
    FILE *idf = idfile ? fopen(idfile, "w") : NULL;
    for (long i = 0; idf && i < n; i++) {
        uint8_t id[HEARTH_ID_LEN];
        char hex[2 * HEARTH_ID_LEN + 1];
        const char *why;
        (void)judge(envs[i].p, envs[i].n, c->forum, &why, id);
        hex_encode(hex, id, HEARTH_ID_LEN);
        fprintf(idf, "%s\n", hex);
    }
    if (idf)
        fclose(idf);
    void *d = dealer(c);
    say("ready");
    uint64_t t0 = mono_ms();
    size_t sent = push_all(d, envs, (size_t)n);
    uint64_t t1 = mono_ms();
    drain(d, c->forum);
    uint64_t t2 = mono_ms();
    close_sock(&d);
    say("sent %zu", sent);
    say("valid %zu", sent);
    say("check %zu valid pushes queued in %llu ms, taken in %llu ms", sent,
        (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t0));
    free_all(envs, (size_t)n);
    return 0;
}

static int case_flood_invalid(struct ctx *c)
{
    long n = c->count ? c->count : 10000;
    struct raw forged = {0}, fpush = {0}, trunc = {0}, hello = {0}, junk = {0};
    struct hkey k;
    random_key(&k);
    struct evspec s = profile_spec;
    s.forum = c->forum;
    s.author = &k;
    s.flip_sig = true;
    ev_build(&s, &forged);
    msg_push(&fpush, forged.p, forged.n);
    raw_put(&trunc, fpush.p, fpush.n / 2);
    msg_hello(&hello, 0, c->forum, 3, 5);
    uint8_t garbage[512];
    random_bytes(garbage, sizeof garbage);
    raw_put(&junk, garbage, sizeof garbage);
    /* Pushes on one connection, everything else on another: the first never opens
     * a session, so it can be drained. */
    void *p = dealer(c), *q = dealer(c);
    say("ready");
    size_t sent = 0;
    uint64_t t0 = mono_ms();
    for (long i = 0; i < n; i++) {
        bool push = i % 4 < 2;
        const struct raw *r = i % 4 == 0   ? &fpush
                              : i % 4 == 1 ? &trunc
                              : i % 4 == 2 ? &hello
                                           : &junk;
        void *d = push ? p : q;
        if (i % 97 == 0) /* now and then a multipart message */
            send_msg(d, r->p, r->n, ZMQ_SNDMORE);
        sent += send_raw(d, r);
    }
    /* Last, one valid event: once it is stored, every push before it was taken. */
    struct raw mark = {0}, mpush = {0};
    valid_profile(&mark, c->forum, "end of the flood");
    msg_push(&mpush, mark.p, mark.n);
    sent += send_raw(p, &mpush);
    raw_free(&mark);
    raw_free(&mpush);
    uint64_t t1 = mono_ms();
    drain(p, c->forum);
    uint64_t t2 = mono_ms();
    close_sock(&p);
    close_sock(&q);
    say("sent %zu", sent);
    say("valid 1");
    say("check %zu invalid messages queued in %llu ms, taken in %llu ms", sent,
        (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t0));
    say("expect rejected a pushed event: bad signature");
    say("expect rejected a push:");
    raw_free(&forged);
    raw_free(&fpush);
    raw_free(&trunc);
    raw_free(&hello);
    raw_free(&junk);
    hkey_wipe(&k);
    return 0;
}

/* ---- connections that never finish the handshake ---- */

static int tcp_connect(struct ctx *c)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    if (inet_pton(AF_INET, c->host, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* closed_by_peer - true when the other side has closed fd (EOF or reset). */
static bool closed_by_peer(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return true;
        if (r < 0)
            return false;
    }
}

static int case_no_handshake(struct ctx *c)
{
    long n = c->conns ? c->conns : 200;
    int *fds = xmalloc((size_t)n * sizeof *fds);
    long opened = 0;
    /* A ZMTP 3.0 greeting asking for CURVE, then silence. */
    uint8_t greeting[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'C', 'U', 'R', 'V', 'E'};
    for (long i = 0; i < n; i++) {
        fds[i] = tcp_connect(c);
        if (fds[i] < 0)
            continue;
        opened++;
        switch (i % 4) {
        case 0: /* nothing at all */
            break;
        case 1: { /* garbage */
            uint8_t junk[1024];
            random_bytes(junk, sizeof junk);
            junk[0] = 0x42;
            (void)!write(fds[i], junk, sizeof junk);
            break;
        }
        case 2: /* a greeting, then silence */
            (void)!write(fds[i], greeting, sizeof greeting);
            break;
        case 3: /* half a signature */
            (void)!write(fds[i], greeting, 5);
            break;
        }
    }
    say("sent %ld", opened);
    say("valid 0");
    say("expect-re handshake|greeting|not a hearth peer");
    say("ready");
    sleep_ms((int)(c->hold_ms ? c->hold_ms : 3000));
    /* The node must drop every one of them by itself within its handshake limit
     * (10 s, ZMQ_HANDSHAKE_IVL); wait up to 12 s from the start. */
    long closed = 0;
    uint64_t end = mono_ms() + 12000 - (uint64_t)(c->hold_ms ? c->hold_ms : 3000);
    bool *done = calloc((size_t)n, sizeof *done);
    if (!done)
        die("out of memory");
    while (closed < opened && mono_ms() < end) {
        for (long i = 0; i < n; i++)
            if (fds[i] >= 0 && !done[i] && closed_by_peer(fds[i]))
                done[i] = true, closed++;
        if (closed < opened)
            sleep_ms(200);
    }
    if (closed == opened)
        say("check the node closed all %ld stalled or garbage connections by itself", opened);
    else
        fail("the node left %ld of %ld stalled connections open after 12 s", opened - closed,
             opened);
    for (long i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    free(done);
    return 0;
}

/* ---- ROUTER pitfalls ---- */

/* A DEALER that says HELLO and gets the victim's HELLO back. With bye, it then ends
 * the session with an ERROR, as a polite peer that gives up would; without, it
 * leaves the session open. */
static void *hello_dealer(struct ctx *c, const uint8_t *seed, const void *rid, size_t rid_len,
                          bool bye, bool *answered)
{
    void *d = dealer_with(c, seed, rid, rid_len);
    struct raw h = {0};
    msg_hello(&h, SYNC_VERSION, c->forum, SYNC_CAP_SEND, 5);
    *answered = send_raw(d, &h) && recv_type(d, SYNC_HELLO, 3000, NULL, 0);
    if (bye) {
        h.n = 0;
        raw_array(&h, 3, 0), raw_uint(&h, SYNC_ERROR, 0), raw_uint(&h, HERR_PROTOCOL, 0);
        raw_str(&h, "bye", 3);
        send_raw(d, &h);
    }
    raw_free(&h);
    return d;
}

/* case_route_dup - a second peer claims a routing id already in use. The ROUTER must
 * not hand it the first peer's traffic, and the first peer's session goes on. */
static int case_route_dup(struct ctx *c)
{
    const char rid[] = "hostile-rid";
    bool a_ok, b_ok;
    void *a = hello_dealer(c, NULL, rid, sizeof rid - 1, false, &a_ok);
    if (!a_ok)
        fail("the first peer with routing id '%s' got no hello back", rid);
    void *b = hello_dealer(c, NULL, rid, sizeof rid - 1, true, &b_ok);
    /* b's hello is eaten by the ROUTER (libzmq #4503); whatever b sends later runs
     * under a route of the ROUTER's choosing, never a's. b opens sessions in which it
     * takes no events (caps SEND only). */
    struct raw h = {0}, r = {0};
    msg_hello(&h, SYNC_VERSION, c->forum, SYNC_CAP_SEND, 5);
    for (int i = 0; i < 3; i++)
        send_raw(b, &h);
    /* a starts again, asking for every event: the victim's EVENTS must reach a, and
     * none of them b. */
    h.n = 0;
    msg_hello(&h, SYNC_VERSION, c->forum, SYNC_CAP_SEND | SYNC_CAP_RECV, 0);
    send_raw(a, &h);
    if (recv_type(a, SYNC_EVENTS, 5000, NULL, 0))
        say("check the first peer still gets its own replies (the forum's events)");
    else
        fail("the first peer lost its replies to the second one with its routing id");
    int stolen = 0;
    while (recv_msg(b, &r, 1000)) {
        struct sync_msg sm;
        const char *why;
        if (sync_msg_decode(&sm, r.p, r.n, &why) == HERR_OK && sm.type == SYNC_EVENTS)
            stolen++;
    }
    (void)b_ok;
    if (stolen)
        fail("the impostor received %d EVENTS meant for the first peer", stolen);
    else
        say("check the impostor with the same routing id gets none of the first peer's replies");
    close_sock(&a);
    close_sock(&b);
    /* A routing id that looks like one the ROUTER makes up itself (0x00 + 4 bytes),
     * the longest one allowed (255 bytes), and a one-byte one. */
    size_t sent = 6;
    int answered = 0, tries = 0;
    for (int i = 0; i < 40; i++, tries++) {
        uint8_t id[5] = {0};
        random_bytes(id + 1, 4);
        bool ok;
        void *d = hello_dealer(c, NULL, id, sizeof id, true, &ok);
        answered += ok;
        close_sock(&d);
        sent++;
    }
    uint8_t longid[255];
    memset(longid, 'L', sizeof longid);
    bool ok;
    void *d = hello_dealer(c, NULL, longid, sizeof longid, true, &ok);
    answered += ok, tries++;
    close_sock(&d);
    d = hello_dealer(c, NULL, "x", 1, true, &ok);
    answered += ok, tries++;
    close_sock(&d);
    if (answered != tries)
        fail("%d of %d peers with chosen routing ids got no hello back", tries - answered, tries);
    else
        say("check %d peers with routing ids of their choosing each get their own session", tries);
    say("sent %zu", sent + 2);
    say("valid 0");
    raw_free(&h);
    raw_free(&r);
    return 0;
}

/* case_route_collide - libzmq's ROUTER numbers anonymous peers 0x00 + a 32-bit
 * counter. libzmq 4.3 starts that counter at generate_random(): two rand() calls of a
 * C library that nobody seeded, so a fresh process's counters start at values anyone
 * can compute (srand(1)); which pair of calls a ROUTER gets depends only on how many
 * sockets of the ROUTER family (REP, ROUTER) the process made before it. A peer may
 * choose a routing id of that form; when the counter later reaches an id a peer
 * holds, libzmq aborts (zmq_assert in add_out_pipe). So: hold --conns routing ids at
 * each of the first few possible starts of a fresh victim's counter, then connect
 * anonymously, as every honest hearth peer does, and see whether the victim lives. */
static int case_route_collide(struct ctx *c)
{
    enum { OFFSETS = 6 };
    long per = c->conns ? c->conns : 40;
    long n = per * OFFSETS;
    void **claims = xmalloc((size_t)n * sizeof *claims);
    uint32_t seq[OFFSETS + 1];
    srand(1); /* what an unseeded C library does */
    for (int k = 0; k <= OFFSETS; k++)
        seq[k] = (uint32_t)rand();
    for (int k = 0; k < OFFSETS; k++) {
        uint32_t start = seq[k] | (seq[k + 1] << 31);
        for (long i = 0; i < per; i++) {
            uint32_t v = start + (uint32_t)i;
            uint8_t id[5] = {0, (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                             (uint8_t)v};
            void *d = dealer_with(c, NULL, id, sizeof id);
            struct raw h = {0};
            msg_hello(&h, SYNC_VERSION, c->forum, SYNC_CAP_SEND, 5);
            zmq_send(d, h.p, h.n, ZMQ_DONTWAIT);
            raw_free(&h);
            claims[k * per + i] = d;
        }
    }
    sleep_ms(1500);
    /* Honest-looking peers: no routing id of their own. */
    long answered = 0, tries = 0;
    for (; tries < 20; tries++) {
        bool ok;
        void *d = hello_dealer(c, NULL, NULL, 0, true, &ok);
        zmq_setsockopt(d, ZMQ_LINGER, &(int){0}, sizeof(int));
        close_sock(&d);
        if (!ok)
            break;
        answered++;
    }
    if (answered == 20)
        say("check 20 anonymous peers are served while %ld routing ids are claimed", n);
    else
        fail("the victim stopped answering after %ld anonymous peers, with %ld routing ids "
             "claimed where libzmq's counters start",
             answered, n);
    for (long i = 0; i < n; i++) {
        zmq_setsockopt(claims[i], ZMQ_LINGER, &(int){0}, sizeof(int));
        close_sock(&claims[i]);
    }
    free(claims);
    say("sent %ld", n + tries);
    say("valid 0");
    return 0;
}

/* case_reconnect_many - one key connects again and again, says HELLO and hangs up. */
static int case_reconnect_many(struct ctx *c)
{
    long n = c->conns ? c->conns : 300;
    uint8_t seed[HEARTH_SEED_LEN];
    random_bytes(seed, sizeof seed);
    long answered = 0, i = 0, misses = 0;
    for (; i < n && misses < 3; i++) {
        bool ok;
        void *d = hello_dealer(c, seed, NULL, 0, false, &ok);
        answered += ok;
        misses = ok ? 0 : misses + 1;
        zmq_setsockopt(d, ZMQ_LINGER, &(int){0}, sizeof(int));
        close_sock(&d);
    }
    if (misses)
        fail("the victim stopped answering after %ld connections of one key", i - misses);
    say("sent %ld", n);
    say("valid 0");
    if (answered == n)
        say("check %ld connections of one key, each answered", n);
    else
        fail("%ld of %ld reconnections got no hello back", n - answered, n);
    return 0;
}

/* victim_count - how many events the victim holds, from its answer to a HELLO. */
static uint64_t victim_count(struct ctx *c)
{
    void *d = dealer(c);
    struct raw h = {0}, r = {0};
    uint64_t count = 0;
    bool got = false;
    msg_hello(&h, SYNC_VERSION, c->forum, SYNC_CAP_SEND, 0);
    send_raw(d, &h);
    uint64_t end = mono_ms() + 5000;
    while (!got && mono_ms() < end && recv_msg(d, &r, 5000)) {
        struct sync_msg sm;
        const char *why;
        if (sync_msg_decode(&sm, r.p, r.n, &why) == HERR_OK && sm.type == SYNC_HELLO)
            count = sm.u.hello.count, got = true;
    }
    if (!got)
        die("the victim did not say how many events it holds");
    zmq_setsockopt(d, ZMQ_LINGER, &(int){0}, sizeof(int));
    close_sock(&d);
    raw_free(&h);
    raw_free(&r);
    return count;
}

/* hold_sessions - many connections, each of its own key, held for --hold ms. Idle: each opens a
 * session and then says nothing. Greedy: each claims a few events more than the
 * victim (so that the victim must answer with coded symbols), asks for every symbol
 * there is (RECON_M, about 5.8 MB) and reads nothing. */
static int hold_sessions(struct ctx *c, bool greedy)
{
    long n = c->conns ? c->conns : 80;
    void **socks = xmalloc((size_t)n * sizeof *socks);
    struct raw h = {0}, more = {0};
    /* Idle with --count N: claim N events more than the victim holds, so that it
     * answers with coded symbols (more than its HELLO) before the silence. */
    uint64_t count = greedy     ? victim_count(c) + 5
                     : c->count ? victim_count(c) + (uint64_t)c->count
                                : 5;
    msg_hello(&h, SYNC_VERSION, c->forum, SYNC_CAP_SEND | SYNC_CAP_RECV, count);
    raw_array(&more, 3, 0), raw_uint(&more, SYNC_MORE, 0), raw_uint(&more, RECON_M, 0);
    raw_uint(&more, 0, 0);
    long sent = 0;
    for (long i = 0; i < n; i++) {
        /* A key of its own for each: in open mode keys cost nothing, and the node
         * keeps one session per key. */
        socks[i] = dealer(c);
        if (greedy) {
            /* Read nothing, and let the kernel's window close early. */
            setint(socks[i], ZMQ_RCVHWM, 1);
            setint(socks[i], ZMQ_RCVBUF, 4096);
        }
        sent += send_raw(socks[i], &h);
        if (greedy)
            sent += send_raw(socks[i], &more);
    }
    say("sent %ld", sent);
    say("valid 0");
    say("ready");
    sleep_ms((int)(c->hold_ms ? c->hold_ms : 5000));
    for (long i = 0; i < n; i++) {
        zmq_setsockopt(socks[i], ZMQ_LINGER, &(int){0}, sizeof(int));
        close_sock(&socks[i]);
    }
    free(socks);
    raw_free(&h);
    raw_free(&more);
    return 0;
}

static int case_idle_sessions(struct ctx *c)
{
    return hold_sessions(c, false);
}

static int case_greedy_readers(struct ctx *c)
{
    return hold_sessions(c, true);
}

/* case_key_churn - many keys, each connects once: the node must not let them crowd
 * out the peers it should talk to. */
static int case_key_churn(struct ctx *c)
{
    long n = c->conns ? c->conns : 100;
    long answered = 0;
    for (long i = 0; i < n; i++) {
        bool ok;
        void *d = hello_dealer(c, NULL, NULL, 0, true, &ok);
        answered += ok;
        zmq_setsockopt(d, ZMQ_LINGER, &(int){0}, sizeof(int));
        close_sock(&d);
    }
    say("sent %ld", n);
    say("valid 0");
    say("check %ld of %ld keys answered", answered, n);
    return 0;
}

/* ---- a bundle on a USB stick ---- */

/* case_forged_bundle - a well-formed bundle (right magic, forum and trailer) holding
 * one valid event and three that must be rejected: a forged signature, another
 * key's signature, another forum. Written to --out; nothing goes on the wire. */
static int case_forged_bundle(struct ctx *c)
{
    if (!c->out)
        die("forged-bundle needs --out FILE");
    FILE *f = fopen(c->out, "wb");
    if (!f)
        die("cannot write %s: %s", c->out, strerror(errno));
    struct bundle_writer *w;
    if (bundle_writer_new(&w, f, c->forum) != HERR_OK)
        die("cannot start the bundle");
    struct hkey a, b;
    random_key(&a);
    random_key(&b);
    uint8_t other[HEARTH_ID_LEN];
    random_bytes(other, sizeof other);
    struct evspec s[4];
    herr want[4] = {HERR_OK, HERR_BAD_SIG, HERR_BAD_SIG, HERR_WRONG_FORUM};
    for (int i = 0; i < 4; i++) {
        s[i] = profile_spec;
        s[i].forum = c->forum;
        s[i].author = &a;
        s[i].seq = (uint64_t)i + 1;
    }
    s[0].name = "from a usb stick";
    s[1].flip_sig = true;
    s[2].signer = &b;
    s[3].forum = other;
    for (int i = 0; i < 4; i++) {
        struct raw env = {0};
        ev_build(&s[i], &env);
        must_judge("bundle event", env.p, env.n, c->forum, want[i]);
        if (bundle_write(w, env.p, env.n) != HERR_OK)
            die("cannot write the bundle");
        raw_free(&env);
    }
    if (bundle_writer_finish(&w, NULL) != HERR_OK || fclose(f) != 0)
        die("cannot finish the bundle");
    hkey_wipe(&a);
    hkey_wipe(&b);
    say("sent 4");
    say("valid 1");
    return 0;
}

/* ---- main ---- */

struct hcase {
    const char *name;
    int (*run)(struct ctx *c);
    const char *what;
};

static const struct hcase cases[] = {
    {"forged-sig", case_forged_sig, "events whose signature has one bit flipped"},
    {"other-key", case_other_key, "events signed by a key other than their author's"},
    {"other-forum", case_other_forum, "events and a session of another forum"},
    {"replay", case_replay, "every event of the victim, again, three times"},
    {"fork", case_fork, "two events with one author and seq (kept as evidence)"},
    {"truncated-event", case_truncated_event, "an event cut at every byte, and cut pushes"},
    {"noncanonical-event", case_noncanonical_event, "signed events in non-shortest encodings"},
    {"unknown-kind", case_unknown_kind, "signed events of unknown kinds and versions"},
    {"wire-truncated", case_wire_truncated, "a HELLO cut at every byte"},
    {"wire-noncanonical", case_wire_noncanonical, "HELLOs in non-shortest encodings"},
    {"unknown-type", case_unknown_type, "unknown message types and protocol versions"},
    {"no-session", case_no_session, "messages other than HELLO from a peer with no session"},
    {"push-in-session", case_push_in_session, "a PUSH of a valid event inside an open session"},
    {"zbomb", case_zbomb, "compressed events that decompress beyond a frame, and malformed ones"},
    {"huge-counts", case_huge_counts, "lengths and counts that claim gigabytes"},
    {"deep-nesting", case_deep_nesting, "messages and bodies nested thousands deep"},
    {"oversize", case_oversize, "frames above the 1 MiB cap"},
    {"frame-limit", case_frame_limit, "the largest frame taken, by bisection"},
    {"multipart", case_multipart, "messages of several frames"},
    {"flood-valid", case_flood_valid, "--count valid events as fast as they go"},
    {"flood-invalid", case_flood_invalid, "--count invalid messages as fast as they go"},
    {"no-handshake", case_no_handshake, "--conns raw TCP connections that never finish"},
    {"route-dup", case_route_dup, "routing ids chosen by the peer, one claimed twice"},
    {"route-collide", case_route_collide, "--conns routing ids where libzmq's own start"},
    {"reconnect-many", case_reconnect_many, "one key connecting --conns times"},
    {"idle-sessions", case_idle_sessions,
     "--conns sessions opened and left silent (--count N: claiming N more events than the "
     "victim)"},
    {"greedy-readers", case_greedy_readers, "--conns sessions asking all, reading nothing"},
    {"key-churn", case_key_churn, "--conns fresh keys, one connection each"},
    {"forged-bundle", case_forged_bundle, "write to --out a bundle of 1 valid, 3 bad events"},
};

static void usage(void)
{
    fprintf(stderr, "usage: hostile_peer CASE ADDRESS BUNDLE [--count N] [--hold MS] "
                    "[--conns N] [--out FILE]\ncases:\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        fprintf(stderr, "  %-20s %s\n", cases[i].name, cases[i].what);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        usage();
    struct ctx c = {0};
    for (int i = 4; i + 1 < argc; i += 2) {
        long v = strtol(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "--out"))
            c.out = argv[i + 1];
        else if (!strcmp(argv[i], "--count"))
            c.count = v;
        else if (!strcmp(argv[i], "--hold"))
            c.hold_ms = v;
        else if (!strcmp(argv[i], "--conns"))
            c.conns = v;
        else
            usage();
    }
    const struct hcase *hc = NULL;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!strcmp(argv[1], cases[i].name))
            hc = &cases[i];
    if (!hc)
        usage();
    if (crypto_start() != HERR_OK)
        die("cannot start libsodium");
    const char *why = "";
    if (address_parse(argv[2], c.server, c.endpoint, sizeof c.endpoint, &why) != HERR_OK)
        die("%s: %s", argv[2], why);
    const char *hp = c.endpoint + strlen("tcp://");
    const char *colon = strrchr(hp, ':');
    snprintf(c.host, sizeof c.host, "%.*s", (int)(colon - hp), hp);
    c.port = atoi(colon + 1);
    load_bundle(&c, argv[3]);
    c.zctx = zmq_ctx_new();
    if (!c.zctx)
        die("zmq_ctx_new failed");
    zmq_ctx_set(c.zctx, ZMQ_MAX_SOCKETS, 4096);
    int rc = hc->run(&c);
    zmq_ctx_term(c.zctx);
    for (size_t i = 0; i < c.nevents; i++)
        raw_free(&c.events[i]);
    free(c.events);
    return rc || failures ? 1 : 0;
}

/* session.c - the sync session state machine (docs/PROTOCOL.md). */
#include "sync/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"

/* Ids fetched at a time, events streamed at a time, and the envelope bytes at which a
 * streamed chunk stops: what a session that reads nothing pins beside its queued
 * frames, so kept to a few frames' worth (refills are cheap). */
#define FETCH_CHUNK 512
#define STREAM_BYTES (512u << 10)
/* A listing session sends at most this many events by id; more are streamed. */
#define FEW_SEND 4096
/* The most keys a peer may list or ask for in one session (512 MiB of keys). */
#define MAX_LIST_KEYS (1u << 25)

/* ---- growable arrays of fixed-size records ---- */

struct vec {
    uint8_t *p;
    size_t n, cap; /* in records */
    size_t sz;     /* bytes per record */
};

static void vec_init(struct vec *v, size_t sz)
{
    v->p = NULL;
    v->n = v->cap = 0;
    v->sz = sz;
}

static void vec_release(struct vec *v)
{
    free(v->p);
    vec_init(v, v->sz);
}

static herr vec_reserve(struct vec *v, size_t more)
{
    if (more > SIZE_MAX / v->sz - v->n)
        return HERR_NOMEM;
    if (v->n + more <= v->cap)
        return HERR_OK;
    size_t c = v->cap ? v->cap : 64;
    while (c < v->n + more)
        c *= 2;
    void *q = realloc(v->p, c * v->sz);
    if (!q)
        return HERR_NOMEM;
    v->p = q;
    v->cap = c;
    return HERR_OK;
}

static herr vec_push(struct vec *v, const void *rec)
{
    herr e = vec_reserve(v, 1);
    if (e)
        return e;
    memcpy(v->p + v->n * v->sz, rec, v->sz);
    v->n++;
    return HERR_OK;
}

static uint8_t *vec_at(const struct vec *v, size_t i)
{
    return v->p + i * v->sz;
}

/* ---- the outbox: what is still to be sent, in order ---- */

enum item_kind { IT_MSG, IT_SYMBOLS, IT_KEYS, IT_EVENTS, IT_DONE };

struct env_ref {
    size_t off, len;
};

struct item {
    enum item_kind kind;
    struct item *next;
    struct hbuf msg; /* IT_MSG */
    /* IT_SYMBOLS: symbols [sym_next, sym_upto), then cnt count-only entries */
    uint32_t sym_next, sym_upto, cnt;
    /* IT_KEYS: keys (records of RECON_KEY_LEN) sent as `type` from pos on */
    enum sync_type type;
    struct vec keys;
    size_t pos;
    /* IT_EVENTS: ids to send; once ordered, in priority order (those not held
     * dropped); the envelopes of the last chunk fetched (ending at ids[fetched]) in
     * pre/refs, refs[rpos..] not yet sent */
    struct vec ids;
    bool ordered;
    size_t fetched;
    struct hbuf pre;
    struct vec refs;
    size_t rpos;
    /* A streamed IT_EVENTS: every event we held at HELLO, from `cur` on, except those
     * whose key the peer listed (peer_keys) and, when skip_forum, the genesis (sent
     * before, on its own); pre/refs hold one chunk. */
    bool streamed, skip_forum;
    struct store_cursor cur;
};

struct sync_session {
    const struct sync_ops *ops;
    void *ctx;
    struct recon_index *idx;
    struct sync_config cfg;
    uint32_t frame_log2;

    bool initiator, started, got_hello, ended;
    herr result;
    char why[240];

    /* ours: the set as the index held it when the session began */
    uint64_t count;
    uint64_t upto; /* the last arrival in that set */
    uint8_t fp[RECON_FP_LEN];
    bool has_forum;
    uint8_t forum[HEARTH_ID_LEN];

    /* the peer's */
    struct sync_hello peer;
    size_t peer_frame;
    bool can_send, can_recv; /* we may send events to / receive events from the peer */

    enum sync_plan plan;
    bool computed;             /* we found the difference and queued our part */
    struct recon_decoder *dec; /* initiator, IBLT */
    uint32_t sym_sent;         /* responder, IBLT: symbols queued so far */
    struct vec peer_keys;      /* the peer's IDS (computing side); sorted, without
                                * repeats, once the list is complete */
    struct vec want_keys;      /* the peer's WANT (answering side) */
    bool holding;              /* we hold the index (recon_index_hold) */
    bool sent_done, got_done, done_queued;
    bool last_word; /* our DONE, sent after the peer's, ended the session */
    bool sent_since_wait;

    struct item *head, *tail;
    struct hbuf out;
    struct store_blob *blobs; /* SYNC_MAX_EVENTS_PER_MSG, for packing EVENTS */
    bool zsend;               /* the peer takes ZEVENTS and we may send them */
    bool peer_one;            /* responder: the initiator speaks plan ONE */
    ZSTD_CCtx *cctx;          /* made when first needed */
    ZSTD_DCtx *dctx;
    struct hbuf zbuf; /* a compressed frame being made, or one decompressed */
    struct sync_stats st;
};

/* ---- small helpers ---- */

static void logf_(struct sync_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logf_(struct sync_session *s, const char *fmt, ...)
{
    if (!s->cfg.log)
        return;
    char line[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->cfg.log(s->cfg.log_ctx, line);
}

const char *sync_plan_name(enum sync_plan p)
{
    switch (p) {
    case SYNC_PLAN_NONE:
        return "none";
    case SYNC_PLAN_IBLT:
        return "iblt";
    case SYNC_PLAN_LIST_R:
        return "list-responder";
    case SYNC_PLAN_LIST_I:
        return "list-initiator";
    case SYNC_PLAN_SUFFIX_R:
        return "suffix-responder";
    case SYNC_PLAN_SUFFIX_I:
        return "suffix-initiator";
    case SYNC_PLAN_ONE:
        return "one";
    }
    return "unknown";
}

static void item_free(struct item *it)
{
    hbuf_release(&it->msg);
    vec_release(&it->keys);
    vec_release(&it->ids);
    hbuf_release(&it->pre);
    vec_release(&it->refs);
    free(it);
}

static void outbox_clear(struct sync_session *s, bool keep_msgs)
{
    struct item **pp = &s->head;
    s->tail = NULL;
    while (*pp) {
        struct item *it = *pp;
        if (keep_msgs && it->kind == IT_MSG) {
            s->tail = it;
            pp = &it->next;
            continue;
        }
        *pp = it->next;
        item_free(it);
    }
}

static herr item_new(struct sync_session *s, enum item_kind kind, struct item **out)
{
    struct item *it = calloc(1, sizeof *it);
    if (!it)
        return HERR_NOMEM;
    it->kind = kind;
    hbuf_init(&it->msg, HEARTH_MAX_FRAME);
    hbuf_init(&it->pre, SIZE_MAX);
    vec_init(&it->keys, RECON_KEY_LEN);
    vec_init(&it->ids, HEARTH_ID_LEN);
    vec_init(&it->refs, sizeof(struct env_ref));
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    *out = it;
    return HERR_OK;
}

/* Our symbols are no longer needed, or no longer to be decoded against: let other
 * sessions catch the index up again. */
static void let_go(struct sync_session *s)
{
    if (s->holding) {
        recon_index_release(s->idx);
        s->holding = false;
    }
}

/* Forget symbols still to be sent: the initiator has moved on. */
static void drop_symbols(struct sync_session *s)
{
    struct item **pp = &s->head;
    s->tail = NULL;
    while (*pp) {
        struct item *it = *pp;
        if (it->kind == IT_SYMBOLS) {
            *pp = it->next;
            item_free(it);
        } else {
            s->tail = it;
            pp = &it->next;
        }
    }
}

/* End the session with code and a reason; when tell_peer, the peer gets an ERROR. */
static herr end_with(struct sync_session *s, herr code, bool tell_peer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static herr end_with(struct sync_session *s, herr code, bool tell_peer, const char *fmt, ...)
{
    if (s->ended)
        return s->result;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    s->ended = true;
    s->result = code;
    let_go(s);
    outbox_clear(s, false);
    if (tell_peer) {
        struct item *it;
        if (item_new(s, IT_MSG, &it) == HERR_OK &&
            sync_encode_error(&it->msg, code, s->why) != HERR_OK)
            outbox_clear(s, false);
    }
    logf_(s, "sync ended: %s: %s", herr_str(code), s->why);
    return code;
}

static herr local_failure(struct sync_session *s, herr e, const char *what)
{
    return end_with(s, e, true, "%s: %s", what, herr_str(e));
}

static herr protocol(struct sync_session *s, const char *why)
{
    return end_with(s, HERR_PROTOCOL, true, "%s", why);
}

/* Queue a small prebuilt message. */
static herr queue_msg(struct sync_session *s, struct item **out)
{
    return item_new(s, IT_MSG, out);
}

static herr queue_done(struct sync_session *s)
{
    struct item *it;
    if (s->done_queued)
        return HERR_OK;
    herr e = item_new(s, IT_DONE, &it);
    if (!e)
        s->done_queued = true;
    return e;
}

static void check_complete(struct sync_session *s)
{
    if (!s->ended && s->sent_done && s->got_done) {
        s->ended = true;
        s->result = HERR_OK;
        let_go(s);
    }
}

/* ---- our keys and ids ---- */

/* Our ids are those of the set we announced in HELLO: events that arrived later (a
 * post made while we sync, another session's batch) wait for the next session, or
 * the peer would see more ids than we said we hold. */
struct collect {
    struct vec *ids;
    uint64_t upto;
};

/* Push the first ids->sz bytes of id: the whole id, or its key. */
static herr collect_one(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                        uint64_t arrival)
{
    struct collect *c = ctx;
    (void)created;
    return arrival <= c->upto ? vec_push(c->ids, id) : HERR_OK;
}

static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, RECON_KEY_LEN);
}

/* All our keys (the first RECON_KEY_LEN bytes of each id), in arrival order. */
static herr own_keys(struct sync_session *s, struct vec *keys)
{
    herr e = vec_reserve(keys, s->count);
    struct collect c = {keys, s->upto};
    return e ? e : s->ops->keys_since(s->ctx, 0, collect_one, &c);
}

static bool peer_listed(const struct sync_session *s, const uint8_t *id)
{
    return s->peer_keys.n > 0 &&
           bsearch(id, s->peer_keys.p, s->peer_keys.n, RECON_KEY_LEN, cmp_key) != NULL;
}

/* ---- queuing what we send ---- */

static herr queue_hello(struct sync_session *s, enum sync_plan plan, bool with_fp)
{
    struct sync_hello h = {0};
    h.version = SYNC_VERSION;
    /* The responder has checked the initiator's tag: it need not send its own. */
    h.has_forum = s->has_forum && s->initiator;
    memcpy(h.forum, s->forum, SYNC_FORUM_TAG_LEN);
    h.caps = (s->cfg.mode != SYNC_MODE_WANT_ONLY ? SYNC_CAP_SEND : 0) |
             (s->cfg.mode != SYNC_MODE_PUSH_ONLY ? SYNC_CAP_RECV : 0);
    if (!s->cfg.legacy)
        h.caps |= SYNC_CAP_ONE | (s->cfg.no_compress ? 0 : SYNC_CAP_ZSTD);
    h.frame_log2 = s->frame_log2;
    h.count = s->count;
    h.has_fp = with_fp;
    memcpy(h.fp, s->fp, RECON_FP_LEN);
    h.plan = plan;
    /* SUFFIX_I one apart: the XOR of our keys, in case our newest is not the one. */
    if (plan == SYNC_PLAN_SUFFIX_I && s->peer_one && s->peer.count == s->count + 1) {
        uint8_t sym0[RECON_SYM_LEN];
        recon_index_encode(s->idx, 0, 1, sym0);
        h.has_sum = true;
        memcpy(h.sum, sym0, RECON_KEY_LEN);
    }
    struct item *it;
    herr e = queue_msg(s, &it);
    if (!e)
        e = sync_encode_hello(&it->msg, &h);
    return e;
}

static herr queue_symbols(struct sync_session *s, uint32_t upto, uint32_t counts)
{
    struct item *it;
    herr e = item_new(s, IT_SYMBOLS, &it);
    if (e)
        return e;
    it->sym_next = s->sym_sent;
    it->sym_upto = upto;
    it->cnt = counts;
    s->sym_sent = upto;
    return HERR_OK;
}

/* Queue keys (records of RECON_KEY_LEN) as IDS or WANT; takes the vector's memory. */
static herr queue_keys(struct sync_session *s, enum sync_type type, struct vec *keys)
{
    struct item *it;
    herr e = item_new(s, IT_KEYS, &it);
    if (e)
        return e;
    it->type = type;
    it->keys = *keys;
    vec_init(keys, RECON_KEY_LEN);
    return HERR_OK;
}

/* Queue the events with these ids (records of HEARTH_ID_LEN); takes the vector's
 * memory. A peer without a forum gets the genesis first, in its own batch, so that
 * its store binds to the forum before anything else arrives. */
static herr queue_events(struct sync_session *s, struct vec *ids)
{
    herr e = HERR_OK;
    if (ids->n == 0 || !s->can_send) {
        vec_release(ids);
        return HERR_OK;
    }
    struct item *it;
    if (!s->peer.has_forum && s->has_forum) {
        for (size_t i = 0; i < ids->n; i++) {
            if (memcmp(vec_at(ids, i), s->forum, HEARTH_ID_LEN) != 0)
                continue;
            memmove(vec_at(ids, i), vec_at(ids, i + 1), (ids->n - i - 1) * HEARTH_ID_LEN);
            ids->n--;
            e = item_new(s, IT_EVENTS, &it);
            if (!e)
                e = vec_push(&it->ids, s->forum);
            break;
        }
    }
    if (!e && ids->n > 0)
        e = item_new(s, IT_EVENTS, &it);
    if (!e && ids->n > 0) {
        it->ids = *ids;
        vec_init(ids, HEARTH_ID_LEN);
    }
    vec_release(ids);
    return e;
}

/* Queue every event we held at HELLO but those whose key the peer listed, streamed
 * from the store in transfer priority order. A peer without a forum gets the genesis
 * first, as in queue_events. */
static herr queue_stream(struct sync_session *s)
{
    if (!s->can_send)
        return HERR_OK;
    struct item *it;
    herr e = HERR_OK;
    bool split = !s->peer.has_forum && s->has_forum && !peer_listed(s, s->forum);
    if (split && !(e = item_new(s, IT_EVENTS, &it)))
        e = vec_push(&it->ids, s->forum); /* skipped by get_many when not held */
    if (!e)
        e = item_new(s, IT_EVENTS, &it);
    if (!e) {
        it->streamed = it->ordered = true;
        it->skip_forum = split;
    }
    return e;
}

/* Resolve keys to the ids we hold; keys we cannot resolve are logged and skipped. */
static herr resolve_keys(struct sync_session *s, const uint8_t *keys, size_t n, struct vec *ids)
{
    herr e = vec_reserve(ids, n);
    for (size_t i = 0; !e && i < n; i++) {
        uint8_t id[HEARTH_ID_LEN];
        herr r = s->ops->resolve(s->ctx, keys + i * RECON_KEY_LEN, id);
        if (r == HERR_OK) {
            e = vec_push(ids, id);
        } else if (r == HERR_NOT_FOUND || r == HERR_AMBIGUOUS) {
            char hex[2 * RECON_KEY_LEN + 1];
            hex_encode(hex, keys + i * RECON_KEY_LEN, RECON_KEY_LEN);
            logf_(s, "no single event for key %s: %s", hex, herr_str(r));
        } else {
            e = r;
        }
    }
    return e;
}

/* We know the difference: ask for what we lack, send what the peer lacks, then DONE.
 * want is taken; so is send, unless it is NULL: then we send everything we held at
 * HELLO that the peer did not list (nsend events), streamed from the store. */
static herr finish_compute(struct sync_session *s, struct vec *want, struct vec *send,
                           uint64_t nsend)
{
    s->computed = true;
    let_go(s);
    s->st.remote_only = want->n;
    s->st.local_only = send ? send->n : nsend;
    herr e = HERR_OK;
    if (want->n > 0 && s->can_recv)
        e = queue_keys(s, SYNC_WANT, want);
    vec_release(want);
    if (!e && send)
        e = queue_events(s, send);
    else if (!e && nsend > 0)
        e = queue_stream(s);
    if (send)
        vec_release(send);
    if (!e)
        e = queue_done(s);
    return e;
}

/* The merge of our ids, in id order, with the peer's sorted keys: keys we do not
 * hold go to want; ours that the peer did not list are counted. */
struct merge {
    struct sync_session *s;
    struct vec *want;
    size_t j;     /* the next peer key */
    bool matched; /* peer key j is one of ours */
    uint64_t send;
    struct vec *few; /* the ids to send while they are at most FEW_SEND */
};

static herr merge_one(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t arrival)
{
    struct merge *m = ctx;
    const struct vec *p = &m->s->peer_keys;
    if (arrival > m->s->upto)
        return HERR_OK;
    int c = 1;
    while (m->j < p->n && (c = memcmp(vec_at(p, m->j), id, RECON_KEY_LEN)) < 0) {
        if (!m->matched) {
            herr e = vec_push(m->want, vec_at(p, m->j));
            if (e)
                return e;
        }
        m->j++;
        m->matched = false;
        c = 1;
    }
    /* Several of ours may share a key with one listed key: all are held. */
    if (c == 0) {
        m->matched = true;
        return HERR_OK;
    }
    if (++m->send <= m->s->cfg.few_send)
        return vec_push(m->few, id);
    vec_release(m->few); /* too many: they will be streamed */
    return HERR_OK;
}

/* Sort the peer's keys and drop repeats, for the merge and for bsearch. */
static void sort_peer_keys(struct vec *p)
{
    if (p->n == 0)
        return;
    qsort(p->p, p->n, RECON_KEY_LEN, cmp_key);
    size_t n = 1;
    for (size_t i = 1; i < p->n; i++)
        if (memcmp(vec_at(p, i), vec_at(p, n - 1), RECON_KEY_LEN) != 0)
            memmove(vec_at(p, n++), vec_at(p, i), RECON_KEY_LEN);
    p->n = n;
}

/* Listing: the peer's keys against all of ours. Ours are never held in memory: they
 * are merged with the peer's as the store walks them in id order, and the events to
 * send are streamed from the store (queue_stream), which skips the listed keys. */
static herr compute_from_list(struct sync_session *s)
{
    struct vec want, few;
    vec_init(&want, RECON_KEY_LEN);
    vec_init(&few, HEARTH_ID_LEN);
    struct vec *p = &s->peer_keys;
    sort_peer_keys(p);
    struct merge m = {s, &want, 0, false, 0, &few};
    herr e = HERR_OK;
    if (p->n == 0)
        m.send = s->count; /* all we announced */
    else
        e = s->ops->ids_in_order(s->ctx, merge_one, &m);
    for (; !e && m.j < p->n; m.j++, m.matched = false)
        if (!m.matched)
            e = vec_push(&want, vec_at(p, m.j));
    /* A few to send are fetched by id; many are streamed, skipping what the peer
     * listed (a stream past a list that holds nearly all of ours would read it all). */
    bool by_id = p->n > 0 && m.send <= s->cfg.few_send;
    if (!e && by_id)
        vec_release(p);
    if (!e)
        e = by_id ? finish_compute(s, &want, &few, 0) : finish_compute(s, &want, NULL, m.send);
    vec_release(&want);
    vec_release(&few);
    return e ? local_failure(s, e, "cannot compare id lists") : HERR_OK;
}

/* Give up on the IBLT: list our keys; the responder compares. */
static herr fall_back(struct sync_session *s, const char *why)
{
    logf_(s, "reconciliation falls back to listing ids: %s", why);
    s->st.fell_back = true;
    s->plan = SYNC_PLAN_LIST_I;
    recon_decoder_destroy(&s->dec);
    let_go(s);
    struct vec keys;
    vec_init(&keys, RECON_KEY_LEN);
    herr e = own_keys(s, &keys);
    if (!e)
        e = queue_keys(s, SYNC_IDS, &keys);
    vec_release(&keys);
    return e ? local_failure(s, e, "cannot list our ids") : HERR_OK;
}

/* The IBLT decoded: verify, then act on the difference. */
static herr compute_from_decoder(struct sync_session *s)
{
    if (recon_decoder_verify(s->dec) != HERR_OK)
        return fall_back(s, "the decoded difference does not match the peer's fingerprint");
    size_t nr, nl;
    const uint8_t(*remote)[RECON_KEY_LEN] = recon_decoder_remote_only(s->dec, &nr);
    const uint8_t(*local)[RECON_KEY_LEN] = recon_decoder_local_only(s->dec, &nl);
    struct vec want, send;
    vec_init(&want, RECON_KEY_LEN);
    vec_init(&send, HEARTH_ID_LEN);
    herr e = vec_reserve(&want, nr);
    if (!e && nr > 0) {
        memcpy(want.p, remote, nr * RECON_KEY_LEN);
        want.n = nr;
    }
    if (!e && s->can_send)
        e = resolve_keys(s, (const uint8_t *)local, nl, &send);
    recon_decoder_destroy(&s->dec);
    if (!e)
        e = finish_compute(s, &want, &send, 0);
    vec_release(&want);
    vec_release(&send);
    if (e)
        return local_failure(s, e, "cannot act on the difference");
    s->st.local_only = nl;
    return HERR_OK;
}

/* ---- HELLO ---- */

static bool forums_clash(const struct sync_session *s, const struct sync_hello *h)
{
    return h->has_forum && s->has_forum && memcmp(h->forum, s->forum, SYNC_FORUM_TAG_LEN) != 0;
}

static herr take_peer_hello(struct sync_session *s, const struct sync_hello *h)
{
    s->peer = *h;
    s->got_hello = true;
    /* Our frames are no larger than the peer's nor than our own: a frame crosses a
     * slow link in bounded time, and a peer that reads nothing pins few bytes. */
    s->peer_frame = h->frame_log2 >= 30 ? HEARTH_MAX_FRAME : (size_t)1 << h->frame_log2;
    if (s->peer_frame > ((size_t)1 << s->frame_log2))
        s->peer_frame = (size_t)1 << s->frame_log2;
    s->can_send = s->cfg.mode != SYNC_MODE_WANT_ONLY && (h->caps & SYNC_CAP_RECV);
    s->can_recv = s->cfg.mode != SYNC_MODE_PUSH_ONLY && (h->caps & SYNC_CAP_SEND);
    s->zsend = !s->cfg.legacy && !s->cfg.no_compress && (h->caps & SYNC_CAP_ZSTD);
    s->peer_one = !s->cfg.legacy && (h->caps & SYNC_CAP_ONE);
    if (forums_clash(s, h))
        return end_with(s, HERR_WRONG_FORUM, true, "the peer belongs to another forum");
    if (!s->initiator && !h->has_forum && h->count > 0)
        return protocol(s, "the peer holds events but names no forum");
    return HERR_OK;
}

static bool suffix_matches(const struct sync_session *s, uint64_t j, const uint8_t fp[RECON_FP_LEN],
                           uint8_t (*ids)[HEARTH_ID_LEN])
{
    if (j == 0 || j > recon_index_suffix_max(s->idx))
        return false;
    uint8_t f[RECON_FP_LEN];
    recon_index_suffix(s->idx, (uint32_t)j, f, ids);
    return memcmp(f, fp, RECON_FP_LEN) == 0;
}

/* The responder's choice (docs/PROTOCOL.md, "Plans"). */
static enum sync_plan choose_plan(const struct sync_session *s, const struct sync_hello *h)
{
    uint64_t nr = s->count, ni = h->count;
    if (ni == 0)
        return SYNC_PLAN_LIST_I;
    if (nr == 0)
        return SYNC_PLAN_LIST_R;
    if (nr > ni && suffix_matches(s, nr - ni, h->fp, NULL))
        return SYNC_PLAN_SUFFIX_R;
    if (ni > nr && ni - nr <= RECON_SUFFIX)
        return SYNC_PLAN_SUFFIX_I;
    uint64_t nmin = nr < ni ? nr : ni, delta = nr > ni ? nr - ni : ni - nr;
    if (nmin <= 2 * delta + 32)
        return nr <= ni ? SYNC_PLAN_LIST_R : SYNC_PLAN_LIST_I;
    if (nr == ni + 1 && s->peer_one)
        return SYNC_PLAN_ONE;
    return SYNC_PLAN_IBLT;
}

/* Push our newest j events: they are the whole difference. */
static herr push_suffix(struct sync_session *s, uint64_t j)
{
    uint8_t ids[RECON_SUFFIX][HEARTH_ID_LEN];
    uint8_t f[RECON_FP_LEN];
    recon_index_suffix(s->idx, (uint32_t)j, f, ids);
    struct vec v;
    vec_init(&v, HEARTH_ID_LEN);
    herr e = HERR_OK;
    for (uint64_t t = j; !e && t > 0; t--) /* oldest first */
        e = vec_push(&v, ids[t - 1]);
    struct vec none;
    vec_init(&none, RECON_KEY_LEN);
    if (!e)
        e = finish_compute(s, &none, &v, 0);
    vec_release(&v);
    return e ? local_failure(s, e, "cannot queue our newest events") : HERR_OK;
}

/* The one key we hold and the peer lacks, if the difference is one key: our keys'
 * XOR against the peer's (sum), checked against the peer's fingerprint (fp, of our
 * set without the key). Queues its event and DONE; HERR_NOT_FOUND when the difference
 * is not one key we hold (nothing queued). */
static herr push_one(struct sync_session *s, const uint8_t sum[RECON_KEY_LEN],
                     const uint8_t fp[RECON_FP_LEN])
{
    uint8_t sym0[RECON_SYM_LEN], key[RECON_KEY_LEN], f[RECON_FP_LEN], id[HEARTH_ID_LEN];
    recon_index_encode(s->idx, 0, 1, sym0);
    bool zero = true;
    for (size_t i = 0; i < RECON_KEY_LEN; i++) {
        key[i] = sym0[i] ^ sum[i];
        zero = zero && key[i] == 0;
    }
    if (zero)
        return HERR_NOT_FOUND;
    recon_index_fingerprint_without(s->idx, key, f);
    if (memcmp(f, fp, RECON_FP_LEN) != 0)
        return HERR_NOT_FOUND;
    herr e = s->ops->resolve(s->ctx, key, id);
    if (e == HERR_NOT_FOUND || e == HERR_AMBIGUOUS)
        return HERR_NOT_FOUND;
    struct vec want, send;
    vec_init(&want, RECON_KEY_LEN);
    vec_init(&send, HEARTH_ID_LEN);
    if (!e)
        e = vec_push(&send, id);
    if (!e)
        e = finish_compute(s, &want, &send, 0);
    vec_release(&want);
    vec_release(&send);
    return e ? local_failure(s, e, "cannot queue the one event") : HERR_OK;
}

static herr start_iblt_decoder(struct sync_session *s)
{
    herr e = recon_decoder_new(&s->dec, s->idx, s->peer.count, s->peer.fp);
    return e ? local_failure(s, e, "cannot start decoding") : HERR_OK;
}

static herr on_hello_responder(struct sync_session *s, const struct sync_hello *h)
{
    herr e = take_peer_hello(s, h);
    if (e || s->ended)
        return e;
    if (!h->has_fp || h->plan != SYNC_PLAN_NONE)
        return protocol(s, "the initiator's hello lacks a fingerprint or has a plan");
    if (h->count == s->count && memcmp(h->fp, s->fp, RECON_FP_LEN) == 0) {
        s->plan = SYNC_PLAN_NONE;
        if ((e = queue_hello(s, SYNC_PLAN_NONE, false)))
            return local_failure(s, e, "cannot write hello");
        s->ended = true;
        s->result = HERR_OK;
        let_go(s);
        return HERR_OK;
    }
    s->plan = choose_plan(s, h);
    /* Only the IBLT (and plans that may turn into it) reads the index later. */
    if (s->plan != SYNC_PLAN_IBLT && s->plan != SYNC_PLAN_SUFFIX_I && s->plan != SYNC_PLAN_ONE)
        let_go(s);
    s->st.plan = s->plan;
    logf_(s, "sync plan %s (%llu here, %llu there)", sync_plan_name(s->plan),
          (unsigned long long)s->count, (unsigned long long)h->count);
    if ((e = queue_hello(s, s->plan, true)))
        return local_failure(s, e, "cannot write hello");
    switch (s->plan) {
    case SYNC_PLAN_IBLT: {
        uint32_t syms, counts;
        recon_first_batch(s->count, h->count, &syms, &counts);
        if (syms + counts > RECON_M)
            counts = RECON_M - syms;
        e = queue_symbols(s, syms, counts);
        break;
    }
    case SYNC_PLAN_LIST_R: {
        struct vec keys;
        vec_init(&keys, RECON_KEY_LEN);
        e = own_keys(s, &keys);
        if (!e && keys.n > 0)
            e = queue_keys(s, SYNC_IDS, &keys);
        vec_release(&keys);
        break;
    }
    case SYNC_PLAN_LIST_I:
        if (h->count == 0)
            return compute_from_list(s);
        break;
    case SYNC_PLAN_SUFFIX_R:
        return push_suffix(s, s->count - h->count);
    default:
        break;
    }
    return e ? local_failure(s, e, "cannot start reconciling") : HERR_OK;
}

static herr on_hello_initiator(struct sync_session *s, const struct sync_hello *h)
{
    herr e = take_peer_hello(s, h);
    if (e || s->ended)
        return e;
    s->plan = (enum sync_plan)h->plan;
    s->st.plan = s->plan;
    if (s->plan != SYNC_PLAN_IBLT && s->plan != SYNC_PLAN_SUFFIX_I && s->plan != SYNC_PLAN_ONE)
        let_go(s);
    if (s->plan == SYNC_PLAN_NONE) {
        if (h->has_fp || h->count != s->count)
            return protocol(s, "the responder claims equal sets that are not");
        s->ended = true;
        s->result = HERR_OK;
        return HERR_OK;
    }
    if (!h->has_fp)
        return protocol(s, "the responder's hello lacks a fingerprint");
    switch (s->plan) {
    case SYNC_PLAN_IBLT:
        return start_iblt_decoder(s);
    case SYNC_PLAN_LIST_R:
        if (h->count == 0)
            return compute_from_list(s);
        return HERR_OK;
    case SYNC_PLAN_LIST_I: {
        struct vec keys;
        vec_init(&keys, RECON_KEY_LEN);
        e = s->count ? own_keys(s, &keys) : HERR_OK;
        if (!e && keys.n > 0)
            e = queue_keys(s, SYNC_IDS, &keys);
        vec_release(&keys);
        return e ? local_failure(s, e, "cannot list our ids") : HERR_OK;
    }
    case SYNC_PLAN_SUFFIX_R:
        if (h->count <= s->count)
            return protocol(s, "the responder's plan does not fit the counts");
        return HERR_OK;
    case SYNC_PLAN_SUFFIX_I: {
        if (s->count <= h->count)
            return protocol(s, "the responder's plan does not fit the counts");
        if (suffix_matches(s, s->count - h->count, h->fp, NULL))
            return push_suffix(s, s->count - h->count);
        if (h->has_sum && !s->cfg.legacy && s->count == h->count + 1) {
            e = push_one(s, h->sum, h->fp);
            if (e != HERR_NOT_FOUND)
                return e;
        }
        uint32_t syms, counts;
        recon_first_batch(h->count, s->count, &syms, &counts);
        s->plan = SYNC_PLAN_IBLT;
        struct item *it;
        if ((e = queue_msg(s, &it)) || (e = sync_encode_more(&it->msg, syms, counts)))
            return local_failure(s, e, "cannot ask for symbols");
        return start_iblt_decoder(s);
    }
    case SYNC_PLAN_ONE: {
        if (s->cfg.legacy)
            return protocol(s, "plan one, which we did not offer");
        if (h->count != s->count + 1)
            return protocol(s, "the responder's plan does not fit the counts");
        /* Our symbol 0 is the XOR of all our keys: the responder's, XORed with it,
         * is the one key it alone holds, if the difference is one key. */
        uint8_t sym0[RECON_SYM_LEN];
        recon_index_encode(s->idx, 0, 1, sym0);
        struct item *it;
        if ((e = queue_msg(s, &it)) || (e = sync_encode_sketch(&it->msg, sym0)))
            return local_failure(s, e, "cannot write our sketch");
        return HERR_OK;
    }
    default:
        return protocol(s, "unknown plan");
    }
}

/* ---- the other messages ---- */

static herr on_symbols(struct sync_session *s, const struct sync_symbols *m)
{
    s->st.symbols_recv += m->nsyms;
    if (s->plan == SYNC_PLAN_ONE && s->initiator && !s->dec) {
        /* Our sketch did not make one key the responder holds: decode as IBLT. */
        s->plan = SYNC_PLAN_IBLT;
        s->st.plan = s->plan;
        herr e0 = start_iblt_decoder(s);
        if (e0 || s->ended)
            return e0;
    }
    if (s->plan != SYNC_PLAN_IBLT || !s->initiator)
        return s->computed || s->st.fell_back ? HERR_OK : protocol(s, "unexpected symbols");
    if (!s->dec)
        return HERR_OK; /* late symbols of a batch we no longer need */
    const char *why = "bad symbols";
    herr e = recon_decoder_add(s->dec, m->start, m->syms, m->nsyms, &why);
    if (!e && m->ncounts)
        e = recon_decoder_add_counts(s->dec, m->start + m->nsyms, m->counts, m->ncounts, &why);
    if (e == HERR_PROTOCOL)
        return protocol(s, why);
    if (e)
        return local_failure(s, e, "cannot decode symbols");
    if (recon_decoder_complete(s->dec))
        return compute_from_decoder(s);
    if (!m->last)
        return HERR_OK;
    uint32_t upto = recon_next_request(s->dec);
    if (upto == 0)
        return fall_back(s, "the difference is too large for the symbols held");
    struct item *it;
    if ((e = queue_msg(s, &it)) || (e = sync_encode_more(&it->msg, upto, 0)))
        return local_failure(s, e, "cannot ask for symbols");
    return HERR_OK;
}

static herr on_more(struct sync_session *s, const struct sync_more *m)
{
    if (s->initiator || (s->plan != SYNC_PLAN_IBLT && s->plan != SYNC_PLAN_SUFFIX_I))
        return protocol(s, "unexpected request for symbols");
    if (m->upto <= s->sym_sent)
        return protocol(s, "request for symbols already sent");
    s->plan = SYNC_PLAN_IBLT;
    s->st.plan = s->plan;
    herr e = queue_symbols(s, m->upto, m->counts);
    return e ? local_failure(s, e, "cannot queue symbols") : HERR_OK;
}

/* Plan ONE, responder: the initiator's symbol 0 sum. If the difference is the one key
 * we alone hold, our symbol 0 XOR theirs is that key, and our set without it has their
 * fingerprint; we send its event. Otherwise we stream symbols as for the IBLT. */
static herr on_sketch(struct sync_session *s, const struct sync_sketch *k)
{
    if (s->initiator || s->plan != SYNC_PLAN_ONE || s->computed || s->sym_sent)
        return protocol(s, "unexpected sketch");
    herr e = push_one(s, k->sum, s->peer.fp);
    if (e != HERR_NOT_FOUND)
        return e;
    logf_(s, "the difference is not one event: reconciling with symbols");
    s->plan = SYNC_PLAN_IBLT;
    s->st.plan = s->plan;
    uint32_t syms, counts;
    recon_wider_batch(&syms, &counts);
    e = queue_symbols(s, syms, counts);
    return e ? local_failure(s, e, "cannot queue symbols") : HERR_OK;
}

static herr take_keys(struct sync_session *s, struct vec *into, const struct sync_keys *k)
{
    s->st.keys_recv += k->n;
    uint64_t limit = MAX_LIST_KEYS;
    if (into->n + k->n > limit)
        return end_with(s, HERR_TOO_LARGE, true, "the peer lists too many keys");
    if (k->n == 0)
        return HERR_OK;
    herr e = vec_reserve(into, k->n);
    if (e)
        return local_failure(s, e, "cannot hold the peer's keys");
    memcpy(vec_at(into, into->n), k->keys, (size_t)k->n * RECON_KEY_LEN);
    into->n += k->n;
    return HERR_OK;
}

static herr on_ids(struct sync_session *s, const struct sync_keys *k)
{
    bool ok;
    if (s->initiator)
        ok = s->plan == SYNC_PLAN_LIST_R && !s->computed;
    else
        ok = (s->plan == SYNC_PLAN_LIST_I || s->plan == SYNC_PLAN_IBLT ||
              s->plan == SYNC_PLAN_SUFFIX_I) &&
             !s->computed;
    if (!ok)
        return protocol(s, "unexpected id list");
    if (!s->initiator && s->plan != SYNC_PLAN_LIST_I) {
        /* The initiator gave up decoding: compare lists instead. */
        s->plan = SYNC_PLAN_LIST_I;
        s->st.plan = s->plan;
        s->st.fell_back = true;
    }
    if (s->peer_keys.n + k->n > s->peer.count)
        return protocol(s, "the peer lists more ids than it holds");
    herr e = take_keys(s, &s->peer_keys, k);
    if (e || s->ended)
        return e;
    return k->last ? compute_from_list(s) : HERR_OK;
}

static herr on_want(struct sync_session *s, const struct sync_keys *k)
{
    if (s->computed || !s->can_send)
        return protocol(s, "unexpected want list");
    if (s->want_keys.n + k->n > s->count)
        return protocol(s, "the peer wants more events than we hold");
    herr e = take_keys(s, &s->want_keys, k);
    if (e || s->ended || !k->last)
        return e;
    struct vec ids;
    vec_init(&ids, HEARTH_ID_LEN);
    e = resolve_keys(s, s->want_keys.p, s->want_keys.n, &ids);
    vec_release(&s->want_keys);
    if (!e)
        e = queue_events(s, &ids);
    vec_release(&ids);
    return e ? local_failure(s, e, "cannot find the wanted events") : HERR_OK;
}

/* genesis_arrived - after an initiator without a forum has taken its first EVENTS:
 * it must have been the genesis alone, which bound our store to its forum
 * (docs/PROTOCOL.md, "Genesis first"). From then on we have a forum. */
static herr genesis_arrived(struct sync_session *s)
{
    if (s->ops->forum(s->ctx, s->forum) != HERR_OK)
        return protocol(s, "the first events for a node without a forum are not the genesis");
    s->has_forum = true;
    return HERR_OK;
}

static herr on_events(struct sync_session *s, const struct sync_events *ev)
{
    if (!s->can_recv)
        return protocol(s, "events we did not ask for");
    bool first_for_no_forum = s->initiator && !s->has_forum;
    if (first_for_no_forum && ev->n != 1)
        return protocol(s, "a node without a forum must get the genesis first, alone");
    struct store_blob *envs = calloc(ev->n, sizeof *envs);
    struct ingest_result *res = calloc(ev->n, sizeof *res);
    herr e = HERR_NOMEM;
    if (!envs || !res)
        goto out;
    struct sync_events_iter it;
    sync_events_iter_init(&it, ev);
    size_t n = 0;
    const uint8_t *p;
    uint32_t len;
    while (n < ev->n && sync_events_next(&it, &p, &len)) {
        envs[n].p = p;
        envs[n].n = len;
        s->st.event_bytes_recv += len;
        n++;
    }
    s->st.events_recv += n;
    size_t accepted = 0;
    e = s->ops->ingest(s->ctx, envs, n, res, &accepted);
    if (e)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (res[i].err == HERR_OK) {
            s->st.events_accepted++;
        } else if (res[i].err == HERR_DUPLICATE) {
            s->st.events_duplicate++;
        } else {
            char hex[17] = "?";
            if (res[i].has_id)
                hex_encode(hex, res[i].id, 8);
            s->st.events_rejected++;
            logf_(s, "rejected event %s from peer: %s: %s", hex, herr_str(res[i].err),
                  res[i].why ? res[i].why : "");
        }
    }
out:
    free(envs);
    free(res);
    if (e)
        return local_failure(s, e, "cannot store received events");
    return first_for_no_forum ? genesis_arrived(s) : HERR_OK;
}

static herr on_done(struct sync_session *s)
{
    if (s->got_done)
        return protocol(s, "a second done");
    s->got_done = true;
    if (!s->computed) {
        /* Our part is to answer: we are finished once the peer is. */
        herr e = queue_done(s);
        if (e)
            return local_failure(s, e, "cannot finish");
    }
    check_complete(s);
    return HERR_OK;
}

static herr on_error(struct sync_session *s, const struct sync_error *er)
{
    char text[SYNC_MAX_ERROR_TEXT + 1];
    size_t n = 0;
    for (uint32_t i = 0; i < er->len && n < SYNC_MAX_ERROR_TEXT; i++) {
        unsigned char c = (unsigned char)er->text[i];
        text[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    text[n] = '\0';
    herr code = HERR_PROTOCOL;
    if (er->code == HERR_WRONG_FORUM || er->code == HERR_VERSION || er->code == HERR_DENIED ||
        er->code == HERR_BUSY)
        code = (herr)er->code;
    s->ended = true; /* no ERROR in answer to an ERROR */
    s->result = code;
    let_go(s);
    outbox_clear(s, false);
    snprintf(s->why, sizeof s->why, "the peer reports %llu: %s", (unsigned long long)er->code,
             text);
    logf_(s, "sync ended: %s", s->why);
    return code;
}

static bool is_recon(enum sync_type t)
{
    return t != SYNC_EVENTS && t != SYNC_ZEVENTS;
}

/* A ZEVENTS: decompress it, within our frame size, into s->zbuf, and decode the
 * EVENTS inside into *m (which then borrows from s->zbuf). */
static herr take_zevents(struct sync_session *s, struct sync_msg *m, size_t wire_len)
{
    if (s->cfg.legacy || s->cfg.no_compress)
        return protocol(s, "compressed events, which we did not offer to take");
    if (!s->dctx && !(s->dctx = ZSTD_createDCtx()))
        return local_failure(s, HERR_NOMEM, "cannot decompress");
    const char *why = "bad compressed events";
    struct sync_zevents z = m->u.zevents;
    herr e = sync_zevents_inflate(s->dctx, &z, (size_t)1 << s->frame_log2, &s->zbuf, &why);
    if (e == HERR_NOMEM)
        return local_failure(s, e, "cannot decompress");
    if (e)
        return end_with(s, e, true, "bad message from the peer: %s: %s", herr_str(e), why);
    e = sync_msg_decode(m, s->zbuf.data, s->zbuf.len, &why);
    if (e)
        return end_with(s, HERR_PROTOCOL, true, "bad compressed message from the peer: %s: %s",
                        herr_str(e), why);
    if (m->type != SYNC_EVENTS)
        return protocol(s, "compressed message that is not events");
    s->st.zevents_recv++;
    s->st.zevents_bytes_recv += wire_len;
    return HERR_OK;
}

herr sync_session_receive(struct sync_session *s, const uint8_t *msg, size_t len)
{
    if (s->ended)
        return s->result;
    s->st.msgs_recv++;
    s->st.bytes_recv += len;
    if (len > ((size_t)1 << s->frame_log2))
        return end_with(s, HERR_PROTOCOL, true, "message of %zu bytes above our frame size", len);
    struct sync_msg m;
    const char *why = "malformed message";
    herr e = sync_msg_decode(&m, msg, len, &why);
    if (e)
        return end_with(s, HERR_PROTOCOL, true, "bad message from the peer: %s: %s", herr_str(e),
                        why);
    if (is_recon(m.type))
        s->st.recon_bytes_recv += len;
    if (m.type == SYNC_ERROR)
        return on_error(s, &m.u.error);
    if (m.type == SYNC_HELLO) {
        if (s->got_hello)
            return protocol(s, "a second hello");
        s->started = true;
        e = s->initiator ? on_hello_initiator(s, &m.u.hello) : on_hello_responder(s, &m.u.hello);
        return e ? e : s->ended ? s->result : HERR_OK;
    }
    if (!s->got_hello)
        return protocol(s, "a message before hello");
    if (s->got_done && m.type != SYNC_DONE)
        return protocol(s, "a message after the peer's done");
    if (m.type == SYNC_ZEVENTS && (e = take_zevents(s, &m, len)))
        return e;
    /* A responder's symbols are done with once the initiator says anything else. */
    if (!s->initiator && m.type != SYNC_MORE && m.type != SYNC_SKETCH) {
        drop_symbols(s);
        let_go(s);
    }
    /* Plan ONE, initiator: the responder sent its event, so no symbols will come. */
    if (s->initiator && s->plan == SYNC_PLAN_ONE && m.type != SYNC_SYMBOLS)
        let_go(s);
    switch (m.type) {
    case SYNC_SKETCH:
        e = on_sketch(s, &m.u.sketch);
        break;
    case SYNC_SYMBOLS:
        e = on_symbols(s, &m.u.symbols);
        break;
    case SYNC_MORE:
        e = on_more(s, &m.u.more);
        break;
    case SYNC_IDS:
        e = on_ids(s, &m.u.keys);
        break;
    case SYNC_WANT:
        e = on_want(s, &m.u.keys);
        break;
    case SYNC_EVENTS:
        e = on_events(s, &m.u.events);
        break;
    case SYNC_DONE:
        e = on_done(s);
        break;
    default:
        e = protocol(s, "a message that has no place in a session");
        break;
    }
    return e ? e : s->ended ? s->result : HERR_OK;
}

/* ---- producing frames ---- */

/* Called with each envelope of a chunk, in priority order: keep its bytes. */
static herr keep_one(void *ctx, const uint8_t *env, size_t len)
{
    struct item *it = ctx;
    struct env_ref ref = {it->pre.len, len};
    herr e = hbuf_append(&it->pre, env, len);
    return e ? e : vec_push(&it->refs, &ref);
}

/* keep_some - keep_one, stopping the fetch (HERR_FULL) once STREAM_BYTES are kept. */
static herr keep_some(void *ctx, const uint8_t *env, size_t len)
{
    struct item *it = ctx;
    herr e = keep_one(ctx, env, len);
    return e ? e : it->pre.len >= STREAM_BYTES ? HERR_FULL : HERR_OK;
}

/* Put the ids in priority order once; chunks of them are then fetched in turn. */
static herr events_prepare(struct sync_session *s, struct item *it)
{
    herr e = s->ops->sort_ids(s->ctx, (uint8_t(*)[HEARTH_ID_LEN])it->ids.p, &it->ids.n);
    it->ordered = true;
    return e;
}

static herr events_refill(struct sync_session *s, struct item *it)
{
    size_t n = it->ids.n - it->fetched;
    if (n > FETCH_CHUNK)
        n = FETCH_CHUNK;
    hbuf_reset(&it->pre);
    it->refs.n = 0;
    it->rpos = 0;
    herr e = s->ops->get_many(
        s->ctx, (const uint8_t(*)[HEARTH_ID_LEN])vec_at(&it->ids, it->fetched), n, keep_some, it);
    /* The ids are in get_many's order already (events_prepare), so the envelopes kept
     * are those of the first refs.n ids: a chunk of large events stops early, at
     * STREAM_BYTES, and the next refill starts where it stopped. */
    if (e == HERR_FULL && it->pre.len >= STREAM_BYTES) {
        e = HERR_OK;
        n = it->refs.n;
    }
    it->fetched += n;
    return e;
}

struct stream_ctx {
    struct sync_session *s;
    struct item *it;
};

/* Called with each event the store streams: keep it unless the peer has it. */
static herr stream_one(void *ctx, const uint8_t id[HEARTH_ID_LEN], const uint8_t *env, size_t len)
{
    struct stream_ctx *c = ctx;
    struct item *it = c->it;
    if (it->skip_forum && memcmp(id, c->s->forum, HEARTH_ID_LEN) == 0)
        return HERR_OK;
    if (peer_listed(c->s, id))
        return HERR_OK;
    return keep_one(it, env, len);
}

/* The next chunk of a streamed item, skipping chunks the peer holds entirely. */
static herr stream_refill(struct sync_session *s, struct item *it)
{
    struct stream_ctx c = {s, it};
    herr e = HERR_OK;
    while (!e && it->rpos == it->refs.n && !it->cur.done) {
        hbuf_reset(&it->pre);
        it->refs.n = 0;
        it->rpos = 0;
        e = s->ops->stream(s->ctx, &it->cur, s->upto, FETCH_CHUNK, STREAM_BYTES, stream_one, &c);
    }
    return e;
}

static bool events_exhausted(const struct item *it)
{
    if (it->streamed)
        return it->rpos == it->refs.n && it->cur.done;
    return it->ordered && it->rpos == it->refs.n && it->fetched == it->ids.n;
}

/* Replace the EVENTS message in s->out by a ZEVENTS when that is shorter. */
static herr compress_out(struct sync_session *s)
{
    if (!s->cctx && !(s->cctx = ZSTD_createCCtx()))
        return HERR_NOMEM;
    hbuf_reset(&s->zbuf);
    herr e = sync_encode_zevents(&s->zbuf, s->cctx, s->out.data, s->out.len);
    if (e == HERR_INVALID || e == HERR_TOO_LARGE || (!e && s->zbuf.len >= s->out.len))
        return HERR_OK; /* send it as it is */
    if (e)
        return e;
    struct hbuf t = s->out;
    s->out = s->zbuf;
    s->zbuf = t;
    s->st.zevents_sent++;
    s->st.zevents_bytes_sent += s->out.len;
    return HERR_OK;
}

/* One EVENTS frame, or nothing when the item has no more events. */
static herr frame_events(struct sync_session *s, struct item *it, bool *made)
{
    herr e = HERR_OK;
    *made = false;
    if (it->streamed && (e = stream_refill(s, it)))
        return e;
    if (!it->ordered && (e = events_prepare(s, it)))
        return e;
    if (it->rpos == it->refs.n && it->fetched < it->ids.n && (e = events_refill(s, it)))
        return e;
    if (!s->blobs && !(s->blobs = calloc(SYNC_MAX_EVENTS_PER_MSG, sizeof *s->blobs)))
        return HERR_NOMEM;
    struct store_blob *blobs = s->blobs;
    size_t nb = 0, size = SYNC_EVENTS_OVERHEAD;
    while (it->rpos < it->refs.n && nb < SYNC_MAX_EVENTS_PER_MSG) {
        const struct env_ref *r = (const struct env_ref *)vec_at(&it->refs, it->rpos);
        if (size + r->len + SYNC_EVENT_ITEM_OVERHEAD > s->peer_frame) {
            if (nb > 0)
                break;
            it->rpos++; /* cannot happen: the smallest frame holds the largest event */
            continue;
        }
        blobs[nb].p = it->pre.data + r->off;
        blobs[nb].n = r->len;
        size += r->len + SYNC_EVENT_ITEM_OVERHEAD;
        s->st.event_bytes_sent += r->len;
        nb++;
        it->rpos++;
    }
    if (nb == 0)
        return HERR_OK;
    s->st.events_sent += nb;
    *made = true;
    if ((e = sync_encode_events(&s->out, blobs, nb)) || !s->zsend)
        return e;
    return compress_out(s);
}

static herr frame_symbols(struct sync_session *s, struct item *it)
{
    uint32_t room = (uint32_t)((s->peer_frame - SYNC_SYMBOLS_OVERHEAD) / RECON_SYM_LEN);
    uint32_t n = it->sym_upto - it->sym_next;
    if (n > room)
        n = room;
    uint32_t cnt = 0;
    bool last = it->sym_next + n == it->sym_upto;
    if (last) {
        uint32_t croom =
            (uint32_t)((s->peer_frame - SYNC_SYMBOLS_OVERHEAD - (size_t)n * RECON_SYM_LEN) /
                       RECON_COUNT_LEN);
        cnt = it->cnt < croom ? it->cnt : croom;
    }
    herr e = hbuf_reserve(&s->out, (size_t)n * RECON_SYM_LEN + (size_t)cnt * RECON_COUNT_LEN);
    if (e)
        return e;
    uint8_t *syms = malloc((size_t)n * RECON_SYM_LEN + (size_t)cnt * RECON_COUNT_LEN + 1);
    if (!syms)
        return HERR_NOMEM;
    uint8_t *counts = syms + (size_t)n * RECON_SYM_LEN;
    recon_index_encode(s->idx, it->sym_next, n, syms);
    if (cnt)
        recon_index_encode_counts(s->idx, it->sym_upto, cnt, counts);
    e = sync_encode_symbols(&s->out, it->sym_next, last, syms, n, counts, cnt);
    free(syms);
    s->st.symbols_sent += n;
    it->sym_next += n;
    if (last)
        it->cnt = 0;
    return e;
}

static herr frame_keys(struct sync_session *s, struct item *it)
{
    size_t room = (s->peer_frame - SYNC_KEYS_OVERHEAD) / RECON_KEY_LEN;
    size_t n = it->keys.n - it->pos;
    if (n > room)
        n = room;
    bool last = it->pos + n == it->keys.n;
    herr e = sync_encode_keys(&s->out, it->type, last, vec_at(&it->keys, it->pos), (uint32_t)n);
    s->st.keys_sent += n;
    it->pos += n;
    return e;
}

/* Make the next frame from the head of the outbox into s->out; pop spent items. */
static herr produce(struct sync_session *s, bool *made, enum sync_type *type)
{
    *made = false;
    while (s->head && !*made) {
        struct item *it = s->head;
        bool spent = false;
        herr e = HERR_OK;
        hbuf_reset(&s->out);
        switch (it->kind) {
        case IT_MSG:
            e = hbuf_append(&s->out, it->msg.data, it->msg.len);
            *type = it->msg.len > 1 ? (enum sync_type)it->msg.data[1] : SYNC_DONE;
            *made = spent = true;
            break;
        case IT_SYMBOLS:
            e = frame_symbols(s, it);
            *type = SYNC_SYMBOLS;
            *made = true;
            spent = it->sym_next == it->sym_upto;
            break;
        case IT_KEYS:
            e = frame_keys(s, it);
            *type = it->type;
            *made = true;
            spent = it->pos == it->keys.n;
            break;
        case IT_EVENTS:
            e = frame_events(s, it, made);
            *type = SYNC_EVENTS;
            spent = events_exhausted(it);
            break;
        case IT_DONE:
            e = sync_encode_done(&s->out);
            *type = SYNC_DONE;
            *made = spent = true;
            break;
        }
        if (e)
            return e;
        if (spent) {
            s->head = it->next;
            if (!s->head)
                s->tail = NULL;
            item_free(it);
        }
    }
    return HERR_OK;
}

bool sync_session_next(struct sync_session *s, const uint8_t **msg, size_t *len)
{
    bool made = false;
    enum sync_type type = SYNC_DONE;
    herr e = produce(s, &made, &type);
    if (e) {
        local_failure(s, e, "cannot write a message");
        e = produce(s, &made, &type);
        if (e)
            made = false;
    }
    if (!made) {
        if (s->initiator && s->sent_since_wait && !s->ended)
            s->st.round_trips++;
        s->sent_since_wait = false;
        return false;
    }
    s->sent_since_wait = true;
    s->st.msgs_sent++;
    s->st.bytes_sent += s->out.len;
    if (is_recon(type))
        s->st.recon_bytes_sent += s->out.len;
    if (type == SYNC_DONE && !s->ended) {
        s->sent_done = true;
        s->last_word = s->got_done;
        check_complete(s);
    }
    *msg = s->out.data;
    *len = s->out.len;
    return true;
}

/* ---- life cycle ---- */

static herr catch_up_source(void *src, uint64_t arrival, recon_keys_fn fn, void *ctx)
{
    struct sync_session *s = src;
    return s->ops->keys_since(s->ctx, arrival, fn, ctx);
}

herr sync_session_new_ops(struct sync_session **out, const struct sync_ops *ops, void *ctx,
                          struct recon_index *idx, const struct sync_config *cfg)
{
    *out = NULL;
    struct sync_config c = {0};
    if (cfg)
        c = *cfg;
    if (c.max_frame == 0)
        c.max_frame = HEARTH_MAX_FRAME;
    if (c.few_send == 0)
        c.few_send = FEW_SEND;
    uint32_t log2 = 0;
    while (((uint32_t)1 << (log2 + 1)) <= c.max_frame && log2 < 31)
        log2++;
    if (c.max_frame > HEARTH_MAX_FRAME || log2 < SYNC_MIN_FRAME_LOG2 ||
        ((uint32_t)1 << log2) != c.max_frame || c.mode > SYNC_MODE_PUSH_ONLY)
        return HERR_USAGE;
    struct sync_session *s = calloc(1, sizeof *s);
    if (!s)
        return HERR_NOMEM;
    s->ops = ops;
    s->ctx = ctx;
    s->idx = idx;
    s->cfg = c;
    s->frame_log2 = log2;
    s->result = HERR_STATE;
    hbuf_init(&s->out, HEARTH_MAX_FRAME);
    hbuf_init(&s->zbuf, HEARTH_MAX_FRAME);
    vec_init(&s->peer_keys, RECON_KEY_LEN);
    vec_init(&s->want_keys, RECON_KEY_LEN);
    herr e = recon_index_catch_up(idx, catch_up_source, s);
    if (!e) {
        e = ops->forum(ctx, s->forum);
        s->has_forum = e == HERR_OK;
        if (e == HERR_STATE)
            e = HERR_OK;
    }
    if (e) {
        sync_session_destroy(&s);
        return e;
    }
    s->count = recon_index_count(idx);
    s->upto = recon_index_last_arrival(idx);
    recon_index_fingerprint(idx, s->fp);
    recon_index_hold(idx);
    s->holding = true;
    *out = s;
    return HERR_OK;
}

herr sync_session_start(struct sync_session *s)
{
    if (s->started || s->ended)
        return HERR_STATE;
    s->started = true;
    s->initiator = true;
    herr e = queue_hello(s, SYNC_PLAN_NONE, true);
    return e ? local_failure(s, e, "cannot write hello") : HERR_OK;
}

bool sync_session_done(const struct sync_session *s)
{
    return s->ended && !s->head;
}

bool sync_session_last_word(const struct sync_session *s)
{
    return s->ended && s->result == HERR_OK && s->last_word;
}

herr sync_session_result(const struct sync_session *s, const char **why)
{
    if (why)
        *why = s->why;
    return s->ended ? s->result : HERR_STATE;
}

const struct sync_stats *sync_session_stats(const struct sync_session *s)
{
    return &s->st;
}

void sync_session_destroy(struct sync_session **sp)
{
    if (!sp || !*sp)
        return;
    struct sync_session *s = *sp;
    let_go(s);
    outbox_clear(s, false);
    recon_decoder_destroy(&s->dec);
    vec_release(&s->peer_keys);
    vec_release(&s->want_keys);
    hbuf_release(&s->out);
    hbuf_release(&s->zbuf);
    ZSTD_freeCCtx(s->cctx);
    ZSTD_freeDCtx(s->dctx);
    free(s->blobs);
    free(s);
    *sp = NULL;
}

/* ---- the store as the session's store ---- */

static herr st_keys_since(void *ctx, uint64_t arrival, store_key_fn fn, void *fnctx)
{
    return store_keys_since(ctx, arrival, fn, fnctx);
}

static herr st_resolve(void *ctx, const uint8_t key[RECON_KEY_LEN], uint8_t id[HEARTH_ID_LEN])
{
    char hex[2 * RECON_KEY_LEN + 1];
    hex_encode(hex, key, RECON_KEY_LEN);
    return store_resolve(ctx, hex, id);
}

static herr st_get_many(void *ctx, const uint8_t (*ids)[HEARTH_ID_LEN], size_t n, store_event_fn fn,
                        void *fnctx)
{
    return store_get_many(ctx, ids, n, fn, fnctx);
}

static herr st_ingest(void *ctx, const struct store_blob *envs, size_t n, struct ingest_result *res,
                      size_t *accepted)
{
    return store_ingest(ctx, envs, n, res, accepted);
}

static herr st_forum(void *ctx, uint8_t forum[HEARTH_ID_LEN])
{
    return store_forum(ctx, forum);
}

static herr st_stream(void *ctx, struct store_cursor *cur, uint64_t upto, size_t max,
                      size_t max_bytes, store_stream_fn fn, void *fnctx)
{
    return store_stream(ctx, cur, upto, max, max_bytes, fn, fnctx);
}

static herr st_ids_in_order(void *ctx, store_id_fn fn, void *fnctx)
{
    return store_ids_in_order(ctx, fn, fnctx);
}

static herr st_sort_ids(void *ctx, uint8_t (*ids)[HEARTH_ID_LEN], size_t *n)
{
    return store_sort_ids(ctx, ids, n);
}

static const struct sync_ops store_ops = {
    st_keys_since, st_resolve, st_get_many,     st_ingest,
    st_forum,      st_stream,  st_ids_in_order, st_sort_ids,
};

herr sync_session_new(struct sync_session **out, struct store *store, struct recon_index *idx,
                      const struct sync_config *cfg)
{
    return sync_session_new_ops(out, &store_ops, store, idx, cfg);
}

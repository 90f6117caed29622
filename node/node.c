#include "node/node.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/bucket.h"
#include "node/clock.h"
#include "node/discovery.h"
#include "node/notify.h"
#include "node/peers.h"
#include "node/transport.h"
#include "store/event.h"
#include "sync/wire.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS (5 * 60 * 1000)
#define RELOAD_EVERY_MS 1000
#define ARRIVALS_EVERY_MS 200
#define RECONNECT_MIN_MS 1000
#define RECONNECT_MAX_MS 30000
/* A discovered or inbound peer not heard from for this long may give its place in a
 * full peer table to a new one; configured peers never do. */
#define EVICT_AFTER_MS (10 * 60 * 1000)
/* Lines about what peers can repeat at will are limited per window of this length;
 * the next line that gets through counts those that did not. */
#define WARN_EVERY_MS 10000
#define WARN_BURST 5       /* lines per window for each kind (peer and reason) */
#define WARN_BURST_ALL 100 /* lines per window of all kinds together */
/* When every inbound slot is taken, a new session may take the place of one that is
 * half-open — its peer said hello and nothing more, and it is the peer's turn (we
 * have nothing waiting to go) — for INBOUND_EVICT_HALF_OPEN_MS; failing that, of one
 * that has waited for its peer for INBOUND_EVICT_IDLE_MS; failing that, of one where
 * nothing moved for INBOUND_EVICT_STALL_MS (longer than a frame of ours takes to
 * cross a slow link). The one idle longest goes first, those from an address over
 * its share (NODE_MAX_INBOUND_PER_ADDR) before the rest; a new session from an
 * address over its share takes only the place of one from that address. So slots
 * held by silent peers do not lock honest peers out, and an honest transfer is not
 * cut for a pause: a frame that waits for our cap or the peer's queue is not the
 * peer's turn. */
#define INBOUND_EVICT_HALF_OPEN_MS 250
#define INBOUND_EVICT_IDLE_MS 2000
/* Eager push: keys taken from the store for one peer at a time, and how soon a
 * backlog that waits for a full queue is tried again. */
#define NODE_PUSH_CHUNK 32
#define PUSH_RETRY_MS 20
#define INBOUND_EVICT_STALL_MS 20000
/* How often the free space of the data directory is looked at (statvfs): a full disk
 * is noticed at once by the write that fails, and its end within this. */
#define SPACE_EVERY_MS 1000

/* ---- clocks and buckets ---- */

/* since - how long ago `then` was at `now`; 0 when then is later (it was read from the
 * clock after now was). */
static uint64_t since(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

/* jitter - ms scaled by a random factor in [0.75, 1.25). */
static uint64_t jitter(uint64_t ms)
{
    return ms * (750 + random_uniform(500)) / 1000;
}

/* ---- sessions on the wire ---- */

/* A session with the frame it could not send yet (the peer's queue was full). */
struct sess {
    struct sync_session *s;
    struct hbuf held;
    bool has_held;
    uint64_t last_ms;  /* the peer spoke, a frame of ours left, or our cap held one */
    uint64_t start_ms; /* when the session began */
    uint32_t heard;    /* messages the peer has sent in this session */
};

struct peer {
    bool used;
    struct peer_record rec;
    int conn;   /* outgoing connection, -1 when none */
    bool ready; /* conn was ready when last looked at */
    uint64_t next_attempt_ms, backoff_ms;
    struct sess out; /* the session we initiated on conn */
    struct bucket bucket;
    bool dirty;  /* rec changed since it was saved */
    bool stored; /* rec is (or was, until someone removed it) in the store */
    /* rec's endpoint and source as we last saved or loaded them: a stored record that
     * differs was changed by `hearth peers add` since. */
    char stored_endpoint[PEER_MAX_ENDPOINT], stored_source[16];
    uint64_t noted_ms; /* wall clock when this node first heard of it, this run */
    /* Where to push when we have no connection of our own: its last inbound route. */
    uint8_t route[TRANSPORT_MAX_ROUTE];
    size_t route_len;
    uint64_t bytes_sent, bytes_recv; /* this run */
    /* Eager push: every event of ours up to arrival push_from has been pushed to it
     * (or skipped, handed to a session, dropped and counted); push_wait_ms is when
     * its backlog last moved or began to wait (0: none). */
    uint64_t push_from, push_wait_ms;
};

struct inbound {
    bool used;
    uint8_t route[TRANSPORT_MAX_ROUTE];
    size_t route_len;
    char address[TRANSPORT_MAX_ADDRESS]; /* where its connection comes from */
    uint8_t key[HEARTH_PK_LEN];
    struct sess in;
};

_Static_assert(NODE_MAX_PEERS == NODE_STATUS_PEERS, "the status shows every peer");

/* Pushed events taken in one burst, committed together by flush_pushes. */
struct push_batch {
    struct hbuf bytes; /* the envelopes, end to end */
    size_t len[NODE_PUSH_BATCH];
    uint8_t from[NODE_PUSH_BATCH][HEARTH_PK_LEN];
    size_t n;
};

/* Where a pushed event came from: it need not go back there. */
struct push_source {
    uint8_t id[HEARTH_ID_LEN];
    uint8_t key[HEARTH_PK_LEN];
};

/* Events a session took from a peer: arrivals lo..hi. Push does not send them back. */
#define SESSION_SOURCES 64
struct session_source {
    uint64_t lo, hi;
    uint8_t key[HEARTH_PK_LEN];
};

struct node {
    struct store *st;
    bool restored; /* the replica was restored and has not synced since (store.h) */
    struct config cfg;
    const struct hlog *log;
    struct transport *tp;
    struct discovery *disc;
    struct recon_index *idx;
    uint8_t forum[HEARTH_ID_LEN];
    struct peer peers[NODE_MAX_PEERS];
    struct inbound in[NODE_MAX_INBOUND];
    struct bucket global;
    uint64_t next_ae, next_beacon, next_status, next_reload, next_arrivals;
    uint64_t next_push; /* when to try the push backlogs again (UINT64_MAX: none) */
    uint64_t arrived;   /* the newest arrival number seen in the replica */
    uint64_t started;   /* wall clock */
    /* Lines a peer can cause at will: refused sessions, messages outside a session,
     * evictions, rejected pushes, failed sessions it started. */
    struct hlog_limit busy_warn, stray_warn, evict_warn, full_push_warn, full_sync_warn;
    struct hlog_kinds push_warn, fail_warn; /* by reason */
    bool held_back;                         /* a session's frame waits for a queue or a cap */
    bool disk_full;      /* the store is full: no new events are taken (watch_space) */
    uint64_t next_space; /* when to look at the free space again */
    struct node_counters ctr;
    struct hbuf scratch;
    uint8_t push_ids[NODE_PUSH_MAX][HEARTH_ID_LEN];
    uint64_t push_arrivals[NODE_PUSH_MAX];                /* beside push_ids */
    struct push_source pushed_by[NODE_PUSH_MAX];          /* a ring of the latest pushes taken */
    struct session_source from_sessions[SESSION_SOURCES]; /* a ring */
    size_t from_sessions_next;
    struct push_batch pushes;
    size_t pushed_next;
    enum node_replica replica;
    uint64_t replica_checked;
    pthread_mutex_t stats_mu; /* guards stats, which node_stats reads from other threads */
    struct node_stats stats;
};

static void short_key(char out[13], const uint8_t key[HEARTH_PK_LEN])
{
    char hex[2 * HEARTH_PK_LEN + 1];
    hex_encode(hex, key, HEARTH_PK_LEN);
    memcpy(out, hex, 12);
    out[12] = 0;
}

/* test_dropped - the test knob: true when this contact is to fail. */
static bool test_dropped(struct node *n)
{
    if (!n->cfg.test_drop_permille || random_uniform(1000) >= n->cfg.test_drop_permille)
        return false;
    n->ctr.contacts_dropped++;
    return true;
}

/* msg_type - the type of a sync message (its array's first element), or -1. */
static int msg_type(const uint8_t *p, size_t n)
{
    if (n >= 2 && (p[0] & 0xf0) == 0x90 && p[1] < 0x80)
        return p[1];
    if (n >= 4 && p[0] == 0xdc && p[3] < 0x80)
        return p[3];
    return -1;
}

static bool is_push(const uint8_t *p, size_t n)
{
    return n >= 2 && p[0] == 0x92 && p[1] == SYNC_PUSH;
}

static void sess_end(struct sess *x)
{
    sync_session_destroy(&x->s);
    hbuf_release(&x->held);
    x->has_held = false;
}

static void log_session_line(void *ctx, const char *line)
{
    const struct hlog *log = ctx;
    hlog(log, HLOG_DEBUG, "sync: %s", line);
}

void node_sync_compat(struct sync_config *cfg)
{
    const char *v = getenv("HEARTH_SYNC_COMPAT");
    if (v && !strcmp(v, "legacy"))
        cfg->legacy = true;
    else if (v && !strcmp(v, "no-compress"))
        cfg->no_compress = true;
}

static herr sess_begin(struct node *n, struct sess *x, bool initiator)
{
    /* Small frames: ZeroMQ sees a link as alive only when whole messages cross it,
     * and 128 KiB crosses 64 kbit/s in 17 s where 1 MiB would take 131 s. */
    struct sync_config cfg = {
        .max_frame = NODE_FRAME, .log = log_session_line, .log_ctx = (void *)n->log};
    node_sync_compat(&cfg);
    herr e = sync_session_new(&x->s, n->st, n->idx, &cfg);
    if (!e && initiator)
        e = sync_session_start(x->s);
    if (e)
        sync_session_destroy(&x->s);
    hbuf_init(&x->held, HEARTH_MAX_FRAME);
    x->has_held = false;
    x->last_ms = x->start_ms = mono_ms();
    x->heard = 0;
    return e;
}

/* sess_pump - send what the session has, as far as caps and queues allow. Returns
 * HERR_NET when the peer is gone. */
static herr sess_pump(struct node *n, struct sess *x, int conn, const uint8_t *route,
                      size_t route_len, struct peer *p)
{
    struct bucket *pb = p ? &p->bucket : NULL;
    uint64_t now = mono_ms();
    while (x->s) {
        if (!x->has_held) {
            const uint8_t *msg;
            size_t len;
            if (!sync_session_next(x->s, &msg, &len))
                return HERR_OK;
            hbuf_reset(&x->held);
            if (hbuf_append(&x->held, msg, len) != HERR_OK)
                return HERR_NOMEM;
            x->has_held = true;
        }
        if (!bucket_ready(&n->global, now) || (pb && !bucket_ready(pb, now))) {
            /* A frame waiting for our own bandwidth cap is not the peer's idleness. */
            x->last_ms = now;
            n->held_back = true;
            return HERR_OK;
        }
        herr e = transport_send(n->tp, conn, route, route_len, x->held.data, x->held.len);
        if (e == HERR_BUSY) {
            n->held_back = true;
            return HERR_OK;
        }
        if (e)
            return e;
        n->ctr.bytes_sent += x->held.len;
        if (p)
            p->bytes_sent += x->held.len;
        /* A session that streams a large transfer hears nothing back for a long
         * while; frames leaving is progress too (a dead peer fills its queue). */
        x->last_ms = now;
        bucket_take(&n->global, x->held.len);
        if (pb)
            bucket_take(pb, x->held.len);
        x->has_held = false;
    }
    return HERR_OK;
}

/* send_error - an ERROR to a listener peer, so that its session ends at once instead
 * of waiting for our silence to time out. */
static void send_error(struct node *n, const uint8_t *route, size_t route_len, herr code,
                       const char *text)
{
    hbuf_reset(&n->scratch);
    if (sync_encode_error(&n->scratch, code, text) == HERR_OK &&
        transport_send(n->tp, -1, route, route_len, n->scratch.data, n->scratch.len) == HERR_OK)
        n->ctr.bytes_sent += n->scratch.len;
}

/* reply_error - answer m's sender, outside any session, with an ERROR. */
static void reply_error(struct node *n, const struct transport_msg *m, herr code, const char *text)
{
    send_error(n, m->route, m->route_len, code, text);
}

/* ---- peers ---- */

static struct peer *peer_find(struct node *n, const uint8_t key[HEARTH_PK_LEN])
{
    for (int i = 0; i < NODE_MAX_PEERS; i++)
        if (n->peers[i].used && memcmp(n->peers[i].rec.key, key, HEARTH_PK_LEN) == 0)
            return &n->peers[i];
    return NULL;
}

static struct peer *peer_by_conn(struct node *n, int conn)
{
    for (int i = 0; i < NODE_MAX_PEERS; i++)
        if (n->peers[i].used && n->peers[i].conn == conn)
            return &n->peers[i];
    return NULL;
}

/* named_source - a peer from hearth.conf, --peer or `hearth peers add`. */
static bool named_source(const char *source)
{
    return strcmp(source, "static") == 0 || strcmp(source, "added") == 0;
}

static bool configured(const struct peer *p)
{
    return named_source(p->rec.source);
}

static void peer_disconnect(struct node *n, struct peer *p)
{
    sess_end(&p->out);
    if (p->conn >= 0)
        transport_close(n->tp, p->conn);
    p->conn = -1;
    p->ready = false;
}

/* peer_drop - forget p in memory (the store is the caller's business). */
static void peer_drop(struct node *n, struct peer *p)
{
    peer_disconnect(n, p);
    p->used = false;
}

/* heard_ms - when we last heard of p (wall clock). */
static uint64_t heard_ms(const struct peer *p)
{
    return p->rec.last_seen > p->noted_ms ? p->rec.last_seen : p->noted_ms;
}

/* has_inbound - p has a session it started with us under way. */
static bool has_inbound(const struct node *n, const struct peer *p)
{
    for (int i = 0; i < NODE_MAX_INBOUND; i++)
        if (n->in[i].used && !memcmp(n->in[i].key, p->rec.key, HEARTH_PK_LEN))
            return true;
    return false;
}

/* evictable - a discovered or inbound peer with no live connection or session to give
 * its place to a new one: the one heard from longest ago, and not for EVICT_AFTER_MS
 * (any age when `for_configured`: a peer the operator named always gets a place).
 * NULL when none. */
static struct peer *evictable(struct node *n, bool for_configured)
{
    struct peer *best = NULL;
    uint64_t now = wall_ms();
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (!p->used || configured(p) || p->ready || p->out.s || has_inbound(n, p) ||
            (!for_configured && since(now, heard_ms(p)) < EVICT_AFTER_MS))
            continue;
        if (!best || heard_ms(p) < heard_ms(best))
            best = p;
    }
    return best;
}

/* peer_note - the peer with key, added when new and there is room (make_room: a
 * stale discovered or inbound peer may be forgotten for it; for a static or added
 * peer, any discovered or inbound one not in use); an endpoint given replaces another
 * one. Never ourselves. NULL when the table is full. */
static struct peer *peer_note(struct node *n, const uint8_t key[HEARTH_PK_LEN],
                              const char *endpoint, const char *source, bool make_room)
{
    bool named = named_source(source);
    if (memcmp(key, transport_key(n->tp), HEARTH_PK_LEN) == 0)
        return NULL;
    struct peer *p = peer_find(n, key);
    if (!p) {
        for (int i = 0; i < NODE_MAX_PEERS && !p; i++)
            if (!n->peers[i].used)
                p = &n->peers[i];
        if (!p && (make_room || named) && (p = evictable(n, named)) != NULL) {
            char k[13];
            short_key(k, p->rec.key);
            hlog(n->log, HLOG_INFO, "peer %s: forgotten to make room (not seen for %" PRIu64 " s)",
                 k, since(wall_ms(), heard_ms(p)) / 1000);
            if (peer_record_forget(n->st, p->rec.key) == HERR_IO)
                hlog(n->log, HLOG_WARN, "peers: cannot forget %s: %s", k, store_errmsg(n->st));
            peer_drop(n, p);
        }
        if (!p)
            return NULL;
        memset(p, 0, sizeof *p);
        p->used = true;
        p->conn = -1;
        p->noted_ms = wall_ms();
        p->push_from = n->arrived; /* what arrived before is its first session's business */
        memcpy(p->rec.key, key, HEARTH_PK_LEN);
        snprintf(p->rec.source, sizeof p->rec.source, "%s", source);
        bucket_init(&p->bucket, n->cfg.peer_rate, mono_ms());
        p->dirty = true;
    }
    if (endpoint && endpoint[0] && strcmp(p->rec.endpoint, endpoint) != 0) {
        /* A connection to the old place is of no more use. */
        if (p->conn >= 0)
            peer_disconnect(n, p);
        snprintf(p->rec.endpoint, sizeof p->rec.endpoint, "%s", endpoint);
        p->next_attempt_ms = 0;
        p->dirty = true;
    }
    return p;
}

static void peer_failed(struct node *n, struct peer *p, const char *why)
{
    char k[13];
    short_key(k, p->rec.key);
    p->rec.failures++;
    p->dirty = true;
    p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (p->backoff_ms > BACKOFF_MAX_MS)
        p->backoff_ms = BACKOFF_MAX_MS;
    p->next_attempt_ms = mono_ms() + jitter(p->backoff_ms);
    hlog(n->log, HLOG_WARN, "peer %s: %s; retrying in %" PRIu64 " s", k, why,
         (p->next_attempt_ms - mono_ms() + 999) / 1000);
    peer_disconnect(n, p);
}

/* removed - true when p was in the store and someone (`hearth peers remove`) took it
 * out; static peers come from hearth.conf and cannot be removed that way. */
static bool removed(struct node *n, struct peer *p)
{
    struct peer_record r;
    return p->stored && strcmp(p->rec.source, "static") != 0 &&
           peer_record_load(n->st, p->rec.key, &r) == HERR_NOT_FOUND;
}

/* adopt_stored - what `hearth peers add` changed in p's stored record r since we last
 * saved or loaded it (a new endpoint, or the peer made ours) wins over what we hold;
 * counters of ours still to be saved stay. */
static void adopt_stored(struct node *n, struct peer *p, const struct peer_record *r)
{
    if (strcmp(r->endpoint, p->stored_endpoint) == 0 && strcmp(r->source, p->stored_source) == 0)
        return;
    bool dirty = p->dirty;
    peer_note(n, r->key, r->endpoint, r->source, false);
    if (strcmp(r->source, p->rec.source) != 0 && strcmp(r->source, "added") == 0) {
        snprintf(p->rec.source, sizeof p->rec.source, "%s", r->source);
        p->next_attempt_ms = 0;
    }
    p->dirty = dirty;
}

static void peer_save(struct node *n, struct peer *p)
{
    if (!p->dirty)
        return;
    /* Saving would bring back a peer removed since we last looked. */
    if (removed(n, p)) {
        char k[13];
        short_key(k, p->rec.key);
        hlog(n->log, HLOG_INFO, "peer %s: removed; no longer syncing with it", k);
        peer_drop(n, p);
        return;
    }
    /* Read first: what `hearth peers add` wrote since we last looked must not be saved
     * over (another process; the window left is the one between these two calls). */
    struct peer_record r;
    if (p->stored && peer_record_load(n->st, p->rec.key, &r) == HERR_OK)
        adopt_stored(n, p, &r);
    if (peer_record_save(n->st, &p->rec) == HERR_OK) {
        p->dirty = false;
        p->stored = true;
        memcpy(p->stored_endpoint, p->rec.endpoint, sizeof p->stored_endpoint);
        memcpy(p->stored_source, p->rec.source, sizeof p->stored_source);
    }
}

static herr load_one(void *ctx, const struct peer_record *r)
{
    struct node *n = ctx;
    struct peer *p = peer_find(n, r->key);
    if (!p && strcmp(r->source, "inbound") == 0)
        return HERR_OK; /* forgotten at start (node_new); comes back when it connects */
    if (!p) {
        p = peer_note(n, r->key, r->endpoint, r->source, false);
        if (!p)
            return HERR_OK;
        p->rec.last_seen = r->last_seen;
        p->rec.last_sync = r->last_sync;
        p->rec.failures = r->failures;
        p->dirty = false;
    } else {
        adopt_stored(n, p, r);
    }
    memcpy(p->stored_endpoint, r->endpoint, sizeof p->stored_endpoint);
    memcpy(p->stored_source, r->source, sizeof p->stored_source);
    p->stored = true;
    return HERR_OK;
}

/* reload_peers - pick up static peers and what `hearth peers` changed. */
static void reload_peers(struct node *n)
{
    for (size_t i = 0; i < n->cfg.n_peers; i++) {
        uint8_t key[HEARTH_PK_LEN];
        char ep[PEER_MAX_ENDPOINT];
        if (address_parse(n->cfg.peers[i], key, ep, sizeof ep, NULL) == HERR_OK)
            peer_note(n, key, ep, "static", true);
    }
    if (peer_record_each(n->st, load_one, n) != HERR_OK)
        hlog(n->log, HLOG_WARN, "peers: cannot read the peer list: %s", store_errmsg(n->st));
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (p->used && removed(n, p)) {
            char k[13];
            short_key(k, p->rec.key);
            hlog(n->log, HLOG_INFO, "peer %s: removed; no longer syncing with it", k);
            peer_drop(n, p);
        }
    }
}

static bool allowed(struct node *n, const uint8_t key[HEARTH_PK_LEN])
{
    return n->cfg.access == ACCESS_OPEN || peer_allowed(n->st, key);
}

static bool allow_peer(void *ctx, const uint8_t key[HEARTH_PK_LEN], const char *address)
{
    (void)address;
    return allowed(ctx, key);
}

/* ---- what arrives ---- */

/* warn_kind - the kind of a line about a peer's doing: the peer and the reason. */
static uint64_t warn_kind(const uint8_t key[HEARTH_PK_LEN], const char *why)
{
    return hlog_kind(why, strlen(why), hlog_kind(key, HEARTH_PK_LEN, 0));
}

static void flush_pushes(struct node *n);

/* refuse_full - count (and now and then log) what a peer offered while the disk is
 * full. */
static void refuse_full(struct node *n, const uint8_t key[HEARTH_PK_LEN], bool push)
{
    uint64_t more;
    char k[13];
    n->ctr.full_refused++;
    short_key(k, key);
    if (hlog_due(push ? &n->full_push_warn : &n->full_sync_warn, mono_ms(), &more))
        hlog(n->log, HLOG_INFO, "disk full: refused a %s from %s (%" PRIu64 " unlogged before)",
             push ? "push" : "sync", k, more);
}

/* handle_push - decode a pushed event and queue it for flush_pushes: the pushes that
 * arrive in one burst are verified and committed in one transaction (one fsync), not
 * one each. */
static void handle_push(struct node *n, const struct transport_msg *m)
{
    const uint8_t *env;
    size_t len;
    const char *why;
    char k[13];
    short_key(k, m->peer);
    n->ctr.pushes_recv++;
    if (n->disk_full) { /* anti-entropy brings it once there is room */
        refuse_full(n, m->peer, true);
        return;
    }
    if (sync_push_decode(m->data, m->len, &env, &len, &why) != HERR_OK) {
        uint64_t more;
        if (hlog_due_kind(&n->push_warn, warn_kind(m->peer, why), mono_ms(), &more))
            hlog(n->log, HLOG_WARN, "peer %s: rejected a push: %s (%" PRIu64 " unlogged before)", k,
                 why, more);
        return;
    }
    struct push_batch *b = &n->pushes;
    if (b->n == NODE_PUSH_BATCH || hbuf_append(&b->bytes, env, len) != HERR_OK) {
        flush_pushes(n);
        if (hbuf_append(&b->bytes, env, len) != HERR_OK) {
            hlog(n->log, HLOG_ERROR, "store: no memory for a pushed event");
            return;
        }
    }
    b->len[b->n] = len;
    memcpy(b->from[b->n], m->peer, HEARTH_PK_LEN);
    b->n++;
}

/* flush_pushes - verify and commit the queued pushes, and say what became of each. */
static void flush_pushes(struct node *n)
{
    struct push_batch *b = &n->pushes;
    if (b->n == 0)
        return;
    struct store_blob blobs[NODE_PUSH_BATCH];
    struct ingest_result r[NODE_PUSH_BATCH];
    size_t off = 0;
    for (size_t i = 0; i < b->n; i++) {
        blobs[i] = (struct store_blob){b->bytes.data + off, b->len[i]};
        off += b->len[i];
    }
    herr e = store_ingest(n->st, blobs, b->n, r, NULL);
    if (e == HERR_FULL)
        n->next_space = 0; /* see to it now */
    for (size_t i = 0; i < b->n; i++) {
        char k[13];
        short_key(k, b->from[i]);
        if (e) {
            hlog(n->log, HLOG_ERROR, "store: cannot apply %zu pushed events: %s", b->n,
                 store_errmsg(n->st));
            break;
        }
        if (r[i].err && r[i].err != HERR_DUPLICATE) {
            const char *why = r[i].why ? r[i].why : herr_str(r[i].err);
            uint64_t more;
            if (hlog_due_kind(&n->push_warn, warn_kind(b->from[i], why), mono_ms(), &more))
                hlog(n->log, HLOG_WARN,
                     "peer %s: rejected a pushed event: %s: %s (%" PRIu64 " unlogged before)", k,
                     herr_str(r[i].err), why, more);
        } else if (!r[i].err && r[i].has_id) {
            n->ctr.pushes_new++;
            struct push_source *ps = &n->pushed_by[n->pushed_next++ % NODE_PUSH_MAX];
            memcpy(ps->id, r[i].id, HEARTH_ID_LEN);
            memcpy(ps->key, b->from[i], HEARTH_PK_LEN);
        }
    }
    b->n = 0;
    hbuf_reset(&b->bytes);
}

/* warn_failed - the line for a failed session with `key`; the ones others start can
 * fail as often as they like, so their lines are limited (per peer and reason). */
static void warn_failed(struct node *n, const uint8_t key[HEARTH_PK_LEN], bool initiator,
                        const char *what)
{
    char k[13];
    uint64_t more = 0;
    short_key(k, key);
    if (initiator)
        hlog(n->log, HLOG_WARN, "sync with %s failed: %s", k, what);
    else if (hlog_due_kind(&n->fail_warn, warn_kind(key, what), mono_ms(), &more))
        hlog(n->log, HLOG_WARN, "sync with %s failed: %s (%" PRIu64 " unlogged before)", k, what,
             more);
}

/* session_finished - log and count the end of a session, then free it; returns how it
 * ended. */
static herr session_finished(struct node *n, struct sess *x, const uint8_t key[HEARTH_PK_LEN],
                             bool initiator)
{
    const char *why;
    herr e = sync_session_result(x->s, &why);
    const struct sync_stats *st = sync_session_stats(x->s);
    char k[13];
    short_key(k, key);
    struct peer *p = peer_find(n, key);
    if (e) {
        n->ctr.sessions_failed++;
        if (e == HERR_FULL)
            n->next_space = 0;
        char what[256];
        snprintf(what, sizeof what, "%s%s%s", herr_str(e), *why ? ": " : "", why);
        warn_failed(n, key, initiator, what);
        if (p && !initiator) { /* an initiator's caller backs off, which counts it */
            p->rec.failures++;
            p->dirty = true;
        }
    } else {
        n->ctr.sessions_ok++;
        /* A session that found the sets equal is routine: worth a line only in debug. */
        bool moved = st->events_sent || st->events_recv;
        hlog(n->log, moved ? HLOG_INFO : HLOG_DEBUG,
             "sync with %s (%s, %s): sent %" PRIu64 " events, received %" PRIu64 " (%" PRIu64
             " new, %" PRIu64 " rejected), %" PRIu64 " B out, %" PRIu64 " B in",
             k, initiator ? "we asked" : "they asked", sync_plan_name(st->plan), st->events_sent,
             st->events_recv, st->events_accepted, st->events_rejected, st->bytes_sent,
             st->bytes_recv);
        bool was = false;
        if (n->restored && store_clear_restored(n->st, &was) != HERR_OK) {
            hlog(n->log, HLOG_WARN, "restore: cannot clear the restored mark: %s",
                 store_errmsg(n->st));
        } else if (n->restored) {
            n->restored = false;
            hlog(n->log, HLOG_INFO,
                 "restore: synced with %s since the restore; this node signs again", k);
        }
        if (p) {
            p->rec.last_sync = wall_ms();
            p->rec.failures = 0;
            p->backoff_ms = 0;
            p->dirty = true;
        }
    }
    sess_end(x);
    return e;
}

static void inbound_free(struct inbound *b)
{
    sess_end(&b->in);
    b->used = false;
}

/* from_address - inbound sessions under way from `address` ("" counts none). */
static unsigned from_address(const struct node *n, const char *address)
{
    unsigned k = 0;
    for (int i = 0; address[0] && i < NODE_MAX_INBOUND; i++)
        k += n->in[i].used && !strcmp(n->in[i].address, address);
    return k;
}

/* evict_pass - how readily b gives its place (INBOUND_EVICT_*): 0 half-open, 1 waiting
 * for its peer, 2 stalled, 3 not at all. */
static int evict_pass(const struct inbound *b, uint64_t now)
{
    uint64_t idle = since(now, b->in.last_ms);
    bool peers_turn = !b->in.has_held;
    if (peers_turn && b->in.heard <= 1 && idle >= INBOUND_EVICT_HALF_OPEN_MS)
        return 0;
    if (peers_turn && idle >= INBOUND_EVICT_IDLE_MS)
        return 1;
    return idle >= INBOUND_EVICT_STALL_MS ? 2 : 3;
}

/* idlest_inbound - the session to give way to a new one from `address`: the most
 * ready to (evict_pass), then from an address over its share, then idle longest;
 * only among those from `address` when `own`. NULL when none. */
static struct inbound *idlest_inbound(struct node *n, const char *address, bool own)
{
    struct inbound *best = NULL;
    int best_pass = 3;
    bool best_over = false;
    uint64_t now = mono_ms();
    for (int i = 0; i < NODE_MAX_INBOUND; i++) {
        struct inbound *b = &n->in[i];
        if (!b->used || !b->in.s || (own && strcmp(b->address, address) != 0))
            continue;
        int pass = evict_pass(b, now);
        bool over = from_address(n, b->address) > NODE_MAX_INBOUND_PER_ADDR;
        if (pass == 3 || pass > best_pass)
            continue;
        if (best && pass == best_pass &&
            (best_over > over || (best_over == over && b->in.last_ms >= best->in.last_ms)))
            continue;
        best = b, best_pass = pass, best_over = over;
    }
    return best;
}

/* inbound_for - the session slot of the listener peer m came from. A HELLO starts a
 * session (and ends whatever this key had going on another route: a node has one
 * connection to us, so that one is dead); any other message belongs to a session
 * already under way. NULL when there is none (*full: because every slot is taken). */
static struct inbound *inbound_for(struct node *n, const struct transport_msg *m, bool hello,
                                   bool *full)
{
    struct inbound *found = NULL, *free_slot = NULL;
    *full = false;
    for (int i = 0; i < NODE_MAX_INBOUND; i++) {
        struct inbound *b = &n->in[i];
        if (!b->used) {
            if (!free_slot)
                free_slot = b;
            continue;
        }
        if (memcmp(b->key, m->peer, HEARTH_PK_LEN) != 0)
            continue;
        if (b->route_len == m->route_len && memcmp(b->route, m->route, m->route_len) == 0)
            found = b;
        else if (hello) {
            char k[13];
            short_key(k, b->key);
            hlog(n->log, HLOG_DEBUG, "sync: %s reconnected; its old session is dropped", k);
            inbound_free(b);
            if (!free_slot)
                free_slot = b;
        }
    }
    if (!hello)
        return found;
    if (found) /* the peer gave up on the old session and starts again */
        inbound_free(found);
    struct inbound *b = found ? found : free_slot;
    bool own = from_address(n, m->address) >= NODE_MAX_INBOUND_PER_ADDR;
    if (!b && (b = idlest_inbound(n, m->address, own)) != NULL) {
        char k[13];
        short_key(k, b->key);
        uint64_t more;
        if (hlog_due(&n->evict_warn, mono_ms(), &more))
            hlog(n->log, HLOG_INFO,
                 "sync: every session slot taken; %s's, idle for %" PRIu64
                 " s, gives its place to a new one (%" PRIu64 " unlogged before)",
                 k, since(mono_ms(), b->in.last_ms) / 1000, more);
        send_error(n, b->route, b->route_len, HERR_BUSY,
                   "your session was idle and gave its place to another; try again later");
        n->ctr.sessions_failed++;
        n->ctr.inbound_evicted++;
        inbound_free(b);
    }
    if (!b) {
        *full = true;
        return NULL;
    }
    memset(b, 0, sizeof *b);
    b->used = true;
    b->route_len = m->route_len;
    memcpy(b->route, m->route, m->route_len);
    memcpy(b->key, m->peer, HEARTH_PK_LEN);
    memcpy(b->address, m->address, sizeof b->address);
    return b;
}

static void refuse_busy(struct node *n, const struct transport_msg *m)
{
    n->ctr.busy_refused++;
    reply_error(n, m, HERR_BUSY, "too many sessions at once; try again later");
    uint64_t more;
    if (hlog_due(&n->busy_warn, mono_ms(), &more))
        hlog(n->log, HLOG_WARN,
             "sync: %d sessions under way, none idle; refused one (%" PRIu64 " unlogged before)",
             NODE_MAX_INBOUND, more);
}

/* seen - the peer just spoke; worth saving once a minute (sessions and failures save
 * it anyway), so that `hearth peers` shows when we last heard a peer that only pushes. */
static void seen(struct peer *p)
{
    uint64_t now = wall_ms();
    if (since(now, p->rec.last_seen) >= 60000)
        p->dirty = true;
    p->rec.last_seen = now;
}

/* session_receive - hand m to session s with the peer `key`; the events it accepts are
 * remembered as that peer's (push then does not send them back to it). */
static herr session_receive(struct node *n, struct sync_session *s, const uint8_t *key,
                            const struct transport_msg *m)
{
    uint64_t before = 0, after = 0;
    uint64_t accepted = sync_session_stats(s)->events_accepted;
    bool events =
        msg_type(m->data, m->len) == SYNC_EVENTS && store_last_arrival(n->st, &before) == HERR_OK;
    herr e = sync_session_receive(s, m->data, m->len);
    if (events && sync_session_stats(s)->events_accepted > accepted &&
        store_last_arrival(n->st, &after) == HERR_OK) {
        struct session_source *src =
            &n->from_sessions[(n->from_sessions_next + SESSION_SOURCES - 1) % SESSION_SOURCES];
        if (n->from_sessions_next && src->hi == before && !memcmp(src->key, key, HEARTH_PK_LEN)) {
            src->hi = after; /* the same session's next batch */
        } else {
            src = &n->from_sessions[n->from_sessions_next++ % SESSION_SOURCES];
            src->lo = before + 1;
            src->hi = after;
            memcpy(src->key, key, HEARTH_PK_LEN);
        }
    }
    return e;
}

static void handle_inbound(struct node *n, const struct transport_msg *m)
{
    int type = msg_type(m->data, m->len);
    struct peer *p = peer_note(n, m->peer, NULL, "inbound", true);
    if (p) {
        seen(p);
        p->route_len = m->route_len;
        memcpy(p->route, m->route, m->route_len);
    }
    if (n->disk_full && type == SYNC_HELLO) {
        refuse_full(n, m->peer, false);
        reply_error(n, m, HERR_FULL,
                    "this node's disk is full: it takes no new events until space is freed");
        return;
    }
    bool full;
    struct inbound *b = inbound_for(n, m, type == SYNC_HELLO, &full);
    if (!b) {
        if (full)
            refuse_busy(n, m);
        else if (type != SYNC_ERROR) { /* a session we ended or never had (we restarted) */
            reply_error(n, m, HERR_STATE, "no session under way; start again with a hello");
            uint64_t more;
            char k[13];
            short_key(k, m->peer);
            if (hlog_due(&n->stray_warn, mono_ms(), &more))
                hlog(n->log, HLOG_INFO,
                     "peer %s: a message outside a session (no hello first, or the session "
                     "ended) answered with an error (%" PRIu64 " unlogged before)",
                     k, more);
        }
        return;
    }
    if (!b->in.s && sess_begin(n, &b->in, false) != HERR_OK) {
        hlog(n->log, HLOG_ERROR, "sync: cannot start a session: %s", store_errmsg(n->st));
        inbound_free(b);
        return;
    }
    b->in.last_ms = mono_ms();
    b->in.heard++;
    /* A failure ends the session; tend_sessions reports it with the session's result. */
    if (session_receive(n, b->in.s, b->key, m) != HERR_OK)
        hlog(n->log, HLOG_DEBUG, "sync: an inbound session ended in error");
}

static void handle_outbound(struct node *n, const struct transport_msg *m)
{
    struct peer *p = peer_by_conn(n, m->conn);
    if (!p)
        return;
    seen(p);
    if (!p->out.s) {
        char k[13];
        short_key(k, p->rec.key);
        hlog(n->log, HLOG_DEBUG, "peer %s: message outside a session ignored", k);
        return;
    }
    p->out.last_ms = mono_ms();
    p->out.heard++;
    if (session_receive(n, p->out.s, p->rec.key, m) != HERR_OK)
        hlog(n->log, HLOG_DEBUG, "sync: an outbound session ended in error");
}

/* push_in_session - m is a PUSH that came inside a session with its sender (on the
 * route of a session it started with us, or on our connection after the peer's
 * HELLO, until the session ends): a protocol error (docs/PROTOCOL.md, 7.10). The
 * push is refused, the session ends with ERROR 19, and it is counted and logged.
 * Returns false when m is an ordinary push. */
static bool push_in_session(struct node *n, const struct transport_msg *m)
{
    static const char why[] = "a push inside a session";
    hbuf_reset(&n->scratch);
    if (m->conn >= 0) {
        struct peer *p = peer_by_conn(n, m->conn);
        if (!p || !p->out.s || !p->out.heard || sync_session_result(p->out.s, NULL) != HERR_STATE)
            return false;
        if (sync_encode_error(&n->scratch, HERR_PROTOCOL, why) == HERR_OK &&
            transport_send(n->tp, p->conn, NULL, 0, n->scratch.data, n->scratch.len) == HERR_OK)
            n->ctr.bytes_sent += n->scratch.len;
        n->ctr.push_in_session++;
        n->ctr.sessions_failed++;
        peer_failed(n, p, "protocol error: it sent a push inside our session");
        return true;
    }
    for (int i = 0; i < NODE_MAX_INBOUND; i++) {
        struct inbound *b = &n->in[i];
        if (!b->used || !b->in.s || b->route_len != m->route_len ||
            memcmp(b->key, m->peer, HEARTH_PK_LEN) != 0 ||
            memcmp(b->route, m->route, m->route_len) != 0 ||
            sync_session_result(b->in.s, NULL) != HERR_STATE)
            continue;
        send_error(n, m->route, m->route_len, HERR_PROTOCOL, why);
        n->ctr.push_in_session++;
        n->ctr.sessions_failed++;
        warn_failed(n, b->key, false, "protocol error: a push inside a session");
        inbound_free(b);
        return true;
    }
    return false;
}

static void handle(struct node *n, const struct transport_msg *m)
{
    n->ctr.bytes_recv += m->len;
    struct peer *from = m->conn >= 0 ? peer_by_conn(n, m->conn) : peer_find(n, m->peer);
    if (from)
        from->bytes_recv += m->len;
    /* In allow-list mode a key taken off the list is not heard any more, even on a
     * connection it opened while it was on it. */
    if (m->conn < 0 && n->cfg.access == ACCESS_ALLOWLIST && !allowed(n, m->peer)) {
        char k[13];
        short_key(k, m->peer);
        hlog(n->log, HLOG_DEBUG, "peer %s: not on the allow-list; message dropped", k);
        if (!is_push(m->data, m->len) && msg_type(m->data, m->len) != SYNC_ERROR)
            reply_error(n, m, HERR_DENIED, "not on this node's allow-list");
        return;
    }
    if (is_push(m->data, m->len)) {
        if (!push_in_session(n, m))
            handle_push(n, m);
    } else if (m->conn < 0)
        handle_inbound(n, m);
    else
        handle_outbound(n, m);
}

/* ---- what we do on our own: eager push ---- */

/* Keys taken from the store for one peer's backlog in one go. */
struct collect {
    uint8_t (*ids)[HEARTH_ID_LEN];
    uint64_t *arrivals;
    size_t n, max;
};

/* collect_one - note one key; HERR_FULL (not an error: the caller's stop) once full. */
static herr collect_one(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                        uint64_t arrival)
{
    struct collect *c = ctx;
    (void)created;
    if (c->n == c->max)
        return HERR_FULL;
    memcpy(c->ids[c->n], id, HEARTH_ID_LEN);
    c->arrivals[c->n++] = arrival;
    return HERR_OK;
}

static herr count_one(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                      uint64_t arrival)
{
    (void)id, (void)created, (void)arrival;
    (*(uint64_t *)ctx)++;
    return HERR_OK;
}

/* source_of - the peer the event (id, arrival) came from lately, by a push or in a
 * session, or NULL. */
static const uint8_t *source_of(const struct node *n, const uint8_t id[HEARTH_ID_LEN],
                                uint64_t arrival)
{
    for (size_t i = 0; i < NODE_PUSH_MAX; i++)
        if (memcmp(n->pushed_by[i].id, id, HEARTH_ID_LEN) == 0)
            return n->pushed_by[i].key;
    for (size_t i = 0; i < SESSION_SOURCES; i++) {
        const struct session_source *src = &n->from_sessions[i];
        if (src->hi && src->lo <= arrival && arrival <= src->hi)
            return src->key;
    }
    return NULL;
}

/* open_session - a session is under way on the channel a push to p would take (our
 * connection, or its route to our listener): from the HELLO that began it to its
 * end. A push must not go inside it (docs/PROTOCOL.md, 7.10). */
static bool open_session(const struct node *n, const struct peer *p, bool conn)
{
    if (conn)
        return p->out.s && sync_session_result(p->out.s, NULL) == HERR_STATE;
    for (int i = 0; i < NODE_MAX_INBOUND; i++) {
        const struct inbound *b = &n->in[i];
        if (b->used && b->in.s && b->route_len == p->route_len &&
            !memcmp(b->key, p->rec.key, HEARTH_PK_LEN) &&
            !memcmp(b->route, p->route, p->route_len) &&
            sync_session_result(b->in.s, NULL) == HERR_STATE)
            return true;
    }
    return false;
}

static void start_session(struct node *n, struct peer *p);

/* push_give_up - p's backlog will not be pushed: too large, stuck, or its route is
 * gone. When we can, a session with p starts now and carries it (handed to sync);
 * otherwise it is dropped, and anti-entropy repairs it (the next round of ours over
 * our connection, or the peer's own over its connection to us). Counted either way,
 * and logged: a warning, but for a peer that has gone (a `hearth sync` that ended is
 * routine). */
static void push_give_up(struct node *n, struct peer *p, const char *why, bool gone)
{
    uint64_t left = 0;
    if (store_keys_since(n->st, p->push_from, count_one, &left) != HERR_OK)
        left = n->arrived - p->push_from;
    p->push_from = n->arrived;
    p->push_wait_ms = 0;
    bool handed = false;
    if (p->conn >= 0 && p->ready && !p->out.s &&
        transport_conn_state(n->tp, p->conn) == CONN_READY) {
        start_session(n, p);
        handed = p->out.s != NULL;
    }
    if (handed)
        n->ctr.pushes_handed_to_sync += left;
    else
        n->ctr.pushes_dropped += left;
    char k[13];
    short_key(k, p->rec.key);
    uint64_t more;
    if (left && hlog_due_kind(&n->push_warn, warn_kind(p->rec.key, why), mono_ms(), &more))
        hlog(n->log, handed || gone ? HLOG_INFO : HLOG_WARN,
             "push: %" PRIu64 " events for %s %s (%s; %" PRIu64 " unlogged before)", left, k,
             handed ? "handed to a session started now" : "dropped, left to anti-entropy", why,
             more);
}

/* A push being sent: the frame, and how the send went. */
struct push_try {
    struct node *n;
    struct peer *p;
    bool conn;
    herr sent;
};

static herr push_send(void *ctx, const uint8_t *env, size_t len)
{
    struct push_try *t = ctx;
    struct node *n = t->n;
    hbuf_reset(&n->scratch);
    herr e = sync_encode_push(&n->scratch, env, len);
    if (e)
        return e;
    t->sent = t->conn ? transport_send(n->tp, t->p->conn, NULL, 0, n->scratch.data, n->scratch.len)
                      : transport_send(n->tp, -1, t->p->route, t->p->route_len, n->scratch.data,
                                       n->scratch.len);
    if (t->sent == HERR_OK) {
        n->ctr.pushes_sent++;
        n->ctr.bytes_sent += n->scratch.len;
        bucket_take(&n->global, n->scratch.len);
        t->p->bytes_sent += n->scratch.len;
        bucket_take(&t->p->bucket, n->scratch.len);
    }
    return HERR_OK;
}

/* push_peer - push to p what arrived since its cursor, in arrival order, until its
 * queue is full or a cap is spent (the rest waits for the next turn). Returns true
 * when something moved. */
static bool push_peer(struct node *n, struct peer *p, uint64_t now)
{
    if (p->push_from >= n->arrived)
        return false;
    bool conn = p->conn >= 0 && transport_conn_state(n->tp, p->conn) == CONN_READY;
    if (n->cfg.test_no_push || (!conn && !p->route_len)) {
        /* Not connected: the session at its next connection brings it all. */
        p->push_from = n->arrived;
        return false;
    }
    if (!p->push_wait_ms)
        p->push_wait_ms = now;
    if (n->arrived - p->push_from > NODE_PUSH_BACKLOG) {
        push_give_up(n, p, "more than a session's worth", false);
        return false;
    }
    if (open_session(n, p, conn)) {
        p->push_wait_ms = now; /* the session moves; the pushes wait for its end */
        return false;
    }
    if (since(now, p->push_wait_ms) > NODE_PUSH_STALL_MS) {
        push_give_up(n, p, "its queue stayed full", false);
        return false;
    }
    struct collect c = {n->push_ids, n->push_arrivals, 0, NODE_PUSH_CHUNK};
    herr e = store_keys_since(n->st, p->push_from, collect_one, &c);
    if (e && e != HERR_FULL)
        return false;
    bool moved = false;
    for (size_t i = 0; i < c.n; i++) {
        const uint8_t *source = source_of(n, n->push_ids[i], n->push_arrivals[i]);
        if (source && !memcmp(source, p->rec.key, HEARTH_PK_LEN)) {
            p->push_from = n->push_arrivals[i]; /* not back where it came from */
            continue;
        }
        if (test_dropped(n)) {
            n->ctr.pushes_dropped++;
            p->push_from = n->push_arrivals[i];
            continue;
        }
        if (!bucket_ready(&n->global, now) || !bucket_ready(&p->bucket, now))
            break; /* our cap: the push waits for tokens, like a session's frame */
        struct push_try t = {n, p, conn, HERR_NOT_FOUND};
        if (store_get_many(n->st, (const uint8_t(*)[HEARTH_ID_LEN])n->push_ids[i], 1, push_send,
                           &t) != HERR_OK) {
            hlog(n->log, HLOG_WARN, "push: cannot read a new event: %s", store_errmsg(n->st));
            break;
        }
        if (t.sent == HERR_BUSY)
            break;
        if (t.sent == HERR_NET) {
            if (!conn)
                p->route_len = 0; /* gone; a new route comes with its next message */
            push_give_up(n, p, "it is gone", true);
            return moved;
        }
        /* Sent, or no longer held (HERR_NOT_FOUND: purged meanwhile). */
        p->push_from = n->push_arrivals[i];
        p->push_wait_ms = now;
        moved = true;
    }
    if (p->push_from >= n->arrived)
        p->push_wait_ms = 0;
    return moved;
}

/* push_arrivals - note what arrived in the replica since we last looked, and push
 * every peer's backlog as far as its queue takes it; when a backlog remains, the
 * next try is soon (at once when something moved). */
static void push_arrivals(struct node *n, uint64_t now, bool look)
{
    uint64_t last;
    if (look && store_last_arrival(n->st, &last) == HERR_OK && last > n->arrived)
        n->arrived = last;
    bool moved = false, waiting = false;
    uint64_t backlog = 0;
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (!p->used)
            continue;
        moved |= push_peer(n, p, now);
        if (p->push_from < n->arrived) {
            waiting = true;
            backlog += n->arrived - p->push_from;
        }
    }
    n->ctr.push_backlog = backlog;
    n->next_push = !waiting ? UINT64_MAX : moved ? now : now + PUSH_RETRY_MS;
}

/* start_session - begin anti-entropy with p, unless the test knob says this contact
 * fails. */
static void start_session(struct node *n, struct peer *p)
{
    if (n->disk_full || test_dropped(n))
        return;
    if (sess_begin(n, &p->out, true) != HERR_OK)
        hlog(n->log, HLOG_ERROR, "sync: cannot start a session: %s", store_errmsg(n->st));
    else
        p->push_from = n->arrived; /* the session compares all we hold */
}

/* anti_entropy - a session with `fanout` connected peers chosen at random among
 * those not in a session with us already. */
static void anti_entropy(struct node *n)
{
    struct peer *ready[NODE_MAX_PEERS];
    unsigned count = 0;
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (p->used && p->ready && !p->out.s)
            ready[count++] = p;
    }
    for (unsigned k = 0; k < n->cfg.fanout && count > 0; k++) {
        unsigned j = random_uniform(count);
        struct peer *p = ready[j];
        ready[j] = ready[--count];
        start_session(n, p);
    }
}

/* connect_due - open connections that are due, and follow those that are open: a
 * connection that comes up gets a session at once (a link that has just appeared is
 * worth using before the next period), one that drops ends its session. */
static void connect_due(struct node *n, uint64_t now)
{
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (!p->used || !p->rec.endpoint[0])
            continue;
        if (p->conn >= 0) {
            enum conn_state st = transport_conn_state(n->tp, p->conn);
            char k[13];
            short_key(k, p->rec.key);
            if (st == CONN_REFUSED) {
                peer_failed(n, p, "it refused our connection");
            } else if (st == CONN_BAD_KEY) {
                peer_failed(n, p,
                            "the handshake did not complete (another key at that address, or the "
                            "link dropped)");
            } else if (st == CONN_READY && !p->ready) {
                p->ready = true;
                hlog(n->log, HLOG_INFO, "peer %s: connected to %s", k, p->rec.endpoint);
                if (!p->out.s)
                    start_session(n, p);
            } else if (st != CONN_READY && p->ready) {
                p->ready = false;
                hlog(n->log, HLOG_INFO, "peer %s: connection lost; reconnecting", k);
                if (p->out.s) {
                    /* The socket may still hold replies of the session cut short;
                     * a new one keeps them out of the next session. */
                    n->ctr.sessions_failed++;
                    p->rec.failures++;
                    p->dirty = true;
                    peer_disconnect(n, p);
                    p->next_attempt_ms = now;
                }
            }
            if (p->conn >= 0)
                continue;
        }
        if (now < p->next_attempt_ms)
            continue;
        if (n->cfg.access == ACCESS_ALLOWLIST && !configured(p) && !allowed(n, p->rec.key)) {
            p->next_attempt_ms = now + RELOAD_EVERY_MS;
            continue;
        }
        if (transport_connect(n->tp, p->rec.key, p->rec.endpoint, &p->conn) != HERR_OK) {
            p->conn = -1;
            peer_failed(n, p, "cannot connect");
        }
    }
}

static void discovery_tick(struct node *n, uint64_t now)
{
    if (!n->disc)
        return;
    if (now >= n->next_beacon) {
        unsigned sent;
        if (discovery_announce(n->disc, &sent) != HERR_OK)
            hlog(n->log, HLOG_DEBUG, "discovery: cannot list interfaces");
        n->next_beacon = now + jitter(n->cfg.discovery_interval * 1000ULL);
    }
    if (!transport_fd_ready(n->tp))
        return;
    struct discovery_peer dp;
    bool got;
    for (int i = 0; i < 16; i++) {
        if (discovery_read(n->disc, now, &dp, &got) != HERR_OK || !got)
            break;
        char ep[PEER_MAX_ENDPOINT], k[13];
        snprintf(ep, sizeof ep, "tcp://%s:%u", dp.host, dp.port);
        short_key(k, dp.key);
        /* In allow-list mode a stranger's beacon is not worth a connection. */
        if (n->cfg.access == ACCESS_ALLOWLIST && !allowed(n, dp.key)) {
            hlog(n->log, HLOG_DEBUG, "discovery: node %s at %s is not on the allow-list", k, ep);
            continue;
        }
        struct peer *p = peer_find(n, dp.key);
        if (p && p->ready && strcmp(p->rec.endpoint, ep) != 0) {
            /* Beacons are not signed: one naming a connected peer at another place is
             * not worth its connection (a neighbour could forge them to keep it cut off). */
            hlog(n->log, HLOG_DEBUG, "discovery: node %s at %s ignored: connected at %s", k, ep,
                 p->rec.endpoint);
            continue;
        }
        if (!p || strcmp(p->rec.endpoint, ep) != 0)
            hlog(n->log, HLOG_INFO, "discovery: found node %s at %s", k, ep);
        if (p && configured(p))
            continue; /* the operator's endpoint wins over a beacon */
        peer_note(n, dp.key, ep, "discovered", true);
    }
}

/* idle_ms - a session in which nothing moves for this long ends: longer than the
 * link timeout, so that a slow frame is not mistaken for a dead peer. */
static uint64_t idle_ms(const struct node *n)
{
    return (n->cfg.link_timeout + NODE_SESSION_GRACE) * 1000ULL;
}

/* first_reply_ms - how long an outbound session waits for the peer's hello (9 s by
 * default): a hello is small, and while we wait the session holds the recon index,
 * which stops catching up for every other session (sync/session.h). */
static uint64_t first_reply_ms(const struct node *n)
{
    return n->cfg.link_timeout * 1000ULL / 5;
}

/* sess_over - the session has ended and its last frame has left: a frame still held
 * (the peer's queue full, or our cap) is its last word, often its DONE, and must not
 * be dropped with the session. */
static bool sess_over(const struct sess *x)
{
    return sync_session_done(x->s) && !x->has_held;
}

/* tend_sessions - pump every session, and end those that are done or idle. */
static void tend_sessions(struct node *n, uint64_t now)
{
    n->held_back = false;
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (!p->used || !p->out.s)
            continue;
        if (sess_pump(n, &p->out, p->conn, NULL, 0, p) == HERR_NET)
            peer_failed(n, p, "the connection dropped");
        else if (sess_over(&p->out) && session_finished(n, &p->out, p->rec.key, true) != HERR_OK) {
            /* What the peer still sends of a failed session must not reach the next
             * one: start again on a new socket, after a back-off (a peer that fails
             * every session must not be hammered). */
            peer_failed(n, p, "the sync failed");
        } else if (!p->out.heard && since(now, p->out.start_ms) > first_reply_ms(n)) {
            /* While a session waits for the peer's hello it holds the recon index
             * (sync/session.h), which then stops catching up for every other
             * session: a peer behind a link that has just died must not keep it. */
            n->ctr.sessions_failed++;
            peer_failed(n, p, "no answer to our hello");
        } else if (since(now, p->out.last_ms) > idle_ms(n)) {
            n->ctr.sessions_failed++;
            peer_failed(n, p, "the session went quiet");
        }
    }
    for (int i = 0; i < NODE_MAX_INBOUND; i++) {
        struct inbound *b = &n->in[i];
        if (!b->used)
            continue;
        struct peer *p = peer_find(n, b->key);
        herr e = b->in.s ? sess_pump(n, &b->in, -1, b->route, b->route_len, p) : HERR_OK;
        if (b->in.s && sess_over(&b->in))
            (void)session_finished(n, &b->in, b->key, false);
        else if (e == HERR_NET || since(now, b->in.last_ms) > idle_ms(n)) {
            n->ctr.sessions_failed++;
            warn_failed(n, b->key, false,
                        e == HERR_NET ? "the peer is gone" : "the peer went quiet");
            sess_end(&b->in);
        }
        if (!b->in.s)
            b->used = false;
    }
}

/* ---- status ---- */

static const char *peer_state(struct node *n, const struct peer *p)
{
    if (p->out.s)
        return "syncing";
    if (p->ready)
        return "connected";
    if (p->conn >= 0)
        return "connecting";
    return p->rec.endpoint[0] ? "waiting" : "inbound";
}

static unsigned inbound_sessions(const struct node *n)
{
    unsigned k = 0;
    for (int i = 0; i < NODE_MAX_INBOUND; i++)
        k += n->in[i].used;
    return k;
}

static herr source_keys(void *src, uint64_t arrival, recon_keys_fn fn, void *ctx)
{
    return store_keys_since(src, arrival, fn, ctx);
}

static unsigned outbound_sessions(const struct node *n)
{
    unsigned k = 0;
    for (int i = 0; i < NODE_MAX_PEERS; i++)
        k += n->peers[i].used && n->peers[i].out.s;
    return k;
}

/* take_stats - a new snapshot of what the node holds and did, under the lock. */
static void take_stats(struct node *n)
{
    /* The recon index holds every event: caught up (a few new keys, when no session
     * holds it) it counts them for nothing, where store_stats reads whole tables. */
    if (!recon_index_held(n->idx) && recon_index_catch_up(n->idx, source_keys, n->st) != HERR_OK)
        hlog(n->log, HLOG_WARN, "status: cannot catch the index up: %s", store_errmsg(n->st));
    const struct node_counters *c = &n->ctr;
    pthread_mutex_lock(&n->stats_mu);
    struct node_stats *s = &n->stats;
    s->pid = (uint64_t)getpid();
    snprintf(s->version, sizeof s->version, "%s", HEARTH_VERSION);
    snprintf(s->listen, sizeof s->listen, "%s", node_endpoint(n));
    snprintf(s->access, sizeof s->access, "%s",
             n->cfg.access == ACCESS_OPEN ? "open" : "allowlist");
    s->discovery = n->disc != NULL;
    s->interval = n->cfg.sync_interval;
    s->fanout = n->cfg.fanout;
    s->taken = wall_ms();
    s->started = n->started;
    s->events = recon_index_count(n->idx);
    s->bytes_sent = c->bytes_sent;
    s->bytes_recv = c->bytes_recv;
    s->sessions_ok = c->sessions_ok;
    s->sessions_failed = c->sessions_failed;
    s->sessions_in = inbound_sessions(n);
    s->sessions_out = outbound_sessions(n);
    s->busy_refused = c->busy_refused;
    s->pushes_sent = c->pushes_sent;
    s->pushes_recv = c->pushes_recv;
    s->pushes_new = c->pushes_new;
    s->contacts_dropped = c->contacts_dropped;
    s->pushes_dropped = c->pushes_dropped;
    s->pushes_handed_to_sync = c->pushes_handed_to_sync;
    s->push_backlog = c->push_backlog;
    s->inbound_evicted = c->inbound_evicted;
    s->push_in_session = c->push_in_session;
    s->disk_full = n->disk_full;
    s->full_refused = c->full_refused;
    store_ingest_tally(n->st, &s->ingest);
    s->replica = n->replica;
    s->replica_checked = n->replica_checked;
    s->npeers = 0;
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        const struct peer *p = &n->peers[i];
        if (!p->used)
            continue;
        struct node_peer_stats *ps = &s->peers[s->npeers++];
        hex_encode(ps->key, p->rec.key, HEARTH_PK_LEN);
        snprintf(ps->endpoint, sizeof ps->endpoint, "%s", p->rec.endpoint);
        snprintf(ps->source, sizeof ps->source, "%s", p->rec.source);
        snprintf(ps->state, sizeof ps->state, "%s", peer_state(n, p));
        ps->bytes_sent = p->bytes_sent;
        ps->bytes_recv = p->bytes_recv;
        ps->last_seen = p->rec.last_seen;
        ps->last_sync = p->rec.last_sync;
        ps->failures = p->rec.failures;
    }
    pthread_mutex_unlock(&n->stats_mu);
}

void node_stats(struct node *n, struct node_stats *out)
{
    pthread_mutex_lock(&n->stats_mu);
    *out = n->stats;
    pthread_mutex_unlock(&n->stats_mu);
}

void node_note_replica(struct node *n, enum node_replica r, uint64_t when_ms)
{
    n->replica = r;
    n->replica_checked = when_ms;
}

static void write_status(struct node *n)
{
    take_stats(n);
    hbuf_reset(&n->scratch);
    pthread_mutex_lock(&n->stats_mu);
    herr e = node_status_json(&n->stats, &n->scratch);
    pthread_mutex_unlock(&n->stats_mu);
    if (!e && store_meta_set(n->st, "node:status", (const char *)n->scratch.data) != HERR_OK)
        hlog(n->log, n->disk_full ? HLOG_DEBUG : HLOG_WARN, "status: cannot save: %s",
             store_errmsg(n->st));
    for (int i = 0; i < NODE_MAX_PEERS; i++)
        if (n->peers[i].used)
            peer_save(n, &n->peers[i]);
}

/* ---- the node ---- */

herr node_new(struct node **out, struct store *st, const struct config *cfg,
              const uint8_t seed[HEARTH_SEED_LEN], const struct hlog *log, const char **why)
{
    *out = NULL;
    struct node *n = calloc(1, sizeof *n);
    if (!n)
        return HERR_NOMEM;
    n->st = st;
    n->restored = store_restored(st, NULL) == HERR_OK;
    n->cfg = *cfg;
    n->log = log;
    n->started = wall_ms();
    pthread_mutex_init(&n->stats_mu, NULL);
    n->busy_warn = (struct hlog_limit){.every_ms = WARN_EVERY_MS, .burst = 1};
    n->full_push_warn = n->full_sync_warn =
        (struct hlog_limit){.every_ms = WARN_EVERY_MS, .burst = 1};
    n->stray_warn = (struct hlog_limit){.every_ms = WARN_EVERY_MS, .burst = WARN_BURST};
    n->evict_warn = (struct hlog_limit){.every_ms = WARN_EVERY_MS, .burst = WARN_BURST};
    n->push_warn = n->fail_warn =
        (struct hlog_kinds){.every_ms = WARN_EVERY_MS,
                            .burst = WARN_BURST,
                            .all = {.every_ms = WARN_EVERY_MS, .burst = WARN_BURST_ALL}};
    hbuf_init(&n->scratch, HEARTH_MAX_FRAME + 64);
    hbuf_init(&n->pushes.bytes, NODE_PUSH_BATCH * (size_t)HEARTH_MAX_EVENT);
    for (int i = 0; i < NODE_MAX_PEERS; i++)
        n->peers[i].conn = -1;
    herr e = store_forum(st, n->forum);
    if (e) {
        *why = "this replica belongs to no forum yet";
        goto fail;
    }
    /* The index is built before we listen, so the first session is as quick as any. */
    e = recon_index_new(&n->idx);
    if (!e)
        e = recon_index_catch_up(n->idx, source_keys, st);
    if (e) {
        *why = "cannot index the replica";
        goto fail;
    }
    e = store_last_arrival(st, &n->arrived);
    if (e) {
        *why = "cannot read the replica";
        goto fail;
    }
    /* Reconnecting less often than we sync would only delay the first sync after a
     * link comes back. */
    uint64_t reconnect = n->cfg.sync_interval * 1000ULL;
    reconnect = reconnect < RECONNECT_MIN_MS   ? RECONNECT_MIN_MS
                : reconnect > RECONNECT_MAX_MS ? RECONNECT_MAX_MS
                                               : reconnect;
    struct transport_opts o = {.listen = n->cfg.listen,
                               .allow = allow_peer,
                               .allow_ctx = n,
                               .reconnect_max_ms = (int)reconnect,
                               .link_timeout_ms = (int)n->cfg.link_timeout * 1000,
                               .log = log};
    e = transport_new(&n->tp, seed, &o, why);
    if (e)
        goto fail;
    bucket_init(&n->global, n->cfg.rate, mono_ms());
    if (n->cfg.discovery) {
        struct beacon b = {0};
        memcpy(b.forum, n->forum, HEARTH_ID_LEN);
        memcpy(b.key, transport_key(n->tp), HEARTH_PK_LEN);
        const char *colon = strrchr(transport_endpoint(n->tp), ':');
        b.port = colon ? (uint16_t)atoi(colon + 1) : 0;
        e = discovery_new(&n->disc, &b, n->cfg.discovery_port, n->cfg.discovery_interval * 2000,
                          log, why);
        if (e)
            goto fail;
        transport_watch_fd(n->tp, discovery_fd(n->disc));
    }
    /* Nodes that connected to an earlier run come back when they connect again: a
     * crowd of keys that came and went must not fill the table at a restart. */
    size_t old_inbound;
    if (peer_record_forget_source(st, "inbound", &old_inbound) != HERR_OK)
        hlog(log, HLOG_WARN, "peers: cannot forget the inbound peers of the last run: %s",
             store_errmsg(st));
    else if (old_inbound)
        hlog(log, HLOG_DEBUG, "peers: forgot %zu inbound peers of the last run", old_inbound);
    reload_peers(n);
    *out = n;
    return HERR_OK;
fail:
    node_destroy(&n);
    return e;
}

void node_destroy(struct node **np)
{
    struct node *n = *np;
    if (!n)
        return;
    for (int i = 0; i < NODE_MAX_PEERS; i++)
        if (n->peers[i].used)
            sess_end(&n->peers[i].out);
    for (int i = 0; i < NODE_MAX_INBOUND; i++)
        if (n->in[i].used)
            sess_end(&n->in[i].in);
    discovery_destroy(&n->disc);
    transport_destroy(&n->tp);
    recon_index_destroy(&n->idx);
    hbuf_release(&n->scratch);
    hbuf_release(&n->pushes.bytes);
    pthread_mutex_destroy(&n->stats_mu);
    free(n);
    *np = NULL;
}

const char *node_endpoint(const struct node *n)
{
    return transport_endpoint(n->tp);
}

/* next_timeout - how long to wait for a message: until the next timer, or a little
 * while when frames are held back (a queue drains and a bucket fills without a
 * message to wake us). */
static int next_timeout(struct node *n, uint64_t now)
{
    uint64_t next = n->next_ae;
    uint64_t t[] = {n->next_status, n->next_reload, n->next_arrivals, n->next_push,
                    n->disc ? n->next_beacon : UINT64_MAX};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i] < next)
            next = t[i];
    uint64_t wait = since(next, now);
    uint64_t most = n->held_back ? 20 : 1000;
    return (int)(wait > most ? most : wait);
}

static void human_bytes(char *buf, size_t size, uint64_t v)
{
    if (v < 1024 * 1024)
        snprintf(buf, size, "%" PRIu64 " KiB", (v + 1023) / 1024);
    else
        snprintf(buf, size, "%.1f MiB", (double)v / (1024 * 1024));
}

/* watch_space - follow the store's full state (store_space): when the disk fills up,
 * say so once, as an error naming what to free, and take no new events (pushes and
 * sessions from peers are refused, none are started); when space returns, say so and
 * sync at once. */
static void watch_space(struct node *n, uint64_t now)
{
    struct store_space sp;
    if (now < n->next_space)
        return;
    n->next_space = now + SPACE_EVERY_MS;
    if (store_space(n->st, &sp) != HERR_OK || sp.full == n->disk_full)
        return;
    char have[32], need[32];
    human_bytes(have, sizeof have, sp.avail);
    human_bytes(need, sizeof need, sp.need);
    n->disk_full = sp.full;
    if (sp.full) {
        hlog(n->log, HLOG_ERROR,
             "disk full: the data directory %s has %s free and needs %s: free space on that "
             "disk; until then this node takes no new events (syncs and pushes from peers, "
             "and posts, are refused)",
             store_dir(n->st), have, need);
    } else {
        hlog(n->log, HLOG_INFO, "disk: %s free in %s again; taking new events", have,
             store_dir(n->st));
        n->next_ae = now;
    }
}

static void run_timers(struct node *n, uint64_t now)
{
    watch_space(n, now);
    connect_due(n, now);
    if (now >= n->next_arrivals) {
        push_arrivals(n, now, true);
        n->next_arrivals = now + ARRIVALS_EVERY_MS;
    } else if (now >= n->next_push) {
        push_arrivals(n, now, false);
    }
    if (now >= n->next_ae) {
        anti_entropy(n);
        n->next_ae = now + jitter(n->cfg.sync_interval * 1000ULL);
    }
    if (now >= n->next_reload) {
        reload_peers(n);
        n->next_reload = now + RELOAD_EVERY_MS;
    }
    tend_sessions(n, now);
    if (now >= n->next_status) {
        write_status(n);
        n->next_status = now + NODE_STATUS_MS;
    }
}

herr node_run(struct node *n, volatile sig_atomic_t *stop)
{
    char k[13];
    short_key(k, transport_key(n->tp));
    uint64_t now = mono_ms();
    n->next_ae = now + jitter(1000);
    /* The status first, then READY=1: `systemctl start` returns on READY=1, and a
     * `hearth status` right after it must find the node running. */
    write_status(n);
    n->next_status = now + NODE_STATUS_MS;
    n->next_reload = now + RELOAD_EVERY_MS;
    n->next_arrivals = now;
    n->next_push = UINT64_MAX;
    n->next_beacon = now;
    if (n->cfg.test_drop_permille || n->cfg.test_no_push)
        hlog(n->log, HLOG_WARN, "test settings: %u/1000 of contacts fail%s",
             n->cfg.test_drop_permille, n->cfg.test_no_push ? ", no eager push" : "");
    hlog(n->log, HLOG_INFO, "node %s ready, listening on %s", k, node_endpoint(n));
    notify_send("READY=1");
    herr e = HERR_OK;
    while (!*stop) {
        run_timers(n, mono_ms());
        struct transport_msg m;
        bool got;
        e = transport_poll(n->tp, next_timeout(n, mono_ms()), &m, &got);
        if (e)
            break;
        /* Take what has queued up, a bounded number at a time (then the timers get
         * their turn); a stop request is looked at between messages, so that a burst
         * cannot hold it up. A message is only taken when it will be handled. */
        for (int i = 1; got; i++) {
            handle(n, &m);
            if (i == NODE_PUSH_BATCH || *stop || transport_poll(n->tp, 0, &m, &got) != HERR_OK)
                break;
        }
        flush_pushes(n);
        discovery_tick(n, mono_ms());
    }
    notify_send("STOPPING=1");
    hlog(n->log, HLOG_INFO, "node %s stopping%s", k, *stop ? " (asked to)" : "");
    for (int i = 0; i < NODE_MAX_PEERS; i++)
        if (n->peers[i].used)
            peer_save(n, &n->peers[i]);
    herr d = store_meta_delete(n->st, "node:status");
    if (d && d != HERR_NOT_FOUND)
        hlog(n->log, HLOG_WARN, "status: cannot clear: %s", store_errmsg(n->st));
    return e;
}

#include "node/node.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/clock.h"
#include "node/discovery.h"
#include "node/notify.h"
#include "node/peers.h"
#include "node/transport.h"
#include "sync/wire.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS (5 * 60 * 1000)
#define STATUS_EVERY_MS 2000
#define RELOAD_EVERY_MS 5000
#define ARRIVALS_EVERY_MS 200

/* ---- clocks and buckets ---- */

/* jitter - ms scaled by a random factor in [0.75, 1.25). */
static uint64_t jitter(uint64_t ms)
{
    return ms * (750 + random_uniform(500)) / 1000;
}

/* A token bucket that may go into debt: a frame is sent when the balance is
 * positive and then paid for in full, so a cap holds on average whatever the frame
 * size, and frames keep their order. rate 0: no cap. Burst: one second's worth. */
struct bucket {
    uint64_t rate; /* bytes per second */
    int64_t tokens;
    uint64_t last_ms;
};

static void bucket_init(struct bucket *b, uint64_t rate, uint64_t now)
{
    b->rate = rate;
    b->tokens = (int64_t)rate;
    b->last_ms = now;
}

static bool bucket_ready(struct bucket *b, uint64_t now)
{
    if (!b->rate)
        return true;
    b->tokens += (int64_t)((now - b->last_ms) * b->rate / 1000);
    b->last_ms = now;
    if (b->tokens > (int64_t)b->rate)
        b->tokens = (int64_t)b->rate;
    return b->tokens > 0;
}

static void bucket_take(struct bucket *b, size_t n)
{
    if (b->rate)
        b->tokens -= (int64_t)n;
}

/* ---- sessions on the wire ---- */

/* A session with the frame it could not send yet (the peer's queue was full). */
struct sess {
    struct sync_session *s;
    struct hbuf held;
    bool has_held;
    uint64_t last_ms; /* when the peer last spoke */
};

struct peer {
    bool used;
    struct peer_record rec;
    int conn; /* outgoing connection, -1 when none */
    uint64_t next_attempt_ms, backoff_ms;
    struct sess out; /* the session we initiated on conn */
    struct bucket bucket;
    bool dirty; /* rec changed since it was saved */
    /* Where to push when we have no connection of our own: its last inbound route. */
    uint8_t route[TRANSPORT_MAX_ROUTE];
    size_t route_len;
};

struct inbound {
    bool used;
    uint8_t route[TRANSPORT_MAX_ROUTE];
    size_t route_len;
    uint8_t key[HEARTH_PK_LEN];
    struct sess in;
};

struct node {
    struct store *st;
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
    uint64_t last_pushed; /* arrival number pushed up to */
    uint64_t started;     /* wall clock */
    struct hbuf scratch;
    uint8_t push_ids[NODE_PUSH_MAX][HEARTH_ID_LEN];
};

static void short_key(char out[13], const uint8_t key[HEARTH_PK_LEN])
{
    char hex[2 * HEARTH_PK_LEN + 1];
    hex_encode(hex, key, HEARTH_PK_LEN);
    memcpy(out, hex, 12);
    out[12] = 0;
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
    hlog(log, HLOG_INFO, "sync: %s", line);
}

static herr sess_begin(struct node *n, struct sess *x, bool initiator)
{
    struct sync_config cfg = {.log = log_session_line, .log_ctx = (void *)n->log};
    herr e = sync_session_new(&x->s, n->st, n->idx, &cfg);
    if (!e && initiator)
        e = sync_session_start(x->s);
    if (e)
        sync_session_destroy(&x->s);
    hbuf_init(&x->held, HEARTH_MAX_FRAME);
    x->has_held = false;
    x->last_ms = mono_ms();
    return e;
}

/* sess_pump - send what the session has, as far as caps and queues allow. Returns
 * HERR_NET when the peer is gone. */
static herr sess_pump(struct node *n, struct sess *x, int conn, const uint8_t *route,
                      size_t route_len, struct bucket *pb)
{
    uint64_t now = mono_ms();
    while (x->s) {
        if (!bucket_ready(&n->global, now) || (pb && !bucket_ready(pb, now)))
            return HERR_OK;
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
        herr e = transport_send(n->tp, conn, route, route_len, x->held.data, x->held.len);
        if (e == HERR_BUSY)
            return HERR_OK;
        if (e)
            return e;
        bucket_take(&n->global, x->held.len);
        if (pb)
            bucket_take(pb, x->held.len);
        x->has_held = false;
    }
    return HERR_OK;
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

/* peer_note - the peer with key (added when new and there is room); an endpoint
 * given replaces an unknown one. Never ourselves. */
static struct peer *peer_note(struct node *n, const uint8_t key[HEARTH_PK_LEN],
                              const char *endpoint, const char *source)
{
    if (memcmp(key, transport_key(n->tp), HEARTH_PK_LEN) == 0)
        return NULL;
    struct peer *p = peer_find(n, key);
    if (!p) {
        for (int i = 0; i < NODE_MAX_PEERS && !p; i++)
            if (!n->peers[i].used)
                p = &n->peers[i];
        if (!p)
            return NULL;
        memset(p, 0, sizeof *p);
        p->used = true;
        p->conn = -1;
        memcpy(p->rec.key, key, HEARTH_PK_LEN);
        snprintf(p->rec.source, sizeof p->rec.source, "%s", source);
        bucket_init(&p->bucket, n->cfg.peer_rate, mono_ms());
        p->dirty = true;
    }
    if (endpoint && endpoint[0] && strcmp(p->rec.endpoint, endpoint) != 0) {
        snprintf(p->rec.endpoint, sizeof p->rec.endpoint, "%s", endpoint);
        p->next_attempt_ms = 0;
        p->dirty = true;
    }
    return p;
}

static void peer_disconnect(struct node *n, struct peer *p)
{
    sess_end(&p->out);
    if (p->conn >= 0)
        transport_close(n->tp, p->conn);
    p->conn = -1;
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
         (p->next_attempt_ms - mono_ms()) / 1000);
    peer_disconnect(n, p);
}

static void peer_save(struct node *n, struct peer *p)
{
    if (!p->dirty)
        return;
    if (peer_record_save(n->st, &p->rec) == HERR_OK)
        p->dirty = false;
}

static herr load_one(void *ctx, const struct peer_record *r)
{
    struct node *n = ctx;
    struct peer *p = peer_note(n, r->key, r->endpoint, r->source);
    if (p && !p->dirty) /* what we know in memory is newer than the store */
        return HERR_OK;
    if (p) {
        p->rec.last_seen = p->rec.last_seen > r->last_seen ? p->rec.last_seen : r->last_seen;
        p->rec.last_sync = p->rec.last_sync > r->last_sync ? p->rec.last_sync : r->last_sync;
        p->rec.failures = r->failures;
        snprintf(p->rec.source, sizeof p->rec.source, "%s", r->source);
    }
    return HERR_OK;
}

/* reload_peers - pick up static peers and what `hearth peers` changed. */
static void reload_peers(struct node *n)
{
    for (size_t i = 0; i < n->cfg.n_peers; i++) {
        uint8_t key[HEARTH_PK_LEN];
        char ep[PEER_MAX_ENDPOINT];
        if (address_parse(n->cfg.peers[i], key, ep, sizeof ep, NULL) == HERR_OK)
            peer_note(n, key, ep, "static");
    }
    if (peer_record_each(n->st, load_one, n) != HERR_OK)
        hlog(n->log, HLOG_WARN, "peers: cannot read the peer list: %s", store_errmsg(n->st));
    /* A peer removed with `hearth peers remove` disappears from the store. */
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        struct peer_record r;
        if (p->used && !p->dirty && strcmp(p->rec.source, "static") != 0 &&
            peer_record_load(n->st, p->rec.key, &r) == HERR_NOT_FOUND) {
            peer_disconnect(n, p);
            p->used = false;
        }
    }
}

static bool allow_peer(void *ctx, const uint8_t key[HEARTH_PK_LEN], const char *address)
{
    struct node *n = ctx;
    (void)address;
    return n->cfg.access == ACCESS_OPEN || peer_allowed(n->st, key);
}

/* ---- what arrives ---- */

static bool is_push(const uint8_t *p, size_t n)
{
    return n >= 2 && p[0] == 0x92 && p[1] == SYNC_PUSH;
}

static void handle_push(struct node *n, const struct transport_msg *m)
{
    const uint8_t *env;
    size_t len;
    const char *why;
    char k[13];
    short_key(k, m->peer);
    if (sync_push_decode(m->data, m->len, &env, &len, &why) != HERR_OK) {
        hlog(n->log, HLOG_WARN, "peer %s: rejected a push: %s", k, why);
        return;
    }
    struct store_blob b = {env, len};
    struct ingest_result r;
    herr e = store_ingest(n->st, &b, 1, &r, NULL);
    if (e)
        hlog(n->log, HLOG_ERROR, "store: cannot apply a pushed event: %s", store_errmsg(n->st));
    else if (r.err && r.err != HERR_DUPLICATE)
        hlog(n->log, HLOG_WARN, "peer %s: rejected a pushed event: %s: %s", k, herr_str(r.err),
             r.why);
}

static void session_finished(struct node *n, struct sess *x, const uint8_t key[HEARTH_PK_LEN],
                             bool initiator)
{
    const char *why;
    herr e = sync_session_result(x->s, &why);
    const struct sync_stats *st = sync_session_stats(x->s);
    char k[13];
    short_key(k, key);
    struct peer *p = peer_find(n, key);
    if (e) {
        hlog(n->log, HLOG_WARN, "sync with %s failed: %s%s%s", k, herr_str(e), *why ? ": " : "",
             why);
        if (p) {
            p->rec.failures++;
            p->dirty = true;
        }
    } else {
        hlog(n->log, HLOG_INFO,
             "sync with %s (%s, %s): sent %" PRIu64 " events, received %" PRIu64 " (%" PRIu64
             " new, %" PRIu64 " rejected), %" PRIu64 " B out, %" PRIu64 " B in",
             k, initiator ? "we asked" : "they asked", sync_plan_name(st->plan), st->events_sent,
             st->events_recv, st->events_accepted, st->events_rejected, st->bytes_sent,
             st->bytes_recv);
        if (p) {
            p->rec.last_sync = wall_ms();
            p->rec.failures = 0;
            p->backoff_ms = 0;
            p->dirty = true;
        }
    }
    sess_end(x);
}

static struct inbound *inbound_for(struct node *n, const struct transport_msg *m)
{
    struct inbound *free_slot = NULL;
    for (int i = 0; i < NODE_MAX_INBOUND; i++) {
        struct inbound *b = &n->in[i];
        if (b->used && b->route_len == m->route_len &&
            memcmp(b->route, m->route, m->route_len) == 0 &&
            memcmp(b->key, m->peer, HEARTH_PK_LEN) == 0)
            return b;
        if (!b->used && !free_slot)
            free_slot = b;
    }
    if (!free_slot)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    free_slot->route_len = m->route_len;
    memcpy(free_slot->route, m->route, m->route_len);
    memcpy(free_slot->key, m->peer, HEARTH_PK_LEN);
    return free_slot;
}

static void handle_inbound(struct node *n, const struct transport_msg *m)
{
    struct peer *p = peer_note(n, m->peer, NULL, "inbound");
    if (p) {
        p->rec.last_seen = wall_ms();
        p->route_len = m->route_len;
        memcpy(p->route, m->route, m->route_len);
    }
    struct inbound *b = inbound_for(n, m);
    if (!b) {
        hlog(n->log, HLOG_WARN, "sync: too many sessions at once; dropped a message");
        return;
    }
    if (!b->in.s && sess_begin(n, &b->in, false) != HERR_OK) {
        hlog(n->log, HLOG_ERROR, "sync: cannot start a session: %s", store_errmsg(n->st));
        b->used = false;
        return;
    }
    b->in.last_ms = mono_ms();
    /* A failure ends the session; tend_sessions reports it with the session's result. */
    if (sync_session_receive(b->in.s, m->data, m->len) != HERR_OK)
        hlog(n->log, HLOG_DEBUG, "sync: an inbound session ended in error");
}

static void handle_outbound(struct node *n, const struct transport_msg *m)
{
    struct peer *p = peer_by_conn(n, m->conn);
    if (!p)
        return;
    p->rec.last_seen = wall_ms();
    if (!p->out.s) {
        char k[13];
        short_key(k, p->rec.key);
        hlog(n->log, HLOG_DEBUG, "peer %s: message outside a session ignored", k);
        return;
    }
    p->out.last_ms = mono_ms();
    if (sync_session_receive(p->out.s, m->data, m->len) != HERR_OK)
        hlog(n->log, HLOG_DEBUG, "sync: an outbound session ended in error");
}

static void handle(struct node *n, const struct transport_msg *m)
{
    if (is_push(m->data, m->len))
        handle_push(n, m);
    else if (m->conn < 0)
        handle_inbound(n, m);
    else
        handle_outbound(n, m);
}

/* ---- what we do on our own ---- */

struct collect {
    uint8_t (*ids)[HEARTH_ID_LEN];
    size_t n, max;
    uint64_t last;
};

static herr collect_one(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                        uint64_t arrival)
{
    struct collect *c = ctx;
    (void)created;
    c->last = arrival;
    if (c->n < c->max)
        memcpy(c->ids[c->n], id, HEARTH_ID_LEN);
    c->n++;
    return HERR_OK;
}

struct push_ctx {
    struct node *n;
};

static herr push_one(void *ctx, const uint8_t *env, size_t len)
{
    struct node *n = ((struct push_ctx *)ctx)->n;
    hbuf_reset(&n->scratch);
    herr e = sync_encode_push(&n->scratch, env, len);
    if (e)
        return e;
    /* Push is best effort: a full queue or a gone peer is repaired by anti-entropy. */
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        herr sent = HERR_NOT_FOUND;
        if (!p->used)
            continue;
        if (p->conn >= 0 && transport_conn_state(n->tp, p->conn) == CONN_READY)
            sent = transport_send(n->tp, p->conn, NULL, 0, n->scratch.data, n->scratch.len);
        else if (p->route_len)
            sent =
                transport_send(n->tp, -1, p->route, p->route_len, n->scratch.data, n->scratch.len);
        if (sent == HERR_OK)
            bucket_take(&n->global, n->scratch.len);
    }
    return HERR_OK;
}

/* push_arrivals - push what arrived since we last looked; a large burst (a whole
 * session's worth) is left to anti-entropy, which is brought forward. */
static void push_arrivals(struct node *n)
{
    uint64_t last;
    if (store_last_arrival(n->st, &last) != HERR_OK || last <= n->last_pushed)
        return;
    struct collect c = {n->push_ids, 0, NODE_PUSH_MAX, n->last_pushed};
    if (store_keys_since(n->st, n->last_pushed, collect_one, &c) != HERR_OK)
        return;
    n->last_pushed = c.last;
    if (c.n > NODE_PUSH_MAX) {
        n->next_ae = mono_ms();
        return;
    }
    struct push_ctx pc = {n};
    if (store_get_many(n->st, (const uint8_t(*)[HEARTH_ID_LEN])n->push_ids, c.n, push_one, &pc) !=
        HERR_OK)
        hlog(n->log, HLOG_WARN, "push: cannot read new events: %s", store_errmsg(n->st));
}

static void anti_entropy(struct node *n)
{
    struct peer *ready[NODE_MAX_PEERS];
    unsigned count = 0;
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (p->used && p->conn >= 0 && !p->out.s &&
            transport_conn_state(n->tp, p->conn) == CONN_READY)
            ready[count++] = p;
    }
    for (unsigned k = 0; k < n->cfg.fanout && count > 0; k++) {
        unsigned j = random_uniform(count);
        struct peer *p = ready[j];
        ready[j] = ready[--count];
        if (sess_begin(n, &p->out, true) != HERR_OK)
            hlog(n->log, HLOG_ERROR, "sync: cannot start a session: %s", store_errmsg(n->st));
    }
}

static void connect_due(struct node *n, uint64_t now)
{
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (!p->used || !p->rec.endpoint[0])
            continue;
        if (p->conn >= 0) {
            enum conn_state st = transport_conn_state(n->tp, p->conn);
            if (st == CONN_REFUSED)
                peer_failed(n, p, "it refused our connection");
            else if (st == CONN_BAD_KEY)
                peer_failed(n, p, "the handshake failed (it holds another key?)");
            continue;
        }
        if (now < p->next_attempt_ms)
            continue;
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
        struct peer *p = peer_find(n, dp.key);
        if (!p || strcmp(p->rec.endpoint, ep) != 0)
            hlog(n->log, HLOG_INFO, "discovery: found node %s at %s", k, ep);
        peer_note(n, dp.key, ep, "discovered");
    }
}

/* tend_sessions - pump every session, and end those that are done or idle. */
static void tend_sessions(struct node *n, uint64_t now)
{
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (!p->used || !p->out.s)
            continue;
        if (sess_pump(n, &p->out, p->conn, NULL, 0, &p->bucket) == HERR_NET)
            peer_failed(n, p, "the connection dropped");
        else if (sync_session_done(p->out.s))
            session_finished(n, &p->out, p->rec.key, true);
        else if (now - p->out.last_ms > NODE_SESSION_IDLE_MS)
            peer_failed(n, p, "the session went quiet");
    }
    for (int i = 0; i < NODE_MAX_INBOUND; i++) {
        struct inbound *b = &n->in[i];
        if (!b->used)
            continue;
        struct peer *p = peer_find(n, b->key);
        herr e = b->in.s ? sess_pump(n, &b->in, -1, b->route, b->route_len, p ? &p->bucket : NULL)
                         : HERR_OK;
        if (b->in.s && sync_session_done(b->in.s))
            session_finished(n, &b->in, b->key, false);
        else if (e == HERR_NET || now - b->in.last_ms > NODE_SESSION_IDLE_MS)
            sess_end(&b->in);
        if (!b->in.s)
            b->used = false;
    }
}

static void write_status(struct node *n)
{
    struct hbuf *b = &n->scratch;
    char line[512];
    uint64_t events = 0;
    struct store_stats st;
    if (store_stats(n->st, &st) == HERR_OK)
        events = st.events;
    hbuf_reset(b);
    snprintf(line, sizeof line,
             "{\"pid\":%d,\"started\":%" PRIu64 ",\"updated\":%" PRIu64
             ",\"listen\":\"%s\",\"events\":%" PRIu64 ",\"peers\":[",
             (int)getpid(), n->started, wall_ms(), node_endpoint(n), events);
    herr e = hbuf_append(b, line, strlen(line));
    bool first = true;
    for (int i = 0; i < NODE_MAX_PEERS && !e; i++) {
        struct peer *p = &n->peers[i];
        if (!p->used)
            continue;
        char hex[2 * HEARTH_PK_LEN + 1];
        hex_encode(hex, p->rec.key, HEARTH_PK_LEN);
        const char *state = p->out.s ? "syncing"
                            : p->conn >= 0 && transport_conn_state(n->tp, p->conn) == CONN_READY
                                ? "connected"
                            : p->conn >= 0 ? "connecting"
                                           : "idle";
        snprintf(line, sizeof line,
                 "%s{\"key\":\"%s\",\"endpoint\":\"%s\",\"state\":\"%s\",\"source\":\"%s\","
                 "\"last_seen\":%" PRIu64 ",\"last_sync\":%" PRIu64 ",\"failures\":%" PRIu64 "}",
                 first ? "" : ",", hex, p->rec.endpoint, state, p->rec.source, p->rec.last_seen,
                 p->rec.last_sync, p->rec.failures);
        e = hbuf_append(b, line, strlen(line));
        first = false;
    }
    if (!e)
        e = hbuf_append(b, "]}", 3); /* with the NUL */
    if (!e && store_meta_set(n->st, "node:status", (const char *)b->data) != HERR_OK)
        hlog(n->log, HLOG_WARN, "status: cannot save: %s", store_errmsg(n->st));
    for (int i = 0; i < NODE_MAX_PEERS; i++)
        if (n->peers[i].used)
            peer_save(n, &n->peers[i]);
}

/* ---- the node ---- */

static herr source_keys(void *src, uint64_t arrival, recon_keys_fn fn, void *ctx)
{
    return store_keys_since(src, arrival, fn, ctx);
}

herr node_new(struct node **out, struct store *st, const struct config *cfg,
              const uint8_t seed[HEARTH_SEED_LEN], const struct hlog *log, const char **why)
{
    *out = NULL;
    struct node *n = calloc(1, sizeof *n);
    if (!n)
        return HERR_NOMEM;
    n->st = st;
    n->cfg = *cfg;
    n->log = log;
    n->started = wall_ms();
    hbuf_init(&n->scratch, HEARTH_MAX_FRAME + 64);
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
    e = store_last_arrival(st, &n->last_pushed);
    if (e) {
        *why = "cannot read the replica";
        goto fail;
    }
    struct transport_opts o = {
        .listen = n->cfg.listen, .allow = allow_peer, .allow_ctx = n, .log = log};
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
    free(n);
    *np = NULL;
}

const char *node_endpoint(const struct node *n)
{
    return transport_endpoint(n->tp);
}

static int next_timeout(struct node *n, uint64_t now)
{
    uint64_t next = n->next_ae;
    uint64_t t[] = {n->next_beacon, n->next_status, n->next_reload, n->next_arrivals};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i] && t[i] < next)
            next = t[i];
    /* While caps hold frames back, look again soon. */
    uint64_t wait = next > now ? next - now : 0;
    return (int)(wait > 100 ? 100 : wait);
}

herr node_run(struct node *n, volatile sig_atomic_t *stop)
{
    char k[13];
    short_key(k, transport_key(n->tp));
    uint64_t now = mono_ms();
    n->next_ae = now + jitter(1000);
    n->next_status = now;
    n->next_reload = now + RELOAD_EVERY_MS;
    n->next_arrivals = now;
    n->next_beacon = now;
    hlog(n->log, HLOG_INFO, "node %s ready, listening on %s", k, node_endpoint(n));
    notify_send("READY=1");
    herr e = HERR_OK;
    while (!*stop) {
        now = mono_ms();
        connect_due(n, now);
        if (now >= n->next_arrivals) {
            push_arrivals(n);
            n->next_arrivals = now + ARRIVALS_EVERY_MS;
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
            n->next_status = now + STATUS_EVERY_MS;
        }
        struct transport_msg m;
        bool got;
        e = transport_poll(n->tp, next_timeout(n, mono_ms()), &m, &got);
        if (e)
            break;
        /* Take what has queued up, a bounded number at a time. */
        for (int i = 0; got && i < 64; i++) {
            handle(n, &m);
            if (transport_poll(n->tp, 0, &m, &got) != HERR_OK)
                break;
        }
        discovery_tick(n, mono_ms());
    }
    notify_send("STOPPING=1");
    hlog(n->log, HLOG_INFO, "node %s stopping", k);
    for (int i = 0; i < NODE_MAX_PEERS; i++)
        if (n->peers[i].used)
            peer_save(n, &n->peers[i]);
    herr d = store_meta_delete(n->st, "node:status");
    if (d && d != HERR_NOT_FOUND)
        hlog(n->log, HLOG_WARN, "status: cannot clear: %s", store_errmsg(n->st));
    return e;
}

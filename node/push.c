/* push.c - eager push, both ways: the pushes peers send us (decoded, then verified and
 * committed a burst at a time), and every event that arrives in our replica pushed to
 * each peer from its cursor in arrival order: never back where it came from, never
 * inside a session, and handed to a session or dropped (and counted) when a backlog
 * grows too large or stops moving.
 */
#include <inttypes.h>
#include <string.h>

#include "node/clock.h"
#include "node/node_int.h"
#include "sync/wire.h"

/* Eager push: keys taken from the store for one peer at a time, and how soon a
 * backlog that waits for a full queue is tried again. */
#define NODE_PUSH_CHUNK 32
#define PUSH_RETRY_MS 20

/* push_receive - decode a pushed event and queue it for push_flush: the pushes that
 * arrive in one burst are verified and committed in one transaction (one fsync), not
 * one each. */
void push_receive(struct node *n, const struct transport_msg *m)
{
    const uint8_t *env;
    size_t len;
    const char *why;
    char k[13];
    short_key(k, m->peer);
    n->ctr.pushes_recv++;
    if (n->disk_full) { /* anti-entropy brings it once there is room */
        node_refuse_full(n, m->peer, true);
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
        push_flush(n);
        if (hbuf_append(&b->bytes, env, len) != HERR_OK) {
            hlog(n->log, HLOG_ERROR, "store: no memory for a pushed event");
            return;
        }
    }
    b->len[b->n] = len;
    memcpy(b->from[b->n], m->peer, HEARTH_PK_LEN);
    b->n++;
}

/* push_flush - verify and commit the queued pushes, and say what became of each. */
void push_flush(struct node *n)
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

void push_note_session(struct node *n, const uint8_t key[HEARTH_PK_LEN], uint64_t before,
                       uint64_t after)
{
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

/* push_inside_session - m is a PUSH that came inside a session with its sender (on the
 * route of a session it started with us, or on our connection after the peer's
 * HELLO, until the session ends): a protocol error (docs/PROTOCOL.md, 7.10). The
 * push is refused, the session ends with ERROR 19, and it is counted and logged.
 * Returns false when m is an ordinary push. */
bool push_inside_session(struct node *n, const struct transport_msg *m)
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
        node_send_error(n, m->route, m->route_len, HERR_PROTOCOL, why);
        n->ctr.push_in_session++;
        n->ctr.sessions_failed++;
        sess_warn_failed(n, b->key, false, "protocol error: a push inside a session");
        inbound_free(b);
        return true;
    }
    return false;
}

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

/* from_peer - how many arrivals after p's cursor came from p itself in a session
 * (from_sessions; the ranges do not overlap): never due to p, so no part of its
 * backlog. A large session from p would otherwise pass NODE_PUSH_BACKLOG with p's own
 * events, and they were given up and counted as dropped (a warning in every large
 * sync). */
static uint64_t from_peer(const struct node *n, const struct peer *p)
{
    uint64_t k = 0;
    for (size_t i = 0; i < SESSION_SOURCES; i++) {
        const struct session_source *src = &n->from_sessions[i];
        if (!src->hi || memcmp(src->key, p->rec.key, HEARTH_PK_LEN) != 0)
            continue;
        uint64_t lo = src->lo > p->push_from ? src->lo : p->push_from + 1;
        uint64_t hi = src->hi < n->arrived ? src->hi : n->arrived;
        if (hi >= lo)
            k += hi - lo + 1;
    }
    return k;
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

/* push_give_up - p's backlog will not be pushed: too large, stuck, or its route is
 * gone. When we can, a session with p starts now and carries it (handed to sync);
 * otherwise it is dropped, and anti-entropy repairs it (the next round of ours over
 * our connection, or the peer's own over its connection to us). Counted either way,
 * and logged: a warning, but for a peer that has gone (a `hearth sync` that ended is
 * routine). */
static void push_give_up(struct node *n, struct peer *p, const char *why, bool gone)
{
    uint64_t left = 0, own = from_peer(n, p);
    if (store_keys_since(n->st, p->push_from, count_one, &left) != HERR_OK)
        left = n->arrived - p->push_from;
    left = left > own ? left - own : 0;
    p->push_from = n->arrived;
    p->push_wait_ms = 0;
    bool handed = false;
    if (p->conn >= 0 && p->ready && !p->out.s &&
        transport_conn_state(n->tp, p->conn) == CONN_READY) {
        sess_start(n, p);
        handed = p->out.s != NULL;
    }
    if (handed)
        n->ctr.pushes_handed_to_sync += left;
    else
        n->ctr.pushes_dropped += left;
    char k[13];
    short_key(k, p->rec.key);
    uint64_t more;
    if (left && hlog_due_kind(&n->backlog_warn, warn_kind(p->rec.key, why), mono_ms(), &more))
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
    if (n->arrived - p->push_from - from_peer(n, p) > NODE_PUSH_BACKLOG) {
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
void push_arrivals(struct node *n, uint64_t now, bool look)
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

/* session.c - sync sessions on the wire: each tied to our connection to a peer or to
 * a peer's route to our listener (struct sess); its frames sent as far as caps and
 * queues allow, the peer's messages handed to it, ours started (anti-entropy), and
 * each one ended (done, failed, gone quiet) with its line in the log and its count.
 * The slots of sessions others start are node/inbound.c's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/clock.h"
#include "node/node_int.h"
#include "sync/wire.h"

void sess_end(struct sess *x)
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

herr sess_begin(struct node *n, struct sess *x, bool initiator)
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
herr sess_pump(struct node *n, struct sess *x, int conn, const uint8_t *route, size_t route_len,
               struct peer *p)
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

/* node_send_error - an ERROR to a listener peer, so that its session ends at once instead
 * of waiting for our silence to time out. */
void node_send_error(struct node *n, const uint8_t *route, size_t route_len, herr code,
                     const char *text)
{
    hbuf_reset(&n->scratch);
    if (sync_encode_error(&n->scratch, code, text) == HERR_OK &&
        transport_send(n->tp, -1, route, route_len, n->scratch.data, n->scratch.len) == HERR_OK)
        n->ctr.bytes_sent += n->scratch.len;
}

/* node_reply_error - answer m's sender, outside any session, with an ERROR. */
void node_reply_error(struct node *n, const struct transport_msg *m, herr code, const char *text)
{
    node_send_error(n, m->route, m->route_len, code, text);
}

/* sess_warn_failed - the line for a failed session with `key`; the ones others start can
 * fail as often as they like, so their lines are limited (per peer and reason). */
void sess_warn_failed(struct node *n, const uint8_t key[HEARTH_PK_LEN], bool initiator,
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

/* sess_finished - log and count the end of a session, then free it; returns how it
 * ended. */
herr sess_finished(struct node *n, struct sess *x, const uint8_t key[HEARTH_PK_LEN], bool initiator)
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
        sess_warn_failed(n, key, initiator, what);
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

/* sess_receive - hand m to session s with the peer `key`; the events it accepts are
 * remembered as that peer's (push then does not send them back to it), whether they
 * came as EVENTS or compressed (ZEVENTS). */
herr sess_receive(struct node *n, struct sync_session *s, const uint8_t *key,
                  const struct transport_msg *m)
{
    uint64_t before = 0, after = 0;
    uint64_t accepted = sync_session_stats(s)->events_accepted;
    int type = sync_msg_peek(m->data, m->len);
    bool events = (type == SYNC_EVENTS || type == SYNC_ZEVENTS) &&
                  store_last_arrival(n->st, &before) == HERR_OK;
    if (events && n->cfg.test_slow_ingest_ms) { /* the test knob: a slow machine */
        unsigned ms = n->cfg.test_slow_ingest_ms;
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0) {
        }
    }
    herr e = sync_session_receive(s, m->data, m->len);
    if (events && sync_session_stats(s)->events_accepted > accepted &&
        store_last_arrival(n->st, &after) == HERR_OK)
        push_note_session(n, key, before, after);
    return e;
}

void sess_handle_outbound(struct node *n, const struct transport_msg *m)
{
    struct peer *p = peer_by_conn(n, m->conn);
    if (!p)
        return;
    peer_seen(p);
    if (!p->out.s) {
        char k[13];
        short_key(k, p->rec.key);
        hlog(n->log, HLOG_DEBUG, "peer %s: message outside a session ignored", k);
        return;
    }
    p->out.last_ms = mono_ms();
    p->out.heard++;
    if (sess_receive(n, p->out.s, p->rec.key, m) != HERR_OK)
        hlog(n->log, HLOG_DEBUG, "sync: an outbound session ended in error");
}

/* sess_start - begin anti-entropy with p, unless the test knob says this contact
 * fails. */
void sess_start(struct node *n, struct peer *p)
{
    if (n->disk_full || test_dropped(n))
        return;
    if (sess_begin(n, &p->out, true) != HERR_OK)
        hlog(n->log, HLOG_ERROR, "sync: cannot start a session: %s", store_errmsg(n->st));
    else
        p->push_from = n->arrived; /* the session compares all we hold */
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

/* sess_tend - pump every session, and end those that are done or idle. */
void sess_tend(struct node *n, uint64_t now)
{
    n->held_back = false;
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (!p->used || !p->out.s)
            continue;
        if (sess_pump(n, &p->out, p->conn, NULL, 0, p) == HERR_NET)
            peer_failed(n, p, "the connection dropped");
        else if (sess_over(&p->out) && sess_finished(n, &p->out, p->rec.key, true) != HERR_OK) {
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
            (void)sess_finished(n, &b->in, b->key, false);
        else if (e == HERR_NET || since(now, b->in.last_ms) > idle_ms(n)) {
            n->ctr.sessions_failed++;
            sess_warn_failed(n, b->key, false,
                             e == HERR_NET ? "the peer is gone" : "the peer went quiet");
            sess_end(&b->in);
        }
        if (!b->in.s)
            b->used = false;
    }
}

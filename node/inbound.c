/* inbound.c - the sessions other nodes start with us: NODE_MAX_INBOUND slots, one
 * per key; which slot gives way when all are taken; and a message that came to our
 * listener routed to its session, or answered (busy, disk full, no session).
 */
#include <inttypes.h>
#include <string.h>

#include "node/clock.h"
#include "node/node_int.h"
#include "sync/wire.h"

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
#define INBOUND_EVICT_STALL_MS 20000

void inbound_free(struct inbound *b)
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
    if (found) {
        /* A session that has ended (hearth sync confirming that we took its events:
         * its HELLO can come in the same turn as the DONE that ended the last one) is
         * logged and counted first; else the peer gave up on it and starts again. */
        if (found->in.s && sync_session_result(found->in.s, NULL) != HERR_STATE)
            (void)sess_finished(n, &found->in, found->key, false);
        inbound_free(found);
    }
    struct inbound *b = found ? found : free_slot;
    bool own = from_address(n, m->address) >= NODE_MAX_INBOUND_PER_ADDR;
    if (!b && (b = idlest_inbound(n, m->address, own)) != NULL) {
        static const char *const why[] = {"half-open: its peer said hello and no more",
                                          "waiting for its peer", "nothing moved"};
        char k[13];
        short_key(k, b->key);
        uint64_t more, now = mono_ms();
        int pass = evict_pass(b, now); /* idle only grew since idlest_inbound: still < 3 */
        if (hlog_due(&n->evict_warn, now, &more))
            hlog(n->log, HLOG_INFO,
                 "sync: every session slot taken; %s's, idle for %" PRIu64
                 " s (%s), gives its place to a new one (%" PRIu64 " unlogged before)",
                 k, since(now, b->in.last_ms) / 1000, why[pass < 3 ? pass : 2], more);
        node_send_error(n, b->route, b->route_len, HERR_BUSY,
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
    node_reply_error(n, m, HERR_BUSY, "too many sessions at once; try again later");
    uint64_t more;
    if (hlog_due(&n->busy_warn, mono_ms(), &more))
        hlog(n->log, HLOG_WARN,
             "sync: %d sessions under way, none idle; refused one (%" PRIu64 " unlogged before)",
             NODE_MAX_INBOUND, more);
}

void inbound_handle(struct node *n, const struct transport_msg *m)
{
    int type = sync_msg_peek(m->data, m->len);
    struct peer *p = peer_note(n, m->peer, NULL, "inbound", true);
    if (p) {
        peer_seen(p);
        p->route_len = m->route_len;
        memcpy(p->route, m->route, m->route_len);
    }
    if (n->disk_full && type == SYNC_HELLO) {
        node_refuse_full(n, m->peer, false);
        node_reply_error(n, m, HERR_FULL,
                         "this node's disk is full: it takes no new events until space is freed");
        return;
    }
    bool full;
    struct inbound *b = inbound_for(n, m, type == SYNC_HELLO, &full);
    if (!b) {
        if (full)
            refuse_busy(n, m);
        else if (type != SYNC_ERROR) { /* a session we ended or never had (we restarted) */
            node_reply_error(n, m, HERR_STATE, "no session under way; start again with a hello");
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
    /* A failure ends the session; sess_tend reports it with the session's result. */
    if (sess_receive(n, b->in.s, b->key, m) != HERR_OK)
        hlog(n->log, HLOG_DEBUG, "sync: an inbound session ended in error");
}

unsigned inbound_count(const struct node *n)
{
    unsigned k = 0;
    for (int i = 0; i < NODE_MAX_INBOUND; i++)
        k += n->in[i].used;
    return k;
}

/* node.c - the running node: making it (node_new) and its loop (node_run), which runs
 * the timers (free space, connections, arrivals to push, anti-entropy, the peer list,
 * sessions, the status), reads LAN beacons, and routes each message that arrives to
 * push (node/push.c), a session of ours (node/session.c) or one a peer started with us
 * (node/inbound.c). The peer table is node/peer_table.c, the status node/status.c;
 * node/node_int.h is what they share.
 */
#include "node/node.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/clock.h"
#include "node/discovery.h"
#include "node/node_int.h"
#include "node/notify.h"
#include "node/rotation.h"
#include "sync/wire.h"

#define RELOAD_EVERY_MS 1000
#define ARRIVALS_EVERY_MS 200
#define RECONNECT_MIN_MS 1000
#define RECONNECT_MAX_MS 30000

/* Lines about what peers can repeat at will are limited per window of this length;
 * the next line that gets through counts those that did not. */
#define WARN_EVERY_MS 10000
#define WARN_BURST 5       /* lines per window for each kind (peer and reason) */
#define WARN_BURST_ALL 100 /* lines per window of all kinds together */

/* How often the free space of the data directory is looked at (statvfs): a full disk
 * is noticed at once by the write that fails, and its end within this. */
#define SPACE_EVERY_MS 1000

static bool allow_peer(void *ctx, const uint8_t key[HEARTH_PK_LEN], const char *address)
{
    (void)address;
    return node_allows(ctx, key);
}

/* node_refuse_full - count (and now and then log) what a peer offered while the disk is
 * full. */
void node_refuse_full(struct node *n, const uint8_t key[HEARTH_PK_LEN], bool push)
{
    uint64_t more;
    char k[13];
    n->ctr.full_refused++;
    short_key(k, key);
    if (hlog_due(push ? &n->full_push_warn : &n->full_sync_warn, mono_ms(), &more))
        hlog(n->log, HLOG_INFO, "disk full: refused a %s from %s (%" PRIu64 " unlogged before)",
             push ? "push" : "sync", k, more);
}

/* handle - route m by the type it claims (sync_msg_peek): a push, or a message for a
 * session, which decodes it. */
static void handle(struct node *n, const struct transport_msg *m)
{
    int type = sync_msg_peek(m->data, m->len);
    n->ctr.bytes_recv += m->len;
    struct peer *from = m->conn >= 0 ? peer_by_conn(n, m->conn) : peer_find(n, m->peer);
    if (from)
        from->bytes_recv += m->len;
    /* In allow-list mode a key taken off the list is not heard any more, even on a
     * connection it opened while it was on it. */
    if (m->conn < 0 && n->cfg.access == ACCESS_ALLOWLIST && !node_allows(n, m->peer)) {
        char k[13];
        short_key(k, m->peer);
        hlog(n->log, HLOG_DEBUG, "peer %s: not on the allow-list; message dropped", k);
        if (type != SYNC_PUSH && type != SYNC_ERROR)
            node_reply_error(n, m, HERR_DENIED, "not on this node's allow-list");
        return;
    }
    if (type == SYNC_PUSH) {
        if (!push_inside_session(n, m))
            push_receive(n, m);
    } else if (m->conn < 0)
        inbound_handle(n, m);
    else
        sess_handle_outbound(n, m);
}

/* anti_entropy - a session with `fanout` of the connected peers not in a session with
 * us already: those a round chose longest ago first, ties at random (node/rotation.h),
 * so that every connected peer is reached within a few periods. */
static void anti_entropy(struct node *n)
{
    struct peer *ready[NODE_MAX_PEERS];
    uint64_t stamps[NODE_MAX_PEERS];
    size_t chosen[NODE_MAX_PEERS], count = 0;
    for (int i = 0; i < NODE_MAX_PEERS; i++) {
        struct peer *p = &n->peers[i];
        if (p->used && p->ready && !p->out.s) {
            stamps[count] = p->ae_round;
            ready[count++] = p;
        }
    }
    size_t k = rotation_pick(stamps, count, n->cfg.fanout, chosen, NULL, NULL);
    n->ae_rounds++;
    for (size_t i = 0; i < k; i++) {
        ready[chosen[i]]->ae_round = n->ae_rounds;
        sess_start(n, ready[chosen[i]]);
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
                    sess_start(n, p);
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
        if (n->cfg.access == ACCESS_ALLOWLIST && !peer_configured(p) &&
            !node_allows(n, p->rec.key)) {
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
        if (n->cfg.access == ACCESS_ALLOWLIST && !node_allows(n, dp.key)) {
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
        if (p && peer_configured(p))
            continue; /* the operator's endpoint wins over a beacon */
        peer_note(n, dp.key, ep, "discovered", true);
    }
}

herr node_source_keys(void *src, uint64_t arrival, recon_keys_fn fn, void *ctx)
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
    n->push_warn = n->backlog_warn = n->fail_warn =
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
    /* The index is ready before we listen, so the first session is as quick as any. */
    e = node_index_open(st, log, &n->idx, &n->idx_saved);
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
    peer_reload(n);
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
    node_check_stop(n);
    for (int i = 0; i < NODE_MAX_PEERS; i++)
        if (n->peers[i].used)
            sess_end(&n->peers[i].out);
    for (int i = 0; i < NODE_MAX_INBOUND; i++)
        if (n->in[i].used)
            sess_end(&n->in[i].in);
    discovery_destroy(&n->disc);
    transport_destroy(&n->tp);
    if (n->idx && !n->disk_full)
        node_index_save(n->st, n->log, n->idx, &n->idx_saved);
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
        peer_reload(n);
        n->next_reload = now + RELOAD_EVERY_MS;
    }
    sess_tend(n, now);
    if (now >= n->next_status) {
        node_write_status(n);
        n->next_status = now + NODE_STATUS_MS;
        if (!n->disk_full && recon_index_count(n->idx) >= n->idx_saved + NODE_INDEX_SAVE_EVERY)
            node_index_save(n->st, n->log, n->idx, &n->idx_saved);
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
    node_write_status(n);
    n->next_status = now + NODE_STATUS_MS;
    n->next_reload = now + RELOAD_EVERY_MS;
    n->next_arrivals = now;
    n->next_push = UINT64_MAX;
    n->next_beacon = now;
    if (n->cfg.test_drop_permille || n->cfg.test_no_push || n->cfg.test_slow_ingest_ms)
        hlog(n->log, HLOG_WARN,
             "test settings: %u/1000 of contacts fail%s, %u ms before each batch",
             n->cfg.test_drop_permille, n->cfg.test_no_push ? ", no eager push" : "",
             n->cfg.test_slow_ingest_ms);
    hlog(n->log, HLOG_INFO, "node %s ready, listening on %s", k, node_endpoint(n));
    notify_send("READY=1");
    herr e = HERR_OK;
    while (!*stop) {
        if ((e = node_check_tend(n)) != HERR_OK)
            break;
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
        push_flush(n);
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

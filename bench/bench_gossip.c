/* bench_gossip.c - gossip at scale, simulated: N replicas in one process, each an
 * in-memory store (sync/memstore.h) with its own recon index, gossiping as the node
 * does (node/node.c, node/push.c) in simulated time, every exchange a real sync
 * session (sync/session.h, both sides, messages handed over in memory) or a real PUSH
 * message (sync/wire.h). Counts the gossip periods from a partition's heal until every
 * replica holds every event, beside log2(N).
 *
 * What is modelled, as the node does it (docs/PERFORMANCE.md, "Gossip at scale"):
 *   - the graph of bench/converge.py: two halves, each a connected random graph of
 *     mean degree 2.5, and N/4 random edges between them; each edge is a peer that one
 *     end added (the direction at random), so that end connects and the other sees an
 *     inbound peer;
 *   - anti-entropy: each node's timer fires after jitter(1 s) and then every
 *     jitter(P) (P +-25%, uniform); it starts a session with `fanout` (2) of its
 *     connected outbound peers, those its rounds chose longest ago first, ties at
 *     random (rotation_pick, node/rotation.h, the node's own function); a
 *     connection that comes up gets a session at once; the initiator's push cursor
 *     for that peer jumps to what it has noticed (sess_start);
 *   - eager push: a node notices new arrivals every 200 ms (its own phase) and pushes
 *     each, in arrival order, to every peer but the one it came from (by push or in a
 *     session), over its connection, or over an inbound peer's route once that peer
 *     has said HELLO to it; a new peer's cursor starts at what the node has noticed;
 *   - the peer list read every second (its own phase): an edge added at the heal is
 *     picked up at the adder's next reload, connected, and synced at once;
 *   - failed contacts (HEARTH_TEST_DROP): each session attempt and each push to each
 *     peer fails with probability p and then does nothing (no back-off: as
 *     test_dropped in sess_start and push_peer).
 * What is not: time on the wire and in the store (a session or a push takes no
 * simulated time: on loopback they take milliseconds against a 2 s period);
 * sessions are one at a time (the real node runs a node's sessions side by side,
 * sharing its recon index); bandwidth caps, queue limits, inbound slot limits,
 * back-off after real failures, the push backlog limits (never reached here);
 * stand-in events of 38 bytes (memstore) instead of ~500-byte signed events; the
 * 2.5 s the process bench waits before the heal is kept, its polling is not.
 *
 *   bench_gossip [--quick] [--json] [--sizes 10,50,100,500] [--runs K] [--seed S]
 *                [--drop P]... [--push on|off|both] [--scenario heal|spread]
 *                [--period-ms MS] [--fanout F] [--posts PER_SIDE] [--max-periods M]
 *                [--policy oldest|random]
 *
 * --scenario spread: no partition; the posts are made on the whole connected graph
 * and the clock runs from them. --policy random is the node's choice before the
 * rotation (fanout peers chosen at random each round), kept for comparison. Exit
 * status 0 when every run converged, every replica's contents were checked equal
 * (every event of the forum held by every replica, and nothing else), and every
 * session ended well with its two sides holding the same events.
 */
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/crypto.h"
#include "base/hbuf.h"
#include "bench/benchutil.h"
#include "node/node.h"
#include "node/rotation.h"
#include "sync/memstore.h"
#include "sync/recon.h"
#include "sync/session.h"
#include "sync/wire.h"

#define ARRIVALS_EVERY_MS 200 /* node.c: the arrival poll */
#define RELOAD_EVERY_MS 1000  /* node.c: the peer list */
#define HEAL_WAIT_MS 2500     /* converge.py: between the halves agreeing and the heal */
#define BASE_EVENTS 10        /* converge.py: the forum bundle every node imports */
#define MAX_SIZES 16
#define MAX_DROPS 4

static const uint8_t FORUM[HEARTH_ID_LEN] = {0x42};

struct opts {
    bool json, heal, oldest;
    unsigned runs, fanout, posts, max_periods;
    uint64_t seed, period_ms;
    unsigned sizes[MAX_SIZES], n_sizes;
    double drops[MAX_DROPS];
    unsigned n_drops;
    bool push[2];
    unsigned n_push;
};

/* ---- a deterministic generator (splitmix64) ---- */

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(rng_next(s) % n);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* jitter - ms scaled by a factor in [0.75, 1.25), as node_int.h's. */
static uint64_t jitter(uint64_t *s, uint64_t ms)
{
    return ms * (750 + rng_below(s, 500)) / 1000;
}

static void die(const char *what, herr e)
{
    fprintf(stderr, "bench_gossip: %s: %s\n", what, herr_str(e));
    exit(1);
}

static void must(herr e, const char *what)
{
    if (e)
        die(what, e);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("memory", HERR_NOMEM);
    return p;
}

static void *xgrow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 8;
    while (c < need)
        c *= 2;
    void *q = realloc(p, c * size);
    if (!q)
        die("memory", HERR_NOMEM);
    *cap = c;
    return q;
}

/* ---- the simulated nodes ---- */

/* One entry of a node's peer table. */
struct link {
    uint32_t node;
    bool outbound;      /* we added it: our connection, our anti-entropy */
    bool route;         /* inbound: it has said HELLO to us, so we can push to it */
    uint64_t push_from; /* every arrival up to this one is pushed (or skipped) */
    uint64_t ae_round;  /* the round of ours that last chose it (0: none; node_int.h) */
};

struct snode {
    struct memstore *ms;
    struct recon_index *idx;
    struct link *peers; /* in the order the node noted them */
    size_t n_peers, cap_peers;
    uint32_t *pending; /* edges added at the heal, read at the next reload */
    size_t n_pending, cap_pending;
    int32_t *source; /* per arrival (0-based): the node it came from, -1 authored */
    size_t cap_source;
    uint64_t noticed;   /* arrivals the node has seen (its arrival poll) */
    uint64_t ae_rounds; /* anti-entropy rounds run */
    uint32_t half;
    uint64_t bytes_sent, bytes_at_heal;
    bool complete;
};

/* What happened in a run, after the heal (or the posts). */
struct counts {
    uint64_t sessions, sessions_failed, sessions_short, contacts_dropped, session_new, pushes_sent,
        push_new, push_dup, pushes_dropped;
};

struct sim {
    const struct opts *o;
    uint32_t n;
    struct snode *node;
    uint64_t rng;
    uint64_t now;
    double drop;
    bool push;
    uint64_t total; /* events in the forum */
    uint64_t half_total[2];
    uint32_t complete, half_done;
    bool healed, apart_done;
    uint64_t t_start, t_done, t_apart;
    struct counts c;
    struct hbuf msg;
    uint8_t (*ids)[HEARTH_ID_LEN]; /* every event of the forum */
    size_t n_ids;
};

/* A timer: the node's anti-entropy, arrival poll or peer-list reload. */
enum tkind { T_AE, T_POLL, T_RELOAD };

struct timer {
    uint64_t t, seq;
    uint32_t node;
    enum tkind kind;
};

struct heap {
    struct timer *v;
    size_t n, cap;
    uint64_t seq;
};

static bool before(const struct timer *a, const struct timer *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_push(struct heap *h, uint64_t t, uint32_t node, enum tkind kind)
{
    h->v = xgrow(h->v, &h->cap, h->n + 1, sizeof *h->v);
    size_t i = h->n++;
    struct timer x = {t, h->seq++, node, kind};
    while (i > 0 && before(&x, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = x;
}

static struct timer heap_pop(struct heap *h)
{
    struct timer top = h->v[0], x = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &x))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = x;
    return top;
}

static struct link *link_find(struct snode *x, uint32_t peer)
{
    for (size_t i = 0; i < x->n_peers; i++)
        if (x->peers[i].node == peer)
            return &x->peers[i];
    return NULL;
}

/* peer_note - the peer in x's table, added when new with its push cursor at what x has
 * noticed (node/peer_table.c: what arrived before is its first session's business). */
static struct link *peer_note(struct snode *x, uint32_t peer, bool outbound)
{
    struct link *l = link_find(x, peer);
    if (!l) {
        x->peers = xgrow(x->peers, &x->cap_peers, x->n_peers + 1, sizeof *x->peers);
        l = &x->peers[x->n_peers++];
        *l = (struct link){peer, false, false, x->noticed, 0};
    }
    l->outbound |= outbound;
    return l;
}

static bool dropped(struct sim *s)
{
    return s->drop > 0 && rng_unit(&s->rng) < s->drop;
}

/* arrived - note the sources of what arrived at node i since `before` and whether it
 * is now complete (or its half is). */
static void arrived(struct sim *s, uint32_t i, uint64_t before, int32_t from)
{
    struct snode *x = &s->node[i];
    uint64_t now = memstore_count(x->ms);
    x->source = xgrow(x->source, &x->cap_source, now, sizeof *x->source);
    for (uint64_t a = before; a < now; a++)
        x->source[a] = from;
    if (!s->healed && now == s->half_total[x->half] && before < now)
        s->half_done++;
    if (!x->complete && now == s->total) {
        x->complete = true;
        if (++s->complete == s->n)
            s->t_done = s->now;
    }
}

static herr held_by(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created, uint64_t arrival)
{
    (void)created, (void)arrival;
    return memstore_has(ctx, id) ? HERR_OK : HERR_NOT_FOUND;
}

/* same_contents - a and b hold the same events (after a session that ended well,
 * they must). */
static bool same_contents(struct memstore *a, struct memstore *b)
{
    return memstore_count(a) == memstore_count(b) &&
           memstore_ops()->keys_since(a, 0, held_by, b) == HERR_OK;
}

/* contact - node i starts a session with peer j (sess_start): unless the contact fails,
 * a real session runs to its end, both sides in memory, with the node's settings. */
static void contact(struct sim *s, uint32_t i, uint32_t j)
{
    struct snode *a = &s->node[i], *b = &s->node[j];
    if (dropped(s)) {
        s->c.contacts_dropped++;
        return;
    }
    peer_note(a, j, true)->push_from = a->noticed; /* the session compares all we hold */
    struct link *back = peer_note(b, i, false);
    back->route = true; /* its HELLO came on a route we can push to */
    struct sync_config cfg = {.max_frame = NODE_FRAME};
    struct sync_session *si, *sr;
    uint64_t ca = memstore_count(a->ms), cb = memstore_count(b->ms);
    must(sync_session_new_ops(&si, memstore_ops(), a->ms, a->idx, &cfg), "session");
    must(sync_session_new_ops(&sr, memstore_ops(), b->ms, b->idx, &cfg), "session");
    must(sync_session_start(si), "session start");
    for (int guard = 0; guard < 1000; guard++)
        if (!pump(si, sr) && !pump(sr, si))
            break;
    const char *wi, *wr;
    herr ei = sync_session_result(si, &wi), er = sync_session_result(sr, &wr);
    if (ei || er) {
        s->c.sessions_failed++;
        fprintf(stderr, "bench_gossip: session %u->%u: %s (%s) / %s (%s)\n", i, j, herr_str(ei), wi,
                herr_str(er), wr);
    }
    s->c.sessions++;
    if (!ei && !er && !same_contents(a->ms, b->ms))
        s->c.sessions_short++;
    a->bytes_sent += sync_session_stats(si)->bytes_sent;
    b->bytes_sent += sync_session_stats(sr)->bytes_sent;
    s->c.session_new += memstore_count(a->ms) - ca + memstore_count(b->ms) - cb;
    sync_session_destroy(&si);
    sync_session_destroy(&sr);
    arrived(s, i, ca, (int32_t)j);
    arrived(s, j, cb, (int32_t)i);
}

/* The first key keys_since hands out, and the envelope get_many hands out. */
static herr first_key(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                      uint64_t arrival)
{
    (void)created, (void)arrival;
    memcpy(ctx, id, HEARTH_ID_LEN);
    return HERR_FULL; /* one is enough */
}

struct envelope {
    uint8_t env[MEMSTORE_ENV_LEN];
    size_t len;
};

static herr take_envelope(void *ctx, const uint8_t *env, size_t len)
{
    struct envelope *e = ctx;
    if (len > sizeof e->env)
        return HERR_TOO_LARGE;
    memcpy(e->env, env, len);
    e->len = len;
    return HERR_OK;
}

/* push_one - node i pushes its arrival a (0-based) to j: the event read as push_peer
 * reads it (keys since a, then the envelope by id), sent as a PUSH message, which j
 * decodes and ingests as push_receive and push_flush do. */
static void push_one(struct sim *s, uint32_t i, uint32_t j, uint64_t a)
{
    struct snode *x = &s->node[i], *y = &s->node[j];
    const struct sync_ops *ops = memstore_ops();
    uint8_t id[HEARTH_ID_LEN];
    struct envelope e = {.len = 0};
    herr r = ops->keys_since(x->ms, a, first_key, id);
    if (r != HERR_FULL)
        die("keys since", r ? r : HERR_NOT_FOUND);
    must(ops->get_many(x->ms, (const uint8_t(*)[HEARTH_ID_LEN])id, 1, take_envelope, &e), "get");
    hbuf_reset(&s->msg);
    must(sync_encode_push(&s->msg, e.env, e.len), "encode push");
    x->bytes_sent += s->msg.len;
    s->c.pushes_sent++;
    const uint8_t *env;
    size_t len;
    const char *why;
    must(sync_push_decode(s->msg.data, s->msg.len, &env, &len, &why), "decode push");
    struct store_blob blob = {env, len};
    struct ingest_result res;
    uint64_t before = memstore_count(y->ms);
    must(ops->ingest(y->ms, &blob, 1, &res, NULL), "ingest");
    if (res.err == HERR_DUPLICATE) {
        s->c.push_dup++;
    } else if (res.err) {
        die("pushed event rejected", res.err);
    } else {
        s->c.push_new++;
        arrived(s, j, before, (int32_t)i);
    }
}

/* ---- the node's timers ---- */

static uint32_t sim_rand(void *ctx, uint32_t upper)
{
    return rng_below(ctx, upper);
}

/* anti_entropy - sessions with `fanout` of the connected outbound peers: those chosen
 * longest ago first, ties at random (node.c, rotation_pick), or (--policy random, the
 * node before the rotation) at random. */
static void anti_entropy(struct sim *s, uint32_t i)
{
    struct snode *x = &s->node[i];
    struct link *ready[NODE_MAX_PEERS];
    uint64_t stamps[NODE_MAX_PEERS];
    size_t chosen[NODE_MAX_PEERS], count = 0;
    for (size_t q = 0; q < x->n_peers && count < NODE_MAX_PEERS; q++)
        if (x->peers[q].outbound) {
            stamps[count] = x->peers[q].ae_round;
            ready[count++] = &x->peers[q];
        }
    x->ae_rounds++;
    if (!s->o->oldest) {
        /* As 6321e04 did it, draw by draw, so that a seed gives the runs it gave. */
        for (unsigned q = 0; q < s->o->fanout && count > 0; q++) {
            size_t j = rng_below(&s->rng, (uint32_t)count);
            struct link *p = ready[j];
            ready[j] = ready[--count];
            p->ae_round = x->ae_rounds;
            contact(s, i, p->node); /* held: x->peers does not move */
        }
        return;
    }
    size_t k = rotation_pick(stamps, count, s->o->fanout, chosen, sim_rand, &s->rng);
    for (size_t q = 0; q < k; q++) {
        ready[chosen[q]]->ae_round = x->ae_rounds;
        contact(s, i, ready[chosen[q]]->node);
    }
}

/* poll - the arrival poll (push_arrivals): what arrived since the last look is pushed
 * to every peer from its cursor, never back to where it came from. */
static void poll(struct sim *s, uint32_t i)
{
    struct snode *x = &s->node[i];
    x->noticed = memstore_count(x->ms);
    for (size_t k = 0; k < x->n_peers; k++) {
        struct link *l = &x->peers[k];
        if (l->push_from >= x->noticed)
            continue;
        if (!s->push || (!l->outbound && !l->route)) {
            l->push_from = x->noticed; /* the next session brings it */
            continue;
        }
        for (uint64_t a = l->push_from; a < x->noticed; a++) {
            if (x->source[a] == (int32_t)l->node)
                continue;
            if (dropped(s)) {
                s->c.pushes_dropped++;
                continue;
            }
            push_one(s, i, l->node, a);
        }
        l->push_from = x->noticed;
    }
}

static void reload(struct sim *s, uint32_t i)
{
    struct snode *x = &s->node[i];
    for (size_t k = 0; k < x->n_pending; k++) {
        uint32_t j = x->pending[k];
        peer_note(x, j, true);
        contact(s, i, j); /* a connection that comes up gets a session at once */
    }
    x->n_pending = 0;
}

/* ---- the graph of bench/converge.py ---- */

struct graph {
    uint32_t n;
    uint8_t *bits;                     /* n * n: an edge a-b is held (either way) */
    uint32_t (*inner)[2], (*cross)[2]; /* [adder, added] */
    size_t n_inner, cap_inner, n_cross, cap_cross;
};

static bool edge_new(struct graph *g, uint32_t a, uint32_t b)
{
    uint64_t k = (uint64_t)(a < b ? a : b) * g->n + (a < b ? b : a);
    if (g->bits[k / 8] & (1u << (k % 8)))
        return false;
    g->bits[k / 8] |= (uint8_t)(1u << (k % 8));
    return true;
}

/* add_edge - a new edge a-b, added by one end chosen at random; false when held. */
static bool add_edge(struct graph *g, uint64_t *rng, uint32_t a, uint32_t b, bool cross)
{
    if (a == b || !edge_new(g, a, b))
        return false;
    if (rng_unit(rng) >= 0.5) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    if (cross) {
        g->cross = xgrow(g->cross, &g->cap_cross, g->n_cross + 1, sizeof *g->cross);
        g->cross[g->n_cross][0] = a;
        g->cross[g->n_cross++][1] = b;
    } else {
        g->inner = xgrow(g->inner, &g->cap_inner, g->n_inner + 1, sizeof *g->inner);
        g->inner[g->n_inner][0] = a;
        g->inner[g->n_inner++][1] = b;
    }
    return true;
}

/* connected_graph - nodes first..first+cnt-1 joined by a random spanning tree, then random
 * edges up to a mean degree of `degree` (converge.py's connected_graph). */
static void connected_graph(struct graph *g, uint64_t *rng, uint32_t first, uint32_t cnt,
                            double degree)
{
    uint32_t *order = xcalloc(cnt, sizeof *order);
    for (uint32_t k = 0; k < cnt; k++)
        order[k] = first + k;
    for (uint32_t k = cnt; k > 1; k--) {
        uint32_t j = rng_below(rng, k), t = order[k - 1];
        order[k - 1] = order[j];
        order[j] = t;
    }
    uint64_t made = 0;
    for (uint32_t k = 1; k < cnt; k++)
        made += add_edge(g, rng, order[k], order[rng_below(rng, k)], false);
    uint64_t want = (uint64_t)llround(cnt * degree / 2);
    if (want < (uint64_t)cnt - 1)
        want = cnt - 1;
    uint64_t most = (uint64_t)cnt * (cnt - 1) / 2;
    while (made < (want < most ? want : most)) {
        uint32_t a = order[rng_below(rng, cnt)], b = order[rng_below(rng, cnt)];
        made += add_edge(g, rng, a, b, false);
    }
    free(order);
}

static void graph_make(struct graph *g, uint32_t n, uint64_t *rng)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    g->bits = xcalloc((size_t)n * n / 8 + 1, 1);
    uint32_t half = n / 2;
    connected_graph(g, rng, 0, half, 2.5);
    connected_graph(g, rng, half, n - half, 2.5);
    size_t want = n / 4 > 2 ? n / 4 : 2;
    while (g->n_cross < want)
        add_edge(g, rng, rng_below(rng, half), half + rng_below(rng, n - half), true);
}

static void graph_free(struct graph *g)
{
    free(g->bits);
    free(g->inner);
    free(g->cross);
}

/* ---- one run ---- */

struct result {
    bool converged, verified;
    double periods, apart_periods;
    double bytes_mean;
    uint64_t bytes_max;
    uint64_t edges, cross;
    struct counts c;
};

/* author - node i makes a new event. */
static void author(struct sim *s, uint32_t i)
{
    uint8_t h[MEMSTORE_HEADER_LEN];
    rng_header(&s->rng, h);
    uint64_t before = memstore_count(s->node[i].ms);
    must(memstore_add(s->node[i].ms, h, s->ids[s->n_ids++]), "author");
    arrived(s, i, before, -1);
}

/* heal - the cross edges appear in their adders' peer lists. */
static void heal(struct sim *s, const struct graph *g)
{
    for (size_t k = 0; k < g->n_cross; k++) {
        struct snode *x = &s->node[g->cross[k][0]];
        x->pending = xgrow(x->pending, &x->cap_pending, x->n_pending + 1, sizeof *x->pending);
        x->pending[x->n_pending++] = g->cross[k][1];
    }
    s->healed = true;
    s->t_start = s->now;
    memset(&s->c, 0, sizeof s->c);
    for (uint32_t i = 0; i < s->n; i++)
        s->node[i].bytes_at_heal = s->node[i].bytes_sent;
}

/* verify - every replica holds every event of the forum, and nothing else: the
 * memstores' contents, not the counters of this program. */
static bool verify(const struct sim *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        if (memstore_count(s->node[i].ms) != s->n_ids)
            return false;
        for (size_t k = 0; k < s->n_ids; k++)
            if (!memstore_has(s->node[i].ms, s->ids[k]))
                return false;
    }
    return true;
}

static void run_one(const struct opts *o, uint32_t n, double drop, bool push, uint64_t seed,
                    struct result *r)
{
    struct sim s = {.o = o, .n = n, .rng = seed, .drop = drop, .push = push};
    struct graph g;
    graph_make(&g, n, &s.rng);
    s.node = xcalloc(n, sizeof *s.node);
    s.total = BASE_EVENTS + 2ull * o->posts;
    s.half_total[0] = s.half_total[1] = BASE_EVENTS + o->posts;
    s.ids = xcalloc(s.total, sizeof *s.ids);
    hbuf_init(&s.msg, HEARTH_MAX_FRAME + 64);
    uint8_t base[BASE_EVENTS][MEMSTORE_HEADER_LEN];
    for (int k = 0; k < BASE_EVENTS; k++)
        rng_header(&s.rng, base[k]);
    for (uint32_t i = 0; i < n; i++) {
        struct snode *x = &s.node[i];
        must(memstore_new(&x->ms, FORUM), "memstore");
        must(recon_index_new(&x->idx), "index");
        for (int k = 0; k < BASE_EVENTS; k++)
            must(memstore_add(x->ms, base[k], i == 0 ? s.ids[s.n_ids++] : NULL), "base");
        x->source = xgrow(x->source, &x->cap_source, BASE_EVENTS, sizeof *x->source);
        for (int k = 0; k < BASE_EVENTS; k++)
            x->source[k] = -1;
        x->noticed = BASE_EVENTS;
        x->half = i < n / 2 ? 0 : 1;
    }
    struct heap h = {0};
    for (uint32_t i = 0; i < n; i++) {
        heap_push(&h, jitter(&s.rng, 1000), i, T_AE);
        heap_push(&h, rng_below(&s.rng, ARRIVALS_EVERY_MS), i, T_POLL);
        heap_push(&h, rng_below(&s.rng, RELOAD_EVERY_MS), i, T_RELOAD);
    }
    /* The nodes start with their peers connected, each connection synced at once. */
    for (size_t k = 0; k < g.n_inner; k++)
        peer_note(&s.node[g.inner[k][0]], g.inner[k][1], true);
    if (!o->heal)
        for (size_t k = 0; k < g.n_cross; k++)
            peer_note(&s.node[g.cross[k][0]], g.cross[k][1], true);
    for (uint32_t i = 0; i < n; i++)
        for (size_t k = 0; k < s.node[i].n_peers; k++)
            if (s.node[i].peers[k].outbound)
                contact(&s, i, s.node[i].peers[k].node);
    if (!o->heal)
        heal(&s, &g);
    /* Posts at random nodes of each half. */
    for (unsigned k = 0; k < o->posts; k++) {
        author(&s, rng_below(&s.rng, n / 2));
        author(&s, n / 2 + rng_below(&s.rng, n - n / 2));
    }
    uint64_t heal_at = UINT64_MAX, limit = o->max_periods * o->period_ms;
    while (!(s.healed && s.complete == n)) {
        if (!s.healed && heal_at == UINT64_MAX && s.half_done == n) {
            s.t_apart = s.now;
            heal_at = s.now + HEAL_WAIT_MS;
        }
        if (h.v[0].t >= heal_at && !s.healed) {
            s.now = heal_at;
            heal(&s, &g);
            continue;
        }
        struct timer t = heap_pop(&h);
        if (t.t - (s.healed ? s.t_start : 0) > limit)
            break;
        s.now = t.t;
        uint64_t next = 0;
        switch (t.kind) {
        case T_AE:
            anti_entropy(&s, t.node);
            next = s.now + jitter(&s.rng, o->period_ms);
            break;
        case T_POLL:
            poll(&s, t.node);
            next = s.now + ARRIVALS_EVERY_MS;
            break;
        case T_RELOAD:
            reload(&s, t.node);
            next = s.now + RELOAD_EVERY_MS;
            break;
        }
        heap_push(&h, next, t.node, t.kind);
    }
    memset(r, 0, sizeof *r);
    r->converged = s.healed && s.complete == n;
    r->verified = verify(&s);
    r->periods = r->converged ? (double)(s.t_done - s.t_start) / (double)o->period_ms : -1;
    r->apart_periods = o->heal ? (double)s.t_apart / (double)o->period_ms : 0;
    r->edges = g.n_inner + g.n_cross;
    r->cross = g.n_cross;
    r->c = s.c;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct snode *x = &s.node[i];
        uint64_t b = x->bytes_sent - x->bytes_at_heal;
        sum += b;
        r->bytes_max = b > r->bytes_max ? b : r->bytes_max;
        memstore_destroy(&x->ms);
        recon_index_destroy(&x->idx);
        free(x->peers);
        free(x->pending);
        free(x->source);
    }
    r->bytes_mean = (double)sum / n;
    free(s.node);
    free(s.ids);
    free(h.v);
    hbuf_release(&s.msg);
    graph_free(&g);
}

/* ---- a case: several runs, summarised ---- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool run_case(const struct opts *o, uint32_t n, double drop, bool push, bool *first)
{
    struct result *rs = xcalloc(o->runs, sizeof *rs);
    double *per = xcalloc(o->runs, sizeof *per);
    double t0 = now_s(), sum = 0, worst = 0, best = 1e300, bytes = 0, apart = 0;
    bool converged = true, verified = true;
    uint64_t failed = 0, short_ = 0;
    double sessions = 0, pushes = 0, push_new = 0, session_new = 0, push_dup = 0;
    for (unsigned k = 0; k < o->runs; k++) {
        struct result *r = &rs[k];
        run_one(o, n, drop, push, o->seed + 1000ull * k + n, r);
        converged &= r->converged;
        verified &= r->verified;
        per[k] = r->periods;
        sum += r->periods;
        worst = r->periods > worst ? r->periods : worst;
        best = r->periods < best ? r->periods : best;
        bytes += r->bytes_mean;
        apart += r->apart_periods;
        sessions += (double)r->c.sessions;
        failed += r->c.sessions_failed;
        short_ += r->c.sessions_short;
        pushes += (double)r->c.pushes_sent;
        push_new += (double)r->c.push_new;
        push_dup += (double)r->c.push_dup;
        session_new += (double)r->c.session_new;
    }
    double runs = o->runs, mean = sum / runs, lg = log2((double)n);
    qsort(per, o->runs, sizeof *per, cmp_double);
    double median = per[o->runs / 2];
    double wall = now_s() - t0;
    bool ok = converged && verified && !failed && !short_;
    if (o->json) {
        printf("%s\n    {\"nodes\": %u, \"drop\": %.2f, \"push\": %s, \"runs\": %u, "
               "\"converged\": %s, \"verified\": %s, \"periods_mean\": %.2f, "
               "\"periods_median\": %.2f, \"periods_best\": %.2f, \"periods_worst\": %.2f, "
               "\"periods_all\": [",
               *first ? "" : ",", n, drop, push ? "true" : "false", o->runs,
               converged ? "true" : "false", verified ? "true" : "false", ok ? mean : -1,
               ok ? median : -1, ok ? best : -1, ok ? worst : -1);
        for (unsigned k = 0; k < o->runs; k++)
            printf("%s%.2f", k ? ", " : "", rs[k].periods);
        printf(
            "], \"log2_n\": %.3f, \"ratio_mean\": %.3f, \"ratio_worst\": %.3f, "
            "\"apart_periods_mean\": %.2f, \"edges\": %" PRIu64 ", \"cross_edges\": %" PRIu64
            ", \"bytes_per_node_mean\": %.0f, \"sessions_per_node\": %.2f, "
            "\"pushes_per_node\": %.2f, \"new_by_push_per_node\": %.2f, "
            "\"new_by_session_per_node\": %.2f, \"duplicate_pushes_per_node\": %.2f, "
            "\"sessions_failed\": %" PRIu64 ", \"sessions_short\": %" PRIu64 ", \"wall_s\": %.2f}",
            lg, ok ? mean / lg : -1, ok ? worst / lg : -1, apart / runs, rs[0].edges, rs[0].cross,
            bytes / runs, sessions / runs / n, pushes / runs / n, push_new / runs / n,
            session_new / runs / n, push_dup / runs / n, failed, short_, wall);
    } else {
        printf("gossip sim: %u nodes, %s, %s: ", n, push ? "push" : "no push",
               drop > 0 ? "30% contacts fail" : "no failures");
        if (drop > 0 && drop != 0.3)
            printf("(drop %.2f) ", drop);
        if (ok)
            printf("%.2f periods after %s (median %.2f, worst %.2f, %u runs); log2(n) %.2f, "
                   "ratio %.2f (worst %.2f); %.0f B/node; %.1f s\n",
                   mean, o->heal ? "the heal" : "the posts", median, worst, o->runs, lg, mean / lg,
                   worst / lg, bytes / runs, wall);
        else
            printf("NOT converged or contents differ (%s, %s)\n",
                   converged ? "converged" : "not converged",
                   verified ? "contents equal" : "contents differ");
    }
    fflush(stdout);
    *first = false;
    free(rs);
    free(per);
    return ok;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_gossip [--quick] [--json] [--sizes N,N...] [--runs K] "
                    "[--seed S] [--drop P]... [--push on|off|both] [--scenario heal|spread] "
                    "[--period-ms MS] [--fanout F] [--posts PER_SIDE] [--max-periods M] "
                    "[--policy oldest|random]\n");
    exit(2);
}

static unsigned parse_unsigned(const char *s, unsigned lo, unsigned hi)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        fprintf(stderr, "bench_gossip: '%s' is not a number from %u to %u\n", s, lo, hi);
        exit(2);
    }
    return (unsigned)v;
}

static void parse_sizes(struct opts *o, const char *s)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    o->n_sizes = 0;
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->n_sizes == MAX_SIZES)
            usage();
        o->sizes[o->n_sizes++] = parse_unsigned(t, 4, 20000);
    }
    if (!o->n_sizes)
        usage();
}

int main(int argc, char **argv)
{
    struct opts o = {.heal = true,
                     .oldest = true,
                     .runs = 5,
                     .fanout = 2,
                     .posts = 10,
                     .max_periods = 200,
                     .seed = 1,
                     .period_ms = 2000,
                     .sizes = {10, 50, 100, 500},
                     .n_sizes = 4,
                     .push = {true, false},
                     .n_push = 2};
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) {
            quick = true;
        } else if (!strcmp(a, "--json")) {
            o.json = true;
        } else if (!v) {
            usage();
        } else if (!strcmp(a, "--sizes")) {
            parse_sizes(&o, v), i++;
        } else if (!strcmp(a, "--runs")) {
            o.runs = parse_unsigned(v, 1, 1000), i++;
        } else if (!strcmp(a, "--seed")) {
            o.seed = strtoull(v, NULL, 10), i++;
        } else if (!strcmp(a, "--drop")) {
            char *end;
            double d = strtod(v, &end);
            if (*end || !(d >= 0 && d < 1) || o.n_drops == MAX_DROPS) {
                fprintf(stderr,
                        "bench_gossip: --drop takes a probability from 0 to below 1, "
                        "at most %d times\n",
                        MAX_DROPS);
                return 2;
            }
            o.drops[o.n_drops++] = d, i++;
        } else if (!strcmp(a, "--push")) {
            o.n_push = 0;
            if (!strcmp(v, "on") || !strcmp(v, "both"))
                o.push[o.n_push++] = true;
            if (!strcmp(v, "off") || !strcmp(v, "both"))
                o.push[o.n_push++] = false;
            if (!o.n_push)
                usage();
            i++;
        } else if (!strcmp(a, "--scenario")) {
            if (strcmp(v, "heal") && strcmp(v, "spread"))
                usage();
            o.heal = !strcmp(v, "heal"), i++;
        } else if (!strcmp(a, "--policy")) {
            if (strcmp(v, "random") && strcmp(v, "oldest"))
                usage();
            o.oldest = !strcmp(v, "oldest"), i++;
        } else if (!strcmp(a, "--period-ms")) {
            o.period_ms = parse_unsigned(v, 200, 3600000), i++;
        } else if (!strcmp(a, "--fanout")) {
            o.fanout = parse_unsigned(v, 1, 16), i++;
        } else if (!strcmp(a, "--posts")) {
            o.posts = parse_unsigned(v, 1, 100000), i++;
        } else if (!strcmp(a, "--max-periods")) {
            o.max_periods = parse_unsigned(v, 1, 100000), i++;
        } else {
            usage();
        }
    }
    if (quick && o.n_sizes == 4 && o.sizes[3] == 500) {
        o.sizes[0] = 20;
        o.n_sizes = 1;
        o.runs = 3;
    }
    if (!o.n_drops) {
        o.drops[0] = 0;
        o.drops[1] = 0.3;
        o.n_drops = 2;
    }
    if (crypto_start() != HERR_OK)
        return 1;
    /* Each replica's recon index is a 6 MiB calloc of which a few pages are touched:
     * kept mapped (not carved from the heap, where calloc must clear it), the
     * simulation's memory follows the pages used, not N * 6 MiB. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    if (o.json)
        printf("{\"gossip_sim\": {\"scenario\": \"%s\", \"policy\": \"%s\", \"period_ms\": %" PRIu64
               ", \"fanout\": %u, \"posts_per_side\": %u, \"base_events\": %d, \"seed\": %" PRIu64
               ", \"cases\": [",
               o.heal ? "heal" : "spread", o.oldest ? "oldest" : "random", o.period_ms, o.fanout,
               o.posts, BASE_EVENTS, o.seed);
    bool ok = true, first = true;
    for (unsigned a = 0; a < o.n_sizes; a++)
        for (unsigned p = 0; p < o.n_push; p++)
            for (unsigned d = 0; d < o.n_drops; d++)
                ok &= run_case(&o, o.sizes[a], o.drops[d], o.push[p], &first);
    if (o.json)
        printf("\n  ]}}\n");
    return ok ? 0 : 1;
}

/* peer_table.c - the node's table of peers: who they are (static, added, discovered,
 * inbound), where to reach them, their connection and back-off, who gives way in a
 * full table, and each record kept in step with the store's (node/peers.h), which
 * `hearth peers` changes beside a running node. Also who may talk to us at all (the
 * allow-list mode).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "node/clock.h"
#include "node/node_int.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS (5 * 60 * 1000)

/* A discovered or inbound peer not heard from for this long may give its place in a
 * full peer table to a new one; configured peers never do. */
#define EVICT_AFTER_MS (10 * 60 * 1000)

struct peer *peer_find(struct node *n, const uint8_t key[HEARTH_PK_LEN])
{
    for (int i = 0; i < NODE_MAX_PEERS; i++)
        if (n->peers[i].used && memcmp(n->peers[i].rec.key, key, HEARTH_PK_LEN) == 0)
            return &n->peers[i];
    return NULL;
}

struct peer *peer_by_conn(struct node *n, int conn)
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

bool peer_configured(const struct peer *p)
{
    return named_source(p->rec.source);
}

void peer_disconnect(struct node *n, struct peer *p)
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
        if (!p->used || peer_configured(p) || p->ready || p->out.s || has_inbound(n, p) ||
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
struct peer *peer_note(struct node *n, const uint8_t key[HEARTH_PK_LEN], const char *endpoint,
                       const char *source, bool make_room)
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

void peer_failed(struct node *n, struct peer *p, const char *why)
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

void peer_save(struct node *n, struct peer *p)
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

/* peer_reload - pick up static peers and what `hearth peers` changed. */
void peer_reload(struct node *n)
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

bool node_allows(struct node *n, const uint8_t key[HEARTH_PK_LEN])
{
    return n->cfg.access == ACCESS_OPEN || peer_allowed(n->st, key);
}

/* peer_seen - the peer just spoke; worth saving once a minute (sessions and failures save
 * it anyway), so that `hearth peers` shows when we last heard a peer that only pushes. */
void peer_seen(struct peer *p)
{
    uint64_t now = wall_ms();
    if (since(now, p->rec.last_seen) >= 60000)
        p->dirty = true;
    p->rec.last_seen = now;
}

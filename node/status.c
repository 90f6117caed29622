/* status.c - what a running node tells about itself: the snapshot of its numbers
 * (struct node_stats), taken on the node's thread every NODE_STATUS_MS and read by
 * other threads through node_stats, and the one JSON form of it, written to the
 * replica's "node:status" (node_status_json) and read back by `hearth status`
 * (node_status_parse).
 */
#include "node/status.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "node/clock.h"
#include "node/node_int.h"

#define STATUS_MAX_DEPTH 4

const char *node_replica_name(enum node_replica r)
{
    return r == NODE_REPLICA_OK ? "ok" : r == NODE_REPLICA_DAMAGED ? "damaged" : "unchecked";
}

/* The numbers, by their names in the JSON: one table for writing and reading. */
struct u64_field {
    const char *name;
    size_t off;
};

#define NODE_U64(json, member)                                                                     \
    {                                                                                              \
        json, offsetof(struct node_stats, member)                                                  \
    }
static const struct u64_field node_u64[] = {
    NODE_U64("pid", pid),
    NODE_U64("started", started),
    NODE_U64("updated", taken),
    NODE_U64("interval", interval),
    NODE_U64("fanout", fanout),
    NODE_U64("events", events),
    NODE_U64("bytes_sent", bytes_sent),
    NODE_U64("bytes_received", bytes_recv),
    NODE_U64("sessions", sessions_ok),
    NODE_U64("sessions_failed", sessions_failed),
    NODE_U64("inbound_sessions", sessions_in),
    NODE_U64("outbound_sessions", sessions_out),
    NODE_U64("pushes_sent", pushes_sent),
    NODE_U64("pushes_received", pushes_recv),
    NODE_U64("pushes_new", pushes_new),
    NODE_U64("pushes_dropped", pushes_dropped),
    NODE_U64("pushes_handed_to_sync", pushes_handed_to_sync),
    NODE_U64("push_backlog", push_backlog),
    NODE_U64("inbound_evicted", inbound_evicted),
    NODE_U64("push_in_session", push_in_session),
    NODE_U64("busy_refused", busy_refused),
    NODE_U64("contacts_dropped", contacts_dropped),
    NODE_U64("replica_checked", replica_checked),
    NODE_U64("full_refused", full_refused),
    NODE_U64("accepted", ingest.accepted),
    NODE_U64("duplicates", ingest.duplicate),
};

#define PEER_U64(json, member)                                                                     \
    {                                                                                              \
        json, offsetof(struct node_peer_stats, member)                                             \
    }
static const struct u64_field peer_u64[] = {
    PEER_U64("last_seen", last_seen),       PEER_U64("last_sync", last_sync),
    PEER_U64("failures", failures),         PEER_U64("bytes_sent", bytes_sent),
    PEER_U64("bytes_received", bytes_recv),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t *u64_at(void *base, const struct u64_field *f)
{
    return (uint64_t *)(void *)((char *)base + f->off);
}

/* ---- writing ---- */

/* put_string - "key":"s", s escaped by base/json.h. */
static herr put_string(struct hbuf *b, const char *key, const char *s)
{
    herr e = json_string(b, key, strlen(key));
    if (!e)
        e = hbuf_append(b, ":", 1);
    return e ? e : json_string(b, s, strlen(s));
}

static herr put_u64(struct hbuf *b, const char *key, uint64_t v)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "\"%s\":%" PRIu64, key, v);
    return hbuf_append(b, buf, (size_t)n);
}

static herr put(struct hbuf *b, const char *s)
{
    return hbuf_append(b, s, strlen(s));
}

herr node_status_json(const struct node_stats *s, struct hbuf *b)
{
    herr e = put(b, "{");
    for (size_t i = 0; i < N(node_u64) && !e; i++)
        if (!(e = put_u64(b, node_u64[i].name, *u64_at((void *)s, &node_u64[i]))))
            e = put(b, ",");
    if (!e)
        e = put_string(b, "version", s->version);
    if (!e && !(e = put(b, ",")))
        e = put_string(b, "listen", s->listen);
    if (!e && !(e = put(b, ",")))
        e = put_string(b, "access", s->access);
    if (!e)
        e = put(b, s->discovery ? ",\"discovery\":true," : ",\"discovery\":false,");
    if (!e)
        e = put(b, s->disk_full ? "\"disk_full\":true," : "\"disk_full\":false,");
    if (!e)
        e = put_string(b, "replica", node_replica_name(s->replica));
    if (!e)
        e = put(b, ",\"rejected\":{");
    const char *sep = "";
    for (int r = 0; r < HERR_COUNT && !e; r++) {
        if (!s->ingest.rejected[r])
            continue;
        if (!(e = put(b, sep)))
            e = put_u64(b, herr_name((herr)r), s->ingest.rejected[r]);
        sep = ",";
    }
    if (!e)
        e = put(b, "},\"peers\":[");
    for (size_t i = 0; i < s->npeers && !e; i++) {
        const struct node_peer_stats *p = &s->peers[i];
        e = put(b, i ? ",{" : "{");
        for (size_t k = 0; k < N(peer_u64) && !e; k++)
            if (!(e = put_u64(b, peer_u64[k].name, *u64_at((void *)p, &peer_u64[k]))))
                e = put(b, ",");
        if (!e)
            e = put_string(b, "key", p->key);
        if (!e && !(e = put(b, ",")))
            e = put_string(b, "endpoint", p->endpoint);
        if (!e && !(e = put(b, ",")))
            e = put_string(b, "state", p->state);
        if (!e && !(e = put(b, ",")))
            e = put_string(b, "source", p->source);
        if (!e)
            e = put(b, "}");
    }
    if (!e)
        e = hbuf_append(b, "]}", 3); /* with the NUL */
    return e;
}

/* ---- reading ---- */

struct cursor {
    const char *p, *end;
    bool bad;
};

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r'))
        c->p++;
}

static bool eat(struct cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* read_string - a JSON string into out[0..n) (\u escapes outside printable ASCII
 * become '?'). One that does not fit is refused, as malformed: a field of ours is
 * never longer than its place in struct node_stats. With `cut`, for a member's name,
 * it is read as "" instead, a name no field has (a newer node's long one is skipped). */
static bool read_string(struct cursor *c, char *out, size_t n, bool cut)
{
    size_t j = 0;
    bool over = false;
    if (!eat(c, '"'))
        return c->bad = true, false;
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;
        if (ch == '\\') {
            if (c->p >= c->end)
                break;
            char esc = *c->p++;
            if (esc == 'u') {
                if (c->end - c->p < 4)
                    break;
                char hex[5] = {c->p[0], c->p[1], c->p[2], c->p[3], 0};
                long u = strtol(hex, NULL, 16);
                c->p += 4;
                ch = u >= 0x20 && u < 0x7f ? (char)u : '?';
            } else {
                ch = strchr("nrtbf", esc) ? '?' : esc; /* a control character */
            }
        }
        if (j + 1 < n)
            out[j++] = ch;
        else
            over = n > 0;
    }
    if (n)
        out[over && cut ? 0 : j] = 0;
    if (c->p >= c->end || (over && !cut))
        return c->bad = true, false;
    c->p++;
    return true;
}

static bool read_u64(struct cursor *c, uint64_t *v)
{
    skip_ws(c);
    uint64_t x = 0;
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && c->p - start < 19)
        x = x * 10 + (uint64_t)(*c->p++ - '0');
    if (c->p == start)
        return c->bad = true, false;
    *v = x;
    return true;
}

static bool skip_value(struct cursor *c, int depth)
{
    skip_ws(c);
    if (c->p >= c->end || depth > STATUS_MAX_DEPTH)
        return c->bad = true, false;
    char ch = *c->p;
    if (ch == '"')
        return read_string(c, NULL, 0, false);
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->p++;
        if (eat(c, close))
            return true;
        do {
            if (ch == '{' && (!read_string(c, NULL, 0, false) || !eat(c, ':')))
                return c->bad = true, false;
            if (!skip_value(c, depth + 1))
                return false;
        } while (eat(c, ','));
        return eat(c, close) ? true : (c->bad = true, false);
    }
    const char *start = c->p;
    while (c->p < c->end && strchr("-+.0123456789eEtruefalsn", *c->p))
        c->p++;
    return c->p > start ? true : (c->bad = true, false);
}

/* A member of an object: the caller reads its key and calls this with the value. */
typedef bool (*member_fn)(struct cursor *c, const char *key, void *ctx);

static bool read_object(struct cursor *c, member_fn fn, void *ctx)
{
    if (!eat(c, '{'))
        return c->bad = true, false;
    if (eat(c, '}'))
        return true;
    do {
        char key[32];
        if (!read_string(c, key, sizeof key, true) || !eat(c, ':') || !fn(c, key, ctx))
            return c->bad = true, false;
    } while (eat(c, ','));
    return eat(c, '}') ? true : (c->bad = true, false);
}

static bool read_field(struct cursor *c, const char *key, const struct u64_field *f, size_t n,
                       void *base, bool *known)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(key, f[i].name)) {
            *known = true;
            return read_u64(c, u64_at(base, &f[i]));
        }
    *known = false;
    return true;
}

static bool peer_member(struct cursor *c, const char *key, void *ctx)
{
    struct node_peer_stats *p = ctx;
    bool known;
    if (!read_field(c, key, peer_u64, N(peer_u64), p, &known) || known)
        return !c->bad;
    if (!strcmp(key, "key"))
        return read_string(c, p->key, sizeof p->key, false);
    if (!strcmp(key, "endpoint"))
        return read_string(c, p->endpoint, sizeof p->endpoint, false);
    if (!strcmp(key, "state"))
        return read_string(c, p->state, sizeof p->state, false);
    if (!strcmp(key, "source"))
        return read_string(c, p->source, sizeof p->source, false);
    return skip_value(c, 2);
}

static bool read_peers(struct cursor *c, struct node_stats *s)
{
    if (!eat(c, '['))
        return c->bad = true, false;
    if (eat(c, ']'))
        return true;
    do {
        struct node_peer_stats ignored = {0},
                               *p = s->npeers < NODE_STATUS_PEERS ? &s->peers[s->npeers] : &ignored;
        memset(p, 0, sizeof *p);
        if (!read_object(c, peer_member, p))
            return false;
        if (p != &ignored)
            s->npeers++;
    } while (eat(c, ','));
    return eat(c, ']') ? true : (c->bad = true, false);
}

static bool rejected_member(struct cursor *c, const char *key, void *ctx)
{
    struct node_stats *s = ctx;
    for (int r = 0; r < HERR_COUNT; r++)
        if (!strcmp(key, herr_name((herr)r)))
            return read_u64(c, &s->ingest.rejected[r]);
    return skip_value(c, 2);
}

static bool node_member(struct cursor *c, const char *key, void *ctx)
{
    struct node_stats *s = ctx;
    bool known;
    if (!read_field(c, key, node_u64, N(node_u64), s, &known) || known)
        return !c->bad;
    if (!strcmp(key, "version"))
        return read_string(c, s->version, sizeof s->version, false);
    if (!strcmp(key, "listen"))
        return read_string(c, s->listen, sizeof s->listen, false);
    if (!strcmp(key, "access"))
        return read_string(c, s->access, sizeof s->access, false);
    if (!strcmp(key, "replica")) {
        char r[16];
        if (!read_string(c, r, sizeof r, true))
            return false;
        s->replica = !strcmp(r, "ok")        ? NODE_REPLICA_OK
                     : !strcmp(r, "damaged") ? NODE_REPLICA_DAMAGED
                                             : NODE_REPLICA_UNCHECKED;
        return true;
    }
    if (!strcmp(key, "discovery") || !strcmp(key, "disk_full")) {
        skip_ws(c);
        *(!strcmp(key, "discovery") ? &s->discovery : &s->disk_full) =
            c->p < c->end && *c->p == 't';
        return skip_value(c, 1);
    }
    if (!strcmp(key, "rejected"))
        return read_object(c, rejected_member, s);
    if (!strcmp(key, "peers"))
        return read_peers(c, s);
    return skip_value(c, 1);
}

herr node_status_parse(const char *text, size_t n, struct node_stats *s)
{
    memset(s, 0, sizeof *s);
    struct cursor cur = {text, text + n, false};
    if (!read_object(&cur, node_member, s) || cur.bad)
        return HERR_MALFORMED;
    skip_ws(&cur);
    return cur.p == cur.end ? HERR_OK : HERR_MALFORMED;
}

/* ---- the snapshot ---- */

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
    if (!recon_index_held(n->idx) &&
        recon_index_catch_up(n->idx, node_source_keys, n->st) != HERR_OK)
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
    s->sessions_in = inbound_count(n);
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

void node_write_status(struct node *n)
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

/* cmd_status.c - `hearth status`: what this node holds, and what its running node
 * (`hearth serve`) is doing.
 *
 * A running node writes its state as JSON to the local setting "node:status" every
 * two seconds (node/node.c, write_status) and deletes it when it stops. A node that
 * was killed leaves it behind, so it counts only when its process is alive and it
 * was written in the last STATUS_FRESH_MS. The reader below is small and bounded:
 * the text comes from our own store, but it is still checked, not trusted.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "cli/cli.h"
#include "node/clock.h"
#include "node/node.h"

#define STATUS_FRESH_MS 15000 /* several of the node's 2 s writes */
#define STATUS_MAX_DEPTH 4

struct status_peer {
    char key[2 * HEARTH_PK_LEN + 1];
    char endpoint[256], state[16], source[16];
    uint64_t last_seen, last_sync, failures;
};

struct node_status {
    uint64_t pid, started, updated, interval, fanout, events;
    uint64_t bytes_sent, bytes_received, sessions, sessions_failed, inbound_sessions;
    uint64_t pushes_sent, pushes_received, pushes_new, pushes_dropped, pushes_handed_to_sync;
    uint64_t push_backlog, busy_refused, inbound_evicted, push_in_session, contacts_dropped;
    char version[32], listen[256], access[16];
    bool discovery;
    size_t n_peers;
    struct status_peer peers[NODE_MAX_PEERS];
};

/* ---- a bounded reader for the node's status JSON ---- */

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

/* read_string - a JSON string into out[0..n) (cut to fit; \u escapes outside ASCII
 * become '?'). */
static bool read_string(struct cursor *c, char *out, size_t n)
{
    size_t j = 0;
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
                ch = esc == 'n' ? ' ' : esc == 't' ? ' ' : esc;
            }
        }
        if (j + 1 < n)
            out[j++] = ch;
    }
    if (n)
        out[j] = 0;
    if (c->p >= c->end)
        return c->bad = true, false;
    c->p++;
    return true;
}

static bool read_u64(struct cursor *c, uint64_t *v)
{
    skip_ws(c);
    uint64_t x = 0;
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && c->p - start < 20)
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
        return read_string(c, NULL, 0);
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->p++;
        if (eat(c, close))
            return true;
        do {
            char key[8];
            if (ch == '{' && (!read_string(c, key, sizeof key) || !eat(c, ':')))
                return c->bad = true, false;
            if (!skip_value(c, depth + 1))
                return false;
        } while (eat(c, ','));
        return eat(c, close) ? true : (c->bad = true, false);
    }
    while (c->p < c->end && strchr("-+.0123456789eEtruefalsn", *c->p))
        c->p++;
    return true;
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
        if (!read_string(c, key, sizeof key) || !eat(c, ':') || !fn(c, key, ctx))
            return c->bad = true, false;
    } while (eat(c, ','));
    return eat(c, '}') ? true : (c->bad = true, false);
}

#define U64_FIELD(type, name)                                                                      \
    {                                                                                              \
#name, offsetof(type, name)                                                                \
    }

static const struct {
    const char *name;
    size_t off;
} node_u64[] = {
    U64_FIELD(struct node_status, pid),
    U64_FIELD(struct node_status, started),
    U64_FIELD(struct node_status, updated),
    U64_FIELD(struct node_status, interval),
    U64_FIELD(struct node_status, fanout),
    U64_FIELD(struct node_status, events),
    U64_FIELD(struct node_status, bytes_sent),
    U64_FIELD(struct node_status, bytes_received),
    U64_FIELD(struct node_status, sessions),
    U64_FIELD(struct node_status, sessions_failed),
    U64_FIELD(struct node_status, inbound_sessions),
    U64_FIELD(struct node_status, pushes_sent),
    U64_FIELD(struct node_status, pushes_received),
    U64_FIELD(struct node_status, pushes_new),
    U64_FIELD(struct node_status, pushes_dropped),
    U64_FIELD(struct node_status, pushes_handed_to_sync),
    U64_FIELD(struct node_status, push_backlog),
    U64_FIELD(struct node_status, busy_refused),
    U64_FIELD(struct node_status, inbound_evicted),
    U64_FIELD(struct node_status, push_in_session),
    U64_FIELD(struct node_status, contacts_dropped),
};

static bool peer_member(struct cursor *c, const char *key, void *ctx)
{
    struct status_peer *p = ctx;
    if (!strcmp(key, "key"))
        return read_string(c, p->key, sizeof p->key);
    if (!strcmp(key, "endpoint"))
        return read_string(c, p->endpoint, sizeof p->endpoint);
    if (!strcmp(key, "state"))
        return read_string(c, p->state, sizeof p->state);
    if (!strcmp(key, "source"))
        return read_string(c, p->source, sizeof p->source);
    if (!strcmp(key, "last_seen"))
        return read_u64(c, &p->last_seen);
    if (!strcmp(key, "last_sync"))
        return read_u64(c, &p->last_sync);
    if (!strcmp(key, "failures"))
        return read_u64(c, &p->failures);
    return skip_value(c, 2);
}

static bool read_peers(struct cursor *c, struct node_status *s)
{
    if (!eat(c, '['))
        return c->bad = true, false;
    if (eat(c, ']'))
        return true;
    do {
        struct status_peer ignored,
            *p = s->n_peers < NODE_MAX_PEERS ? &s->peers[s->n_peers] : &ignored;
        memset(p, 0, sizeof *p);
        if (!read_object(c, peer_member, p))
            return false;
        if (p != &ignored)
            s->n_peers++;
    } while (eat(c, ','));
    return eat(c, ']') ? true : (c->bad = true, false);
}

static bool node_member(struct cursor *c, const char *key, void *ctx)
{
    struct node_status *s = ctx;
    for (size_t i = 0; i < sizeof node_u64 / sizeof node_u64[0]; i++)
        if (!strcmp(key, node_u64[i].name))
            return read_u64(c, (uint64_t *)((char *)s + node_u64[i].off));
    if (!strcmp(key, "version"))
        return read_string(c, s->version, sizeof s->version);
    if (!strcmp(key, "listen"))
        return read_string(c, s->listen, sizeof s->listen);
    if (!strcmp(key, "access"))
        return read_string(c, s->access, sizeof s->access);
    if (!strcmp(key, "discovery")) {
        skip_ws(c);
        s->discovery = c->p < c->end && *c->p == 't';
        return skip_value(c, 1);
    }
    if (!strcmp(key, "peers"))
        return read_peers(c, s);
    return skip_value(c, 1);
}

/* running_node - the status of the node serving this data directory; false when none
 * runs (no status, a dead process, a stale or unreadable status). */
static bool running_node(struct cli *c, struct node_status *s)
{
    char *text = NULL;
    memset(s, 0, sizeof *s);
    if (store_meta_get(c->store, "node:status", &text) != HERR_OK)
        return false;
    struct cursor cur = {text, text + strlen(text), false};
    bool ok = read_object(&cur, node_member, s) && !cur.bad;
    free(text);
    if (!ok || s->pid == 0 || s->pid > INT32_MAX)
        return false;
    if (kill((pid_t)s->pid, 0) != 0 && errno != EPERM)
        return false;
    uint64_t now = wall_ms();
    return s->updated + STATUS_FRESH_MS >= now;
}

/* ---- output ---- */

static void human_size(char *buf, size_t size, uint64_t n)
{
    if (n < 1024)
        snprintf(buf, size, "%llu bytes", (unsigned long long)n);
    else if (n < 1024 * 1024)
        snprintf(buf, size, "%.1f KiB", (double)n / 1024);
    else
        snprintf(buf, size, "%.1f MiB", (double)n / (1024 * 1024));
}

static void json_node(struct cli *c, const struct node_status *s)
{
    struct json *j = &c->out;
    json_object_open(j, "node");
    json_u64(j, "pid", s->pid);
    json_str(j, "version", s->version);
    json_u64(j, "started", s->started);
    json_u64(j, "updated", s->updated);
    json_str(j, "listen", s->listen);
    json_str(j, "access", s->access);
    json_bool(j, "discovery", s->discovery);
    for (size_t i = 0; i < sizeof node_u64 / sizeof node_u64[0]; i++)
        if (strcmp(node_u64[i].name, "pid") && strcmp(node_u64[i].name, "started") &&
            strcmp(node_u64[i].name, "updated"))
            json_u64(j, node_u64[i].name, *(const uint64_t *)((const char *)s + node_u64[i].off));
    json_array_open(j, "peers");
    for (size_t i = 0; i < s->n_peers; i++) {
        const struct status_peer *p = &s->peers[i];
        json_object_open(j, NULL);
        json_str(j, "key", p->key);
        json_str(j, "endpoint", p->endpoint[0] ? p->endpoint : NULL);
        json_str(j, "state", p->state);
        json_str(j, "source", p->source);
        json_u64(j, "last_seen", p->last_seen);
        json_u64(j, "last_sync", p->last_sync);
        json_u64(j, "failures", p->failures);
        json_object_close(j);
    }
    json_array_close(j);
    json_object_close(j);
}

static void print_json(struct cli *c, const struct store_stats *st, const char *name,
                       const uint8_t digest[HEARTH_ID_LEN], const struct node_status *node)
{
    struct json *j = &c->out;
    json_object_open(j, NULL);
    json_str(j, "version", HEARTH_VERSION);
    json_hex(j, "forum", c->forum, HEARTH_ID_LEN);
    json_str(j, "forum_name", name);
    json_str(j, "data_dir", c->dir);
    json_u64(j, "events", st->events);
    json_u64(j, "pending", st->pending);
    json_u64(j, "purged", st->purged);
    json_u64(j, "boards", st->boards);
    json_u64(j, "threads", st->threads);
    json_u64(j, "replies", st->replies);
    json_u64(j, "authors", st->authors);
    json_u64(j, "forks", st->forks);
    json_u64(j, "db_bytes", st->db_bytes);
    json_hex(j, "view_digest", digest, HEARTH_ID_LEN);
    if (node)
        json_node(c, node);
    else
        json_null(j, "node");
    json_object_close(j);
}

static void human_duration(char *buf, size_t size, uint64_t ms)
{
    uint64_t s = ms / 1000;
    if (s < 120)
        snprintf(buf, size, "%llu s", (unsigned long long)s);
    else if (s < 2 * 3600)
        snprintf(buf, size, "%llu min", (unsigned long long)(s / 60));
    else if (s < 2 * 86400)
        snprintf(buf, size, "%llu hours", (unsigned long long)(s / 3600));
    else
        snprintf(buf, size, "%llu days", (unsigned long long)(s / 86400));
}

static void print_node(const struct node_status *s)
{
    char up[32], out[32], in[32];
    if (!s) {
        printf("node:     not running (start it with `hearth serve`)\n");
        return;
    }
    uint64_t now = wall_ms();
    human_duration(up, sizeof up, now > s->started ? now - s->started : 0);
    human_size(out, sizeof out, s->bytes_sent);
    human_size(in, sizeof in, s->bytes_received);
    printf("node:     running (pid %llu, up %s), listening on ", (unsigned long long)s->pid, up);
    cli_print_text(stdout, s->listen, NULL);
    printf("\n          access %s, discovery %s, anti-entropy every %llu s with up to %llu peers\n",
           s->access, s->discovery ? "on" : "off", (unsigned long long)s->interval,
           (unsigned long long)s->fanout);
    printf("traffic:  %s sent, %s received; %llu syncs (%llu failed), %llu pushes sent, "
           "%llu received (%llu new)\n",
           out, in, (unsigned long long)s->sessions, (unsigned long long)s->sessions_failed,
           (unsigned long long)s->pushes_sent, (unsigned long long)s->pushes_received,
           (unsigned long long)s->pushes_new);
    if (s->pushes_dropped || s->pushes_handed_to_sync || s->push_backlog)
        printf("          pushes: %llu waiting, %llu handed to a sync, %llu dropped\n",
               (unsigned long long)s->push_backlog, (unsigned long long)s->pushes_handed_to_sync,
               (unsigned long long)s->pushes_dropped);
    size_t connected = 0;
    for (size_t i = 0; i < s->n_peers; i++)
        connected +=
            !strcmp(s->peers[i].state, "connected") || !strcmp(s->peers[i].state, "syncing");
    printf("peers:    %zu known, %zu connected\n", s->n_peers, connected);
    for (size_t i = 0; i < s->n_peers; i++) {
        const struct status_peer *p = &s->peers[i];
        char synced[64];
        printf("  %.12s  %-28s %-10s %-10s last sync %s, %llu failures\n", p->key,
               p->endpoint[0] ? p->endpoint : "(inbound only)", p->state, p->source,
               p->last_sync ? cli_format_time(synced, sizeof synced, p->last_sync) : "never",
               (unsigned long long)p->failures);
    }
}

static void print_human(const struct cli *c, const struct store_stats *st, const char *name,
                        const uint8_t digest[HEARTH_ID_LEN], const struct node_status *node)
{
    char forum[2 * HEARTH_ID_LEN + 1], view[2 * HEARTH_ID_LEN + 1], size[32];
    hex_encode(forum, c->forum, HEARTH_ID_LEN);
    hex_encode(view, digest, HEARTH_ID_LEN);
    human_size(size, sizeof size, st->db_bytes);
    printf("hearth:   %s\n", HEARTH_VERSION);
    printf("forum:    %s", forum);
    if (name) {
        fputs(" (", stdout);
        cli_print_text(stdout, name, NULL);
        fputs(")", stdout);
    } else {
        fputs(" (not fetched yet: import a bundle or sync)", stdout);
    }
    printf("\ndata:     %s (%s)\n", c->dir, size);
    printf("events:   %llu held, %llu waiting for earlier events, %llu bodies purged\n",
           (unsigned long long)st->events, (unsigned long long)st->pending,
           (unsigned long long)st->purged);
    printf("content:  %llu boards, %llu threads, %llu replies, %llu authors\n",
           (unsigned long long)st->boards, (unsigned long long)st->threads,
           (unsigned long long)st->replies, (unsigned long long)st->authors);
    if (st->forks)
        printf("forks:    %llu (an author signed two events with one number; both are kept)\n",
               (unsigned long long)st->forks);
    printf("view:     %s\n", view);
    print_node(node);
}

static int run(struct cli *c)
{
    struct store_stats st;
    uint8_t digest[HEARTH_ID_LEN];
    herr e = store_stats(c->store, &st);
    if (!e)
        e = store_view_digest(c->store, digest);
    if (e)
        return cli_store_error(c, e, NULL);
    struct node_status *node = malloc(sizeof *node);
    if (!node)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    bool live = running_node(c, node);
    char *name = cli_forum_name(c);
    if (c->json)
        print_json(c, &st, name, digest, live ? node : NULL);
    else
        print_human(c, &st, name, digest, live ? node : NULL);
    free(name);
    free(node);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

const struct cli_command cmd_status = {
    .name = "status",
    .run = run,
    .group = "start",
    .summary = "show what this node holds and what its running node is doing",
    .synopsis = "",
    .details = "The view digest is a hash of the whole forum as it is shown: two nodes with\n"
               "the same digest show the same forum. When `hearth serve` runs on this data\n"
               "directory, its peers, their state and its traffic are shown too (\"node\" in\n"
               "--json; null when no node runs).",
    .needs = CLI_NEEDS_STORE,
};

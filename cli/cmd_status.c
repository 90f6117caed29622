/* cmd_status.c - `hearth status`: what this node holds, and what its running node
 * (`hearth serve`) is doing.
 *
 * A running node writes its state as JSON to the local setting "node:status" every
 * two seconds (node/status.c, node_write_status) and deletes it when it stops. A node that
 * was killed leaves it behind, so it counts only when its process is alive and it
 * was written in the last STATUS_FRESH_MS. node/status.h reads it (checked, not
 * trusted).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/node_key.h"
#include "node/clock.h"
#include "node/node.h"

#define STATUS_FRESH_MS 15000 /* several of the node's 2 s writes */
/* The replica check status makes before it answers (cli_check): all of a small
 * replica, the start of a large one, so that status answers at once at any size. */
#define STATUS_CHECK_MS 50u

/* running_node - the status of the node serving this data directory; false when none
 * runs (no status, a dead process, a stale or unreadable status). On a full disk the
 * node cannot write its status: then a stale one of a live process counts, as what
 * was true when it was last written. */
static bool running_node(struct cli *c, struct node_stats *s, bool disk_full)
{
    char *text = NULL;
    memset(s, 0, sizeof *s);
    if (store_meta_get(c->store, "node:status", &text) != HERR_OK)
        return false;
    bool ok = node_status_parse(text, strlen(text), s) == HERR_OK;
    free(text);
    if (!ok || s->pid == 0 || s->pid > INT32_MAX)
        return false;
    if (kill((pid_t)s->pid, 0) != 0 && errno != EPERM)
        return false;
    uint64_t now = wall_ms();
    return disk_full || s->taken + STATUS_FRESH_MS >= now;
}

bool cli_running_endpoint(struct cli *c, char *out, size_t n, uint64_t *pid)
{
    struct node_stats *s = malloc(sizeof *s);
    bool live = s && running_node(c, s, false) && s->listen[0];
    if (live) {
        snprintf(out, n, "%s", s->listen);
        *pid = s->pid;
    }
    free(s);
    return live;
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

static void json_node(struct cli *c, const struct node_stats *s)
{
    struct json *j = &c->out;
    json_object_open(j, "node");
    json_u64(j, "pid", s->pid);
    json_str(j, "version", s->version);
    json_u64(j, "started", s->started);
    json_u64(j, "updated", s->taken);
    json_str(j, "listen", s->listen);
    json_str(j, "access", s->access);
    json_bool(j, "discovery", s->discovery);
    json_u64(j, "interval", s->interval);
    json_u64(j, "fanout", s->fanout);
    json_u64(j, "events", s->events);
    json_u64(j, "bytes_sent", s->bytes_sent);
    json_u64(j, "bytes_received", s->bytes_recv);
    json_u64(j, "sessions", s->sessions_ok);
    json_u64(j, "sessions_failed", s->sessions_failed);
    json_u64(j, "inbound_sessions", s->sessions_in);
    json_u64(j, "outbound_sessions", s->sessions_out);
    json_u64(j, "busy_refused", s->busy_refused);
    json_u64(j, "pushes_sent", s->pushes_sent);
    json_u64(j, "pushes_received", s->pushes_recv);
    json_u64(j, "pushes_new", s->pushes_new);
    json_u64(j, "pushes_dropped", s->pushes_dropped);
    json_u64(j, "pushes_handed_to_sync", s->pushes_handed_to_sync);
    json_u64(j, "push_backlog", s->push_backlog);
    json_u64(j, "inbound_evicted", s->inbound_evicted);
    json_u64(j, "push_in_session", s->push_in_session);
    json_u64(j, "contacts_dropped", s->contacts_dropped);
    json_bool(j, "disk_full", s->disk_full);
    json_u64(j, "full_refused", s->full_refused);
    json_u64(j, "accepted", s->ingest.accepted);
    json_u64(j, "duplicates", s->ingest.duplicate);
    json_object_open(j, "rejected");
    for (int r = 0; r < HERR_COUNT; r++)
        if (s->ingest.rejected[r])
            json_u64(j, herr_name((herr)r), s->ingest.rejected[r]);
    json_object_close(j);
    json_str(j, "replica", node_replica_name(s->replica));
    json_u64(j, "replica_checked", s->replica_checked);
    json_array_open(j, "peers");
    for (size_t i = 0; i < s->npeers; i++) {
        const struct node_peer_stats *p = &s->peers[i];
        json_object_open(j, NULL);
        json_str(j, "key", p->key);
        json_str(j, "endpoint", p->endpoint[0] ? p->endpoint : NULL);
        json_str(j, "state", p->state);
        json_str(j, "source", p->source);
        json_u64(j, "last_seen", p->last_seen);
        json_u64(j, "last_sync", p->last_sync);
        json_u64(j, "failures", p->failures);
        json_u64(j, "bytes_sent", p->bytes_sent);
        json_u64(j, "bytes_received", p->bytes_recv);
        json_object_close(j);
    }
    json_array_close(j);
    json_object_close(j);
}

static void print_json(struct cli *c, const struct store_stats *st, const char *name,
                       const uint8_t digest[HEARTH_ID_LEN], const struct store_space *sp,
                       const struct node_stats *node)
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
    uint64_t made;
    if (store_restored(c->store, &made) == HERR_OK) /* docs/BACKUP.md, "Fork safety" */
        json_u64(j, "restored", made);
    else
        json_null(j, "restored");
    json_u64(j, "db_bytes", st->db_bytes);
    json_u64(j, "disk_free", sp->avail);
    json_bool(j, "disk_full", sp->full || (node && node->disk_full));
    json_hex(j, "view_digest", digest, HEARTH_ID_LEN);
    json_str(j, "replica_check", c->checked_all ? "complete" : "partial");
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

static void print_node(const struct node_stats *s, bool disk_full)
{
    char up[32], out[32], in[32];
    if (!s && disk_full) {
        printf("node:     unknown (a node cannot write its status on a full disk)\n");
        return;
    }
    if (!s) {
        printf("node:     not running (start it with `hearth serve`)\n");
        return;
    }
    uint64_t now = wall_ms();
    human_duration(up, sizeof up, now > s->started ? now - s->started : 0);
    human_size(out, sizeof out, s->bytes_sent);
    human_size(in, sizeof in, s->bytes_recv);
    printf("node:     running (pid %llu, up %s), listening on ", (unsigned long long)s->pid, up);
    cli_print_text(stdout, s->listen, NULL);
    printf("\n          access %s, discovery %s, anti-entropy every %llu s with up to %llu peers\n",
           s->access, s->discovery ? "on" : "off", (unsigned long long)s->interval,
           (unsigned long long)s->fanout);
    printf("traffic:  %s sent, %s received; %llu syncs (%llu failed), %llu pushes sent, "
           "%llu received (%llu new)\n",
           out, in, (unsigned long long)s->sessions_ok, (unsigned long long)s->sessions_failed,
           (unsigned long long)s->pushes_sent, (unsigned long long)s->pushes_recv,
           (unsigned long long)s->pushes_new);
    if (s->pushes_dropped || s->pushes_handed_to_sync || s->push_backlog)
        printf("          pushes: %llu waiting, %llu handed to a sync, %llu dropped\n",
               (unsigned long long)s->push_backlog, (unsigned long long)s->pushes_handed_to_sync,
               (unsigned long long)s->pushes_dropped);
    uint64_t rejected = 0;
    for (int r = 0; r < HERR_COUNT; r++)
        rejected += s->ingest.rejected[r];
    printf("ingest:   %llu events from peers taken, %llu already held, %llu refused",
           (unsigned long long)s->ingest.accepted, (unsigned long long)s->ingest.duplicate,
           (unsigned long long)rejected);
    const char *sep = " (";
    for (int r = 0; r < HERR_COUNT; r++)
        if (s->ingest.rejected[r]) {
            printf("%s%llu %s", sep, (unsigned long long)s->ingest.rejected[r], herr_str((herr)r));
            sep = ", ";
        }
    printf("%s\n", *sep == ',' ? ")" : "");
    if (s->replica != NODE_REPLICA_UNCHECKED)
        printf("replica:  %s when the node started\n",
               s->replica == NODE_REPLICA_OK ? "checked, sound" : "DAMAGED");
    size_t connected = 0;
    for (size_t i = 0; i < s->npeers; i++)
        connected +=
            !strcmp(s->peers[i].state, "connected") || !strcmp(s->peers[i].state, "syncing");
    if (s->full_refused)
        printf("refused:  %llu syncs and pushes while the disk was full\n",
               (unsigned long long)s->full_refused);
    if (s->taken + STATUS_FRESH_MS < now) {
        char ago[32];
        human_duration(ago, sizeof ago, now - s->taken);
        printf("          (as it was %s ago: the node cannot write its status on a full disk)\n",
               ago);
    }
    printf("peers:    %zu known, %zu connected\n", s->npeers, connected);
    for (size_t i = 0; i < s->npeers; i++) {
        const struct node_peer_stats *p = &s->peers[i];
        char synced[64];
        printf("  %.12s  %-28s %-10s %-10s last sync %s, %llu failures\n", p->key,
               p->endpoint[0] ? p->endpoint : "(inbound only)", p->state, p->source,
               p->last_sync ? cli_format_time(synced, sizeof synced, p->last_sync) : "never",
               (unsigned long long)p->failures);
    }
}

static void print_human(const struct cli *c, const struct store_stats *st, const char *name,
                        const uint8_t digest[HEARTH_ID_LEN], const struct store_space *sp,
                        const struct node_stats *node)
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
    if (sp->full || (node && node->disk_full)) {
        char have[32];
        human_size(have, sizeof have, sp->avail);
        printf("disk:     FULL: %s free; no new events are taken (posts, syncs and pushes are "
               "refused) until space is freed there\n",
               have);
    }
    printf("events:   %llu held, %llu waiting for earlier events, %llu bodies purged\n",
           (unsigned long long)st->events, (unsigned long long)st->pending,
           (unsigned long long)st->purged);
    printf("content:  %llu boards, %llu threads, %llu replies, %llu authors\n",
           (unsigned long long)st->boards, (unsigned long long)st->threads,
           (unsigned long long)st->replies, (unsigned long long)st->authors);
    if (st->forks)
        printf("forks:    %llu (an author signed two events with one number; both are kept)\n",
               (unsigned long long)st->forks);
    uint64_t made;
    if (store_restored(c->store, &made) == HERR_OK) {
        char when[64];
        printf("restored: from a backup made %s; signs nothing until it has synced with a peer\n",
               cli_format_time(when, sizeof when, made));
    }
    printf("view:     %s\n", view);
    if (!c->checked_all)
        printf("check:    sound as far as %u ms of checking read (the replica is larger;\n"
               "          export, sync and serve check more of it when they start)\n",
               STATUS_CHECK_MS);
    print_node(node, sp->full);
}

static int run(struct cli *c)
{
    struct store_stats st;
    uint8_t digest[HEARTH_ID_LEN];
    struct store_space sp;
    herr e = store_stats(c->store, &st);
    if (!e)
        e = store_view_digest(c->store, digest);
    if (!e && store_space(c->store, &sp) != HERR_OK)
        memset(&sp, 0, sizeof sp); /* a file system that cannot say: not known to be full */
    if (e)
        return cli_store_error(c, e, NULL);
    struct node_stats *node = malloc(sizeof *node);
    if (!node)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    bool live = running_node(c, node, sp.full);
    char *name = cli_forum_name(c);
    if (c->json)
        print_json(c, &st, name, digest, &sp, live ? node : NULL);
    else
        print_human(c, &st, name, digest, &sp, live ? node : NULL);
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
    .needs = CLI_NEEDS_STORE | CLI_NEEDS_SOUND,
    .check_ms = STATUS_CHECK_MS,
};

/* cmd_sync.c - `hearth sync ADDRESS|LINK`: one sync session with another node; with a
 * join link (node/joinlink.h), its places are tried in turn until one answers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/node_key.h"
#include "node/joinlink.h"
#include "node/node.h"
#include "node/transport.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How a sync shows progress: a line rewritten in place on a terminal, else a line
 * every PROGRESS_EVERY_S (a log shows a long sync moving without a flood). */
#define PROGRESS_EVERY_S 5
struct progress_ctx {
    bool tty;
    double next, t0;
};

/* progress - what has moved so far, on stderr: events in whole messages, and bytes at
 * the TCP level (which move on a slow link long before a whole frame has crossed). */
static void progress(void *ctx, const struct node_sync_progress *p)
{
    struct progress_ctx *pc = ctx;
    double now = now_s();
    if (!pc->tty && now < pc->next)
        return;
    pc->next = now + PROGRESS_EVERY_S;
    if (pc->t0 == 0) { /* the first call: the handshake is done */
        pc->t0 = now;
        if (!pc->tty)
            return;
    }
    fprintf(stderr,
            "%ssync: %" PRIu64 " events received, %" PRIu64 " sent; %.1f kB in, %.1f kB out%s",
            pc->tty ? "\r" : "", p->events_recv, p->events_sent, (double)p->bytes_in / 1e3,
            (double)p->bytes_out / 1e3, pc->tty ? "   " : "\n");
}
static void print_human(const struct sync_stats *st, double secs)
{
    printf("sent %" PRIu64 " events, received %" PRIu64 " (%" PRIu64 " new, %" PRIu64
           " already held, %" PRIu64 " rejected)\n",
           st->events_sent, st->events_recv, st->events_accepted, st->events_duplicate,
           st->events_rejected);
    printf("bytes: %" PRIu64 " out, %" PRIu64 " in (reconciliation %" PRIu64 " out, %" PRIu64
           " in); %u round trips; %.2f s\n",
           st->bytes_sent, st->bytes_recv, st->recon_bytes_sent, st->recon_bytes_recv,
           st->round_trips, secs);
}

static void print_json(struct cli *c, const struct sync_stats *st, double secs)
{
    json_object_open(&c->out, NULL);
    json_str(&c->out, "plan", sync_plan_name(st->plan));
    json_u64(&c->out, "events_sent", st->events_sent);
    json_u64(&c->out, "events_received", st->events_recv);
    json_u64(&c->out, "events_accepted", st->events_accepted);
    json_u64(&c->out, "events_duplicate", st->events_duplicate);
    json_u64(&c->out, "events_rejected", st->events_rejected);
    json_u64(&c->out, "bytes_sent", st->bytes_sent);
    json_u64(&c->out, "bytes_received", st->bytes_recv);
    json_u64(&c->out, "recon_bytes_sent", st->recon_bytes_sent);
    json_u64(&c->out, "recon_bytes_received", st->recon_bytes_recv);
    json_u64(&c->out, "round_trips", st->round_trips);
    json_u64(&c->out, "milliseconds", (uint64_t)(secs * 1000));
    json_bool(&c->out, "fell_back", st->fell_back);
    json_object_close(&c->out);
}

static int run(struct cli *c)
{
    int timeout_s = 30;
    const char *t = cli_opt(c, "timeout");
    if (t) {
        char *end;
        long v = strtol(t, &end, 10);
        if (*end || v < 1 || v > 3600)
            return cli_error(c, HERR_USAGE, "--timeout: give 1 to 3600 seconds");
        timeout_s = (int)v;
    }
    uint8_t seed[HEARTH_SEED_LEN];
    int rc = cli_node_seed(c, seed);
    if (rc)
        return rc;
    struct hlog log = {.level = HLOG_WARN, .out = stderr};
    struct sync_stats st;
    char why[512];
    bool tty = !c->json && isatty(STDERR_FILENO);
    struct progress_ctx pc = {.tty = tty, .next = 0, .t0 = 0};
    uint8_t key[HEARTH_PK_LEN];
    char endpoint[300], place[JOINLINK_MAX + 64];
    /* A join link names the node's places: each in turn, until one answers. A bare
     * address parses as a link of one place; anything else goes to node_sync_once,
     * which says what is wrong with it. */
    struct joinlink link;
    const char *bad;
    bool is_link = joinlink_parse(c->args[0], &link, &bad) == HERR_OK;
    if (is_link && link.has_forum && memcmp(link.forum, c->forum, HEARTH_ID_LEN) != 0) {
        secret_wipe(seed, sizeof seed);
        return cli_error(c, HERR_USAGE, "that link is for another forum than the one in %s",
                         c->dir);
    }
    size_t places = is_link ? link.naddrs : 1;
    double t0 = now_s();
    herr e = HERR_NET;
    for (size_t i = 0; i < places; i++) {
        if (is_link)
            joinlink_address(&link, i, place, sizeof place);
        else
            snprintf(place, sizeof place, "%s", c->args[0]);
        /* Before the wait: an unreachable peer is a silence of up to --timeout. */
        if (address_parse(place, key, endpoint, sizeof endpoint, NULL) == HERR_OK)
            fprintf(stderr, "connecting to %s\xe2\x80\xa6\n", endpoint + strlen("tcp://"));
        memset(&st, 0, sizeof st);
        e = node_sync_once(c->store, seed, place, timeout_s * 1000, &log, c->json ? NULL : progress,
                           &pc, &st, why, sizeof why);
        if (!e || e == HERR_FULL || e == HERR_CORRUPT || e == HERR_IO)
            break; /* done, or our own store's trouble: another place would not help */
        if (i + 1 < places)
            fprintf(stderr, "hearth: sync: %s: %s; trying the next place\n", endpoint,
                    why[0] ? why : herr_str(e));
    }
    secret_wipe(seed, sizeof seed);
    double secs = now_s() - t0;
    if (tty)
        fputs("\r\033[K", stderr);
    if (e == HERR_BUSY) /* the peer's, not our store's: a network condition */
        return cli_error(c, HERR_NET, "%s", why[0] ? why : herr_str(e));
    if (e)
        return cli_error(c, e, "%s", why[0] ? why : herr_str(e));
    if (!c->json) {
        print_human(&st, secs);
        return CLI_OK;
    }
    print_json(c, &st, secs);
    return cli_json_flush(c);
}

static const struct cli_option options[] = {
    {"timeout", 't', "SECONDS",
     "give up when nothing moves this long, or no connection in that time (default 30)"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_sync = {
    .name = "sync",
    .run = run,
    .group = "network",
    .summary = "exchange what is new with another node, once",
    .synopsis = "ADDRESS|LINK",
    .details = "ADDRESS is what `hearth id` prints on the other node:\n"
               "hearth://NODEKEY@HOST:PORT. LINK is a join link (`hearth invite`): its\n"
               "places are tried in turn until one answers; a link of another forum is\n"
               "refused.",
    .options = options,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_SOUND,
};

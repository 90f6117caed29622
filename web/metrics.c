#include "web/metrics.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "web/web.h"

#define METRICS_CONNECTIONS 16
#define METRICS_TIMEOUT_S 10
#define METRICS_MAX (256 * 1024) /* 64 peers and every reason fit many times over */

/* ---- the page ---- */

struct page {
    struct hbuf *b;
    herr e;
};

static void out(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct page *p, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!p->e && n > 0)
        p->e = hbuf_append(p->b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* head - a metric's HELP and TYPE lines. */
static void head(struct page *p, const char *name, const char *type, const char *help)
{
    out(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct page *p, const char *name, const char *type, const char *help, uint64_t v)
{
    head(p, name, type, help);
    out(p, "%s %" PRIu64 "\n", name, v);
}

/* label - v as a label value: backslash, quote and newline escaped, cut to fit. */
static void label(char *dst, size_t n, const char *v)
{
    size_t j = 0;
    for (; *v && j + 3 < n; v++) {
        if (*v == '\\' || *v == '"') {
            dst[j++] = '\\';
            dst[j++] = *v;
        } else if (*v == '\n') {
            dst[j++] = '\\';
            dst[j++] = 'n';
        } else {
            dst[j++] = *v;
        }
    }
    dst[j] = 0;
}

static double seconds(uint64_t ms)
{
    return (double)ms / 1000.0;
}

static const char *const peer_states[] = {"syncing", "connected", "connecting", "waiting",
                                          "inbound"};

herr metrics_text(const struct node_stats *s, struct hbuf *b)
{
    struct page p = {b, HERR_OK};
    char v[2 * sizeof s->listen];
    head(&p, "hearth_info", "gauge", "This node: its version and where peers reach it (always 1).");
    char ver[2 * sizeof s->version];
    label(ver, sizeof ver, s->version);
    label(v, sizeof v, s->listen);
    out(&p, "hearth_info{version=\"%s\",listen=\"%s\",access=\"%s\"} 1\n", ver, v, s->access);
    head(&p, "hearth_start_time_seconds", "gauge", "When the node started (Unix time).");
    out(&p, "hearth_start_time_seconds %.3f\n", seconds(s->started));
    head(&p, "hearth_snapshot_time_seconds", "gauge",
         "When these numbers were taken (Unix time; the node takes them every 2 s).");
    out(&p, "hearth_snapshot_time_seconds %.3f\n", seconds(s->taken));
    one(&p, "hearth_events", "gauge", "Events held in the replica.", s->events);

    one(&p, "hearth_ingest_accepted_total", "counter",
        "Events from peers (sessions and pushes) verified and stored.", s->ingest.accepted);
    one(&p, "hearth_ingest_duplicates_total", "counter",
        "Events from peers that the replica already held.", s->ingest.duplicate);
    head(&p, "hearth_ingest_rejected_total", "counter",
         "Events from peers refused, by reason (docs/EVENTS.md; the codes of base/herr.h).");
    for (int r = 0; r < HERR_COUNT; r++)
        if (herr_is_bad_input((herr)r) || s->ingest.rejected[r])
            out(&p, "hearth_ingest_rejected_total{reason=\"%s\"} %" PRIu64 "\n", herr_name((herr)r),
                s->ingest.rejected[r]);

    one(&p, "hearth_push_sent_total", "counter", "Events pushed to peers (one per peer).",
        s->pushes_sent);
    one(&p, "hearth_push_received_total", "counter", "Pushes received from peers.", s->pushes_recv);
    one(&p, "hearth_push_new_total", "counter", "Pushed events that were new to this replica.",
        s->pushes_new);
    one(&p, "hearth_push_dropped_total", "counter",
        "Events not pushed to a peer they were due to (left to anti-entropy).", s->pushes_dropped);
    one(&p, "hearth_push_handed_to_sync_total", "counter",
        "Events not pushed because a session with the peer was started at once to carry them.",
        s->pushes_handed_to_sync);
    one(&p, "hearth_push_backlog", "gauge", "Events waiting to be pushed, summed over peers.",
        s->push_backlog);
    one(&p, "hearth_push_in_session_total", "counter",
        "PUSH messages refused because they came inside a sync session.", s->push_in_session);
    one(&p, "hearth_sessions_evicted_total", "counter",
        "Idle inbound sessions that gave their slot to a new one.", s->inbound_evicted);

    head(&p, "hearth_sessions_total", "counter", "Sync sessions ended, by outcome.");
    out(&p, "hearth_sessions_total{result=\"ok\"} %" PRIu64 "\n", s->sessions_ok);
    out(&p, "hearth_sessions_total{result=\"failed\"} %" PRIu64 "\n", s->sessions_failed);
    head(&p, "hearth_sessions", "gauge", "Sync sessions under way, by who started them.");
    out(&p, "hearth_sessions{direction=\"inbound\"} %" PRIu64 "\n", s->sessions_in);
    out(&p, "hearth_sessions{direction=\"outbound\"} %" PRIu64 "\n", s->sessions_out);
    one(&p, "hearth_sessions_refused_busy_total", "counter",
        "Sessions refused because every inbound slot was taken.", s->busy_refused);

    one(&p, "hearth_sent_bytes_total", "counter", "Bytes of sync messages sent.", s->bytes_sent);
    one(&p, "hearth_received_bytes_total", "counter", "Bytes of sync messages received.",
        s->bytes_recv);

    head(&p, "hearth_peers", "gauge", "Peers known, by state.");
    for (size_t k = 0; k < sizeof peer_states / sizeof peer_states[0]; k++) {
        uint64_t count = 0;
        for (size_t i = 0; i < s->npeers; i++)
            count += !strcmp(s->peers[i].state, peer_states[k]);
        out(&p, "hearth_peers{state=\"%s\"} %" PRIu64 "\n", peer_states[k], count);
    }
    static const struct {
        const char *name, *type, *help;
        size_t off;
        bool ms;
    } per_peer[] = {
        {"hearth_peer_sent_bytes_total", "counter",
         "Bytes sent to the peer since the node started.",
         offsetof(struct node_peer_stats, bytes_sent), false},
        {"hearth_peer_received_bytes_total", "counter",
         "Bytes received from the peer since the node started.",
         offsetof(struct node_peer_stats, bytes_recv), false},
        {"hearth_peer_last_seen_time_seconds", "gauge",
         "When the peer was last heard from (Unix time; 0: never).",
         offsetof(struct node_peer_stats, last_seen), true},
        {"hearth_peer_last_sync_time_seconds", "gauge",
         "When a sync session with the peer last succeeded (Unix time; 0: never).",
         offsetof(struct node_peer_stats, last_sync), true},
        {"hearth_peer_failures", "gauge", "Failed contacts with the peer since the last good one.",
         offsetof(struct node_peer_stats, failures), false},
    };
    for (size_t k = 0; k < sizeof per_peer / sizeof per_peer[0]; k++) {
        head(&p, per_peer[k].name, per_peer[k].type, per_peer[k].help);
        for (size_t i = 0; i < s->npeers; i++) {
            const struct node_peer_stats *ps = &s->peers[i];
            uint64_t x = *(const uint64_t *)(const void *)((const char *)ps + per_peer[k].off);
            label(v, sizeof v, ps->endpoint);
            if (per_peer[k].ms)
                out(&p, "%s{peer=\"%s\",endpoint=\"%s\"} %.3f\n", per_peer[k].name, ps->key, v,
                    seconds(x));
            else
                out(&p, "%s{peer=\"%s\",endpoint=\"%s\"} %" PRIu64 "\n", per_peer[k].name, ps->key,
                    v, x);
        }
    }

    one(&p, "hearth_disk_full", "gauge",
        "1 while the data directory's disk is full: no new events are taken.", s->disk_full);
    one(&p, "hearth_full_refused_total", "counter",
        "Syncs and pushes refused while the disk was full.", s->full_refused);
    head(&p, "hearth_replica_check", "gauge",
         "What the check of the replica found when the node started (1 for the state it is in).");
    for (int r = NODE_REPLICA_UNCHECKED; r <= NODE_REPLICA_DAMAGED; r++)
        out(&p, "hearth_replica_check{state=\"%s\"} %d\n", node_replica_name((enum node_replica)r),
            s->replica == (enum node_replica)r);
    head(&p, "hearth_replica_check_time_seconds", "gauge",
         "When the replica was last checked (Unix time; 0: never).");
    out(&p, "hearth_replica_check_time_seconds %.3f\n", seconds(s->replica_checked));
    return p.e;
}

int metrics_answer(void *mhd_connection, metrics_fn fn, void *ctx)
{
    struct MHD_Connection *conn = mhd_connection;
    struct node_stats *s = malloc(sizeof *s);
    struct hbuf b;
    hbuf_init(&b, METRICS_MAX);
    herr e = s ? HERR_OK : HERR_NOMEM;
    if (!e) {
        fn(ctx, s);
        e = metrics_text(s, &b);
    }
    free(s);
    static const char fail[] = "the metrics could not be made\n";
    struct MHD_Response *res =
        e ? MHD_create_response_from_buffer(sizeof fail - 1, (void *)(uintptr_t)fail,
                                            MHD_RESPMEM_PERSISTENT)
          : MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
    hbuf_release(&b);
    if (!res)
        return MHD_NO;
    MHD_add_response_header(res, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    MHD_add_response_header(res, "Cache-Control", "no-store");
    MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ok = MHD_queue_response(conn, e ? 500 : 200, res);
    MHD_destroy_response(res);
    return ok;
}

/* ---- a server of its own ---- */

struct metrics_server {
    struct MHD_Daemon *d;
    metrics_fn fn;
    void *ctx;
    uint16_t port;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct metrics_server *m = cls;
    (void)version;
    (void)upload_data;
    if (!*con_cls) { /* answer once the request has been read */
        *con_cls = m;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (get && !strcmp(url, "/metrics"))
        return (enum MHD_Result)metrics_answer(conn, m->fn, m->ctx);
    static const char none[] = "only /metrics here\n";
    struct MHD_Response *res = MHD_create_response_from_buffer(
        sizeof none - 1, (void *)(uintptr_t)none, MHD_RESPMEM_PERSISTENT);
    if (!res)
        return MHD_NO;
    enum MHD_Result ok = MHD_queue_response(conn, get ? 404 : 405, res);
    MHD_destroy_response(res);
    return ok;
}

herr metrics_server_new(struct metrics_server **out, const char *listen, metrics_fn fn, void *ctx,
                        const char **why)
{
    static __thread char msg[512];
    *out = NULL;
    *why = msg;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (web_parse_listen(listen, &ss, &sl)) {
        snprintf(msg, sizeof msg, "'%s' is not an address to listen on (HOST:PORT)", listen);
        return HERR_USAGE;
    }
    struct metrics_server *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(msg, sizeof msg, "out of memory");
        return HERR_NOMEM;
    }
    m->fn = fn;
    m->ctx = ctx;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)METRICS_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)METRICS_TIMEOUT_S, MHD_OPTION_END);
    if (!m->d) {
        snprintf(msg, sizeof msg, "cannot listen on %s (in use, or no such address)", listen);
        free(m);
        return HERR_NET;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    m->port = di ? di->port : 0;
    *out = m;
    return HERR_OK;
}

uint16_t metrics_server_port(const struct metrics_server *m)
{
    return m->port;
}

void metrics_server_destroy(struct metrics_server **mp)
{
    struct metrics_server *m = *mp;
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    free(m);
    *mp = NULL;
}

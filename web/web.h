/* web.h - the forum as web pages on the hub's LAN.
 *
 * A web server (libmicrohttpd, its own threads: epoll with a pool of WEB_THREADS) that
 * serves the forum from the replica to anyone on the LAN, with no JavaScript needed
 * and nothing fetched from elsewhere. It is a front-end like the CLI: pages come from
 * the store's typed queries (web/pages.h formats them), and writes are store_publish
 * on the web's own connections, answered only after the event has committed (POST,
 * then a redirect to a GET). The node sees new events as it sees a `hearth post` run
 * beside it (its arrival poll) and gossips them; the node knows nothing of the web.
 *
 * Each request takes one of WEB_POOL store connections (SQLite WAL: readers never
 * wait for the node's writes; a write waits for SQLite's one write lock). Members log
 * in with a login and passphrase (web/session.h); their keys are sealed in the store
 * (store/members.h) and unsealed only into a session's guarded memory. The node's
 * owner, on the node's own machine, logs in with a one-time link from `hearth open`
 * instead, as the node's own author: no account, no passphrase; the link is refused
 * from any address but loopback. A browser account can be a device of a person
 * (docs/CLI.md, `hearth device`): it then shows and acts as that person; one made
 * with a laptop's code posts nothing until the laptop accepts it.
 *
 * Security (docs/SECURITY.md, "The web pages"): one escaper (web/html.h); a CSRF
 * token in every form, checked with the Origin header on every POST; state changes by
 * POST only; cookies HttpOnly, SameSite=Strict (and Secure under TLS); a strict CSP
 * and the usual headers on every answer; failed logins and invite codes limited per
 * account and per address; bounded request line and headers (WEB_CONN_MEMORY), body
 * (WEB_MAX_BODY), connections (total and per address) and a timeout for slow clients.
 */
#ifndef HEARTH_WEB_WEB_H
#define HEARTH_WEB_WEB_H

#include <stdbool.h>
#include <stdint.h>

#include <sys/socket.h>

#include "base/herr.h"
#include "node/joinlink.h"
#include "node/log.h"
#include "web/metrics.h"

/* Four threads on two cores: a login's Argon2id (a third of a second, one at a time)
 * holds a thread, and pages must keep flowing on the others meanwhile. */
#define WEB_THREADS 4
#define WEB_POOL 6                  /* store connections: one per thread, and room */
#define WEB_MAX_BODY (200 * 1024)   /* a form: a 60,000-byte post, %-encoded */
#define WEB_CONN_MEMORY (32 * 1024) /* request line + headers of one connection */
#define WEB_MAX_CONNECTIONS 512
#define WEB_MAX_PER_ADDRESS 128
#define WEB_TIMEOUT_S 15                /* a connection quiet this long is closed */
#define WEB_SESSIONS 1024               /* open sessions at most */
#define WEB_IDLE_MS (30 * 60 * 1000ULL) /* a session unused this long ends */
#define WEB_PER_PAGE 30                 /* threads on a board page */
#define WEB_THREAD_PAGE 100             /* posts on a page of a thread */
#define WEB_SEARCH_PAGE 50              /* posts on a page of search results */
#define WEB_CACHED_PAGES 1024           /* visitors' pages kept rendered (web/cache.h)... */
#define WEB_CACHED_TEXTS 16384          /* ...and posts' texts */
#define WEB_CACHE_BYTES (24u << 20)     /* bytes each of the two caches may hold */

struct web;

struct web_config {
    const char *db_path; /* the replica */
    char listen[256];    /* "0.0.0.0:8080", "[::]:8080", "127.0.0.1:0" */
    char tls_cert[256];  /* PEM files; both empty: plain HTTP */
    char tls_key[256];
    bool open_join; /* visitors may join without an invite */
    /* Where the node listens, for the join link the invites page shows with each new
     * code (node/joinlink.h; its forum and invite are filled in). has_join false: the
     * page shows the web link only. */
    struct joinlink join;
    bool has_join;
    /* The node's own author key (DIR/author.key), with which /owner?token=T signs its
     * owner in after `hearth open` (store_owner_token_take), from this machine only;
     * read at each such login, never kept outside the session. NULL: no owner login.
     * Owned by the caller, who keeps it until web_destroy. */
    const char *owner_key_path;
    /* For benchmarks only: a fixed page of this many bytes at /bench-fixed, answered
     * through the same path as a page, to measure the server's ceiling (`hearth serve`
     * takes it from $HEARTH_BENCH_FIXED_PAGE). 0: no such page. */
    size_t bench_fixed;
    /* The metrics page at /metrics (web/metrics.h), shown to this machine only (a
     * loopback address) unless metrics_public; none when metrics is NULL. */
    metrics_fn metrics;
    void *metrics_ctx;
    bool metrics_public;
};

/* web_new - open WEB_POOL connections to the replica at cfg->db_path and start
 * serving at cfg->listen. HERR_USAGE (a bad address), HERR_NET (cannot bind),
 * HERR_IO/HERR_NOMEM, or the store's errors, with *why (owned by a static buffer of
 * this thread: use it before the next call). */
HEARTH_MUST_CHECK herr web_new(struct web **out, const struct web_config *cfg,
                               const struct hlog *log, const char **why);

/* web_destroy - stop serving (requests under way finish), end every session (keys
 * wiped) and close; NULL-safe; sets *w to NULL. */
void web_destroy(struct web **w);

/* web_port - the port it listens on (resolved when cfg->listen asked for 0). */
uint16_t web_port(const struct web *w);

/* web_parse_listen - "HOST:PORT" ("0.0.0.0:8080", "[::1]:0"; numeric hosts only) as
 * a socket address. HERR_USAGE. */
HEARTH_MUST_CHECK herr web_parse_listen(const char *listen, struct sockaddr_storage *ss,
                                        socklen_t *len);

#endif

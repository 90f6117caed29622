/* cmd_serve.c - `hearth serve`: run the node until stopped. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/node_key.h"
#include "node/node.h"
#include "web/web.h"

/* The replica check before the node starts: all of a replica of up to about 400k
 * events whose pages are in memory, the start of a larger one (the node reads the rest while it
 * serves, node_check_replica), so that a node is ready in well under a second at any size. */
#define SERVE_CHECK_MS 400u

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* settings - defaults, then DIR/hearth.conf, then the flags. */
static int settings(struct cli *c, struct config *cfg)
{
    char why[512];
    int rc = cli_config(c, cfg);
    if (rc)
        return rc;
    const char *v;
    if ((v = cli_opt(c, "listen")))
        snprintf(cfg->listen, sizeof cfg->listen, "%s", v);
    if (cli_flag(c, "no-discovery"))
        cfg->discovery = false;
    if ((v = cli_opt(c, "web"))) {
        if (strlen(v) >= sizeof cfg->web_listen || !strchr(v, ':'))
            return cli_error(c, HERR_USAGE, "--web: give HOST:PORT, e.g. 0.0.0.0:8080");
        snprintf(cfg->web_listen, sizeof cfg->web_listen, "%s", v);
        cfg->web = true;
    }
    if (cli_flag(c, "no-web"))
        cfg->web = false;
    if ((v = cli_opt(c, "metrics"))) {
        if (strlen(v) >= sizeof cfg->metrics_listen || !strchr(v, ':'))
            return cli_error(c, HERR_USAGE, "--metrics: give HOST:PORT, e.g. 127.0.0.1:9437");
        snprintf(cfg->metrics_listen, sizeof cfg->metrics_listen, "%s", v);
    }
    char text[600];
    /* flag, section, key: flags go through the config parser, checked like the file. */
    static const char *const keys[][3] = {
        {"access", "node", "access"},
        {"log-level", "node", "log_level"},
        {"interval", "sync", "interval"},
        {"rate", "limits", "rate"},
        {"peer-rate", "limits", "peer_rate"},
        {"peer", "peers", "peer"}, /* may be given several times */
        {"discovery-port", "discovery", "port"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *vals[CLI_MAX_VALUES];
        int nv = cli_opt_all(c, keys[i][0], vals, CLI_MAX_VALUES);
        for (int j = 0; j < nv; j++) {
            snprintf(text, sizeof text, "[%s]\n%s = %s\n", keys[i][1], keys[i][2], vals[j]);
            if (config_parse(cfg, text, why, sizeof why) != HERR_OK)
                return cli_error(c, HERR_USAGE, "--%s: %s", keys[i][0],
                                 strstr(why, ": ") ? strstr(why, ": ") + 2 : why);
        }
    }
    /* For tests and benchmarks: make contacts fail at random (docs/OPERATIONS.md). */
    if ((v = getenv("HEARTH_TEST_DROP")) != NULL && *v) {
        char *end;
        double p = strtod(v, &end);
        if (*end || !(p >= 0 && p <= 1))
            return cli_error(c, HERR_USAGE, "HEARTH_TEST_DROP: give a probability from 0 to 1");
        cfg->test_drop_permille = (unsigned)(p * 1000 + 0.5);
    }
    if ((v = getenv("HEARTH_TEST_NO_PUSH")) != NULL && !strcmp(v, "1"))
        cfg->test_no_push = true;
    if ((v = getenv("HEARTH_TEST_SLOW_INGEST")) != NULL && *v) {
        char *end;
        long ms = strtol(v, &end, 10);
        if (*end || ms < 0 || ms > 60000)
            return cli_error(c, HERR_USAGE,
                             "HEARTH_TEST_SLOW_INGEST: give milliseconds from 0 to 60000");
        cfg->test_slow_ingest_ms = (unsigned)ms;
    }
    return CLI_OK;
}

/* web_addresses - log where people on the LAN point their browsers: each of this
 * machine's non-loopback IPv4 addresses when listening on all of them. */
static void web_addresses(const struct hlog *log, const char *listen, uint16_t port, bool tls)
{
    const char *scheme = tls ? "https" : "http";
    if (strncmp(listen, "0.0.0.0:", 8) && strncmp(listen, "[::]:", 5)) {
        char host[CONFIG_MAX_STR];
        snprintf(host, sizeof host, "%.*s", (int)(strrchr(listen, ':') - listen), listen);
        hlog(log, HLOG_INFO, "web: open %s://%s:%u/ in a browser", scheme, host, port);
        return;
    }
    struct ifaddrs *ifs = NULL, *i;
    int shown = 0;
    if (getifaddrs(&ifs) == 0) {
        for (i = ifs; i; i = i->ifa_next) {
            char a[INET_ADDRSTRLEN];
            if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
                continue;
            inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, a, sizeof a);
            hlog(log, HLOG_INFO, "web: people on the LAN open %s://%s:%u/", scheme, a, port);
            shown++;
        }
        freeifaddrs(ifs);
    }
    hlog(log, HLOG_INFO, "web: %s%s://127.0.0.1:%u/ on this machine", shown ? "and " : "", scheme,
         port);
}

/* show_stats - the metrics pages' numbers: the node's snapshot (a web thread asks). */
static void show_stats(void *ctx, struct node_stats *out)
{
    node_stats(ctx, out);
}

/* serve_lock - take DIR/serve.lock (flock, exclusive) for the life of this process
 * and write our pid in it; *fd is then the open lock file. Two nodes on one replica
 * would both push, sync and write its status, each unaware of the other. The kernel
 * lets the lock go when the process ends, however it ends, so a stale file is no
 * obstacle. */
static int serve_lock(struct cli *c, int *fd)
{
    char *path = cli_path(c, "serve.lock");
    if (!path)
        return cli_error(c, HERR_NOMEM, "out of memory");
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0) {
        int rc = cli_error(c, HERR_IO, "cannot open '%s': %s", path, strerror(errno));
        free(path);
        return rc;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char pid[32] = "";
        ssize_t n = pread(*fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        int rc = err == EWOULDBLOCK
                     ? cli_error(c, HERR_BUSY,
                                 "another hearth serve (pid %s) already runs on this data "
                                 "directory ('%s' is locked)",
                                 pid[0] ? pid : "unknown", path)
                     : cli_error(c, HERR_IO, "cannot lock '%s': %s", path, strerror(err));
        close(*fd);
        *fd = -1;
        free(path);
        return rc;
    }
    free(path);
    char line[32];
    int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    /* Without the pid the lock still holds; only a second serve's message is poorer. */
    if (ftruncate(*fd, 0) == 0)
        (void)!pwrite(*fd, line, (size_t)len, 0);
    return CLI_OK;
}

/* serve - run the node (and the web pages) until a signal stops it. */
static int serve(struct cli *c, const struct config *cfgp)
{
    struct config cfg = *cfgp;
    int rc;
    uint8_t seed[HEARTH_SEED_LEN];
    if ((rc = cli_node_seed(c, seed)) != CLI_OK)
        return rc;
    struct hlog log = {.level = cfg.log_level, .out = stderr};
    struct node *n = NULL;
    const char *why = "";
    uint8_t node_pk[HEARTH_PK_LEN], node_sk[32];
    nodekey_from_seed(node_pk, node_sk, seed);
    secret_wipe(node_sk, sizeof node_sk);
    herr e = node_new(&n, c->store, &cfg, seed, &log, &why);
    secret_wipe(seed, sizeof seed);
    if (e == HERR_CORRUPT) /* what the check at start did not reach */
        return cli_error(c, e, "the replica in %s is damaged (%s): %s", c->dir,
                         store_errmsg(c->store), CLI_REPAIR_HINT);
    if (e)
        return cli_error(c, e, "cannot start the node: %s", why);
    /* A damaged replica never gets this far (CLI_NEEDS_SOUND); what the check at start
     * had no time for is read while the node serves. */
    if (c->checked_all) {
        node_note_replica(n, NODE_REPLICA_OK, c->checked_ms);
    } else {
        if (getenv("HEARTH_TEST_SKIP_CHECK"))
            hlog(&log, HLOG_WARN, "test settings: HEARTH_TEST_SKIP_CHECK: no check at start");
        char *db = cli_path(c, "hearth.db");
        if (!db || node_check_replica(n, db) != HERR_OK)
            hlog(&log, HLOG_WARN, "replica check: only the part read at start was checked");
        free(db);
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct web *w = NULL;
    char *owner_key = NULL;
    if (cfg.web) {
        char *db = cli_path(c, "hearth.db");
        /* The owner's login (`hearth open`) signs with the node's author key, if any. */
        owner_key = c->has_key ? cli_path(c, "author.key") : NULL;
        struct web_config wc = {.db_path = db,
                                .owner_key_path = owner_key,
                                .open_join = cfg.web_open_join,
                                .metrics = show_stats,
                                .metrics_ctx = n,
                                .metrics_public = cfg.metrics_public};
        /* The invites page shows the join link of this node as `hearth invite` does. */
        memcpy(wc.join.node, node_pk, HEARTH_PK_LEN);
        wc.has_join = cli_join_places_at(c, &cfg, node_endpoint(n), &wc.join) == CLI_OK;
        const char *fixed = getenv("HEARTH_BENCH_FIXED_PAGE");
        wc.bench_fixed = fixed ? strtoul(fixed, NULL, 10) : 0;
        snprintf(wc.listen, sizeof wc.listen, "%s", cfg.web_listen);
        snprintf(wc.tls_cert, sizeof wc.tls_cert, "%s", cfg.web_tls_cert);
        snprintf(wc.tls_key, sizeof wc.tls_key, "%s", cfg.web_tls_key);
        e = db ? web_new(&w, &wc, &log, &why) : HERR_NOMEM;
        free(db);
        if (e) {
            node_destroy(&n);
            free(owner_key);
            return cli_error(c, e, "cannot start the web pages: %s", db ? why : "out of memory");
        }
        web_addresses(&log, cfg.web_listen, web_port(w), cfg.web_tls_cert[0] != '\0');
        if (cli_note_web(c, cfg.web_listen, web_port(w), cfg.web_tls_cert[0] != '\0',
                         cfg.web_open_join) != HERR_OK)
            hlog(&log, HLOG_WARN,
                 "web: cannot note the pages' address for hearth invite and open: %s",
                 store_errmsg(c->store));
    }
    struct metrics_server *ms = NULL;
    if (cfg.metrics_listen[0]) {
        if ((e = metrics_server_new(&ms, cfg.metrics_listen, show_stats, n, &why))) {
            web_destroy(&w);
            free(owner_key);
            node_destroy(&n);
            return cli_error(c, e, "cannot serve the metrics: %s", why);
        }
        int host = (int)(strrchr(cfg.metrics_listen, ':') - cfg.metrics_listen);
        hlog(&log, HLOG_INFO, "metrics: http://%.*s:%u/metrics", host, cfg.metrics_listen,
             metrics_server_port(ms));
    }
    char addr[256];
    if (cli_node_address(c, node_endpoint(n), cfg.advertise, addr, sizeof addr) == CLI_OK)
        hlog(&log, HLOG_INFO, "address %s", addr);
    e = node_run(n, &stop_requested);
    metrics_server_destroy(&ms);
    if (w && cli_note_web(c, NULL, 0, false, false) != HERR_OK)
        hlog(&log, HLOG_WARN, "web: cannot forget the pages' address: %s", store_errmsg(c->store));
    web_destroy(&w);
    free(owner_key);
    node_destroy(&n);
    return e ? cli_error(c, e, "the node stopped: %s", herr_str(e)) : CLI_OK;
}

static int run(struct cli *c)
{
    struct config cfg;
    int rc = settings(c, &cfg);
    if (rc)
        return rc;
    int lock_fd = -1;
    if ((rc = serve_lock(c, &lock_fd)) != CLI_OK)
        return rc;
    rc = serve(c, &cfg);
    close(lock_fd); /* the lock goes with it */
    return rc;
}

static const struct cli_option options[] = {
    {"listen", 'l', "ENDPOINT", "where peers connect (default tcp://0.0.0.0:7437)"},
    {"peer", 'p', "ADDRESS", "also sync with this hearth:// address (repeatable)"},
    {"access", 0, "MODE", "open (any node of the forum) or allowlist"},
    {"no-discovery", 0, NULL, "do not announce or look for nodes on the LAN"},
    {"web", 'w', "HOST:PORT", "serve the web pages here (default 0.0.0.0:8080)"},
    {"no-web", 0, NULL, "do not serve the forum as web pages"},
    {"metrics", 0, "HOST:PORT", "serve /metrics on a port of its own (e.g. 127.0.0.1:9437)"},
    {"discovery-port", 0, "PORT", "UDP port of the LAN beacon (default 7438)"},
    {"interval", 'i', "SECONDS", "anti-entropy period (default 30)"},
    {"rate", 0, "BYTES", "cap on bytes per second sent to all peers"},
    {"peer-rate", 0, "BYTES", "cap on bytes per second sent to one peer"},
    {"log-level", 0, "LEVEL", "debug, info, warn or error"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_serve = {
    .name = "serve",
    .run = run,
    .group = "network",
    .summary = "run the node: sync with peers and serve the web pages until stopped",
    .synopsis = "[--listen ENDPOINT] [--peer ADDRESS]...",
    .details = "Settings come from hearth.conf in the data directory (see docs/OPERATIONS.md),\n"
               "then these options. Stops cleanly on SIGTERM or SIGINT.",
    .options = options,
    .min_args = 0,
    .max_args = 0,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_SOUND,
    .check_ms = SERVE_CHECK_MS,
};

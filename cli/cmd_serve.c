/* cmd_serve.c - `hearth serve`: run the node until stopped. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/node_key.h"
#include "node/node.h"

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
    config_defaults(cfg);
    char *path = cli_path(c, "hearth.conf");
    if (!path)
        return cli_error(c, HERR_NOMEM, "out of memory");
    herr e = config_load(cfg, path, why, sizeof why);
    free(path);
    if (e)
        return cli_error(c, e, "%s", why);
    const char *v;
    if ((v = cli_opt(c, "listen")))
        snprintf(cfg->listen, sizeof cfg->listen, "%s", v);
    if (cli_flag(c, "no-discovery"))
        cfg->discovery = false;
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
    return CLI_OK;
}

static int run(struct cli *c)
{
    struct config cfg;
    int rc = settings(c, &cfg);
    if (rc)
        return rc;
    uint8_t seed[HEARTH_SEED_LEN];
    if ((rc = cli_node_seed(c, seed)) != CLI_OK)
        return rc;
    struct hlog log = {.level = cfg.log_level, .out = stderr};
    struct node *n = NULL;
    const char *why = "";
    herr e = node_new(&n, c->store, &cfg, seed, &log, &why);
    secret_wipe(seed, sizeof seed);
    if (e)
        return cli_error(c, e, "cannot start the node: %s", why);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    char addr[256];
    if (cli_node_address(c, node_endpoint(n), cfg.advertise, addr, sizeof addr) == CLI_OK)
        hlog(&log, HLOG_INFO, "address %s", addr);
    e = node_run(n, &stop_requested);
    node_destroy(&n);
    return e ? cli_error(c, e, "the node stopped: %s", herr_str(e)) : CLI_OK;
}

static const struct cli_option options[] = {
    {"listen", 'l', "ENDPOINT", "where peers connect (default tcp://0.0.0.0:7437)"},
    {"peer", 'p', "ADDRESS", "also sync with this hearth:// address (repeatable)"},
    {"access", 0, "MODE", "open (any node of the forum) or allowlist"},
    {"no-discovery", 0, NULL, "do not announce or look for nodes on the LAN"},
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
    .summary = "run the node: sync with peers until stopped",
    .synopsis = "[--listen ENDPOINT] [--peer ADDRESS]...",
    .details = "Settings come from hearth.conf in the data directory (see docs/OPERATIONS.md),\n"
               "then these options. Stops cleanly on SIGTERM or SIGINT.",
    .options = options,
    .min_args = 0,
    .max_args = 0,
    .needs = CLI_NEEDS_WRITE,
};

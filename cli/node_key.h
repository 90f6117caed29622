/* node_key.h - the node's transport key (node.key in the data directory) and its
 * address, for the commands that speak to other nodes. */
#ifndef HEARTH_CLI_NODE_KEY_H
#define HEARTH_CLI_NODE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "node/config.h"
#include "node/joinlink.h"

/* cli_node_seed - load node.key, creating it when absent. Prints and returns an exit
 * code on failure. The caller wipes the seed with secret_wipe. */
int cli_node_seed(struct cli *c, uint8_t seed[HEARTH_SEED_LEN]);

/* cli_node_address - the node's hearth:// address for the listen endpoint `listen`
 * ("tcp://HOST:PORT"; a wildcard host is replaced by this machine's first
 * non-loopback IPv4 address, or `advertise` when given). Into out[0..n). */
int cli_node_address(struct cli *c, const char *listen, const char *advertise, char *out, size_t n);

/* cli_running_endpoint - the endpoint the node serving this data directory has
 * really bound ("tcp://0.0.0.0:7437"), from the status it writes (node:status; see
 * cmd_status.c, which reads it), and its pid; false when no node is running. c's
 * store must be open. */
bool cli_running_endpoint(struct cli *c, char *out, size_t n, uint64_t *pid);

/* cli_node_seed_existing - load node.key without making one: HERR_NOT_FOUND (not
 * printed) when there is none yet, else prints and returns an exit code on failure. */
int cli_node_seed_existing(struct cli *c, uint8_t seed[HEARTH_SEED_LEN], bool *found);

/* cli_config - defaults, then DIR/hearth.conf. Prints and returns an exit code on
 * failure. */
int cli_config(struct cli *c, struct config *cfg);

/* cli_join_places - the node key and the places (HOST:PORT) where the node of this
 * data directory listens, into l (the rest of l untouched): the endpoint the running
 * node has bound, else the listen endpoint of cfg (*running says which). A wildcard
 * host becomes each of this machine's up, non-loopback IPv4 addresses (at most
 * JOINLINK_MAX_ADDRS; 127.0.0.1 when it has none); cfg->advertise, when set, replaces
 * them. Loads node.key, making it when absent. Prints and returns an exit code on
 * failure (a configured port 0 with no node running). */
int cli_join_places(struct cli *c, const struct config *cfg, struct joinlink *l, bool *running);

/* cli_join_places_at - the same for a node that listens at `listen` (a running
 * `hearth serve`'s own endpoint, the port resolved): the places only, l->node kept. */
int cli_join_places_at(struct cli *c, const struct config *cfg, const char *listen,
                       struct joinlink *l);

/* Where the web pages of this data directory are served. */
struct cli_web {
    bool serving;                /* a running `hearth serve` serves them (else: from hearth.conf) */
    bool enabled;                /* there are web pages at all */
    bool tls;                    /* https */
    bool open_join;              /* visitors join without an invite */
    char listen[CONFIG_MAX_STR]; /* "0.0.0.0:8080", the port resolved when serving */
};

/* The local setting in which `hearth serve` notes its web pages while it serves them:
 * "PID SCHEME HOST:PORT JOIN", JOIN "open" or "invite" (cli_note_web). */
#define CLI_WEB_META "web:listen"

/* cli_note_web - note (or with listen NULL, forget) the web pages this process
 * serves, for `invite` and `open` in other processes. The store's errors. */
HEARTH_MUST_CHECK herr cli_note_web(struct cli *c, const char *listen, uint16_t port, bool tls,
                                    bool open_join);

/* cli_web_place - where the web pages are: as the running node's serve noted them,
 * else as cfg says `hearth serve` would serve them. */
void cli_web_place(struct cli *c, const struct config *cfg, struct cli_web *w);

/* cli_web_urls - the addresses people type for the web pages at listen: each of this
 * machine's non-loopback IPv4 addresses for a wildcard host (127.0.0.1 when none),
 * else the host itself; "http://HOST:PORT/" each, up to max into urls. Returns how
 * many. */
size_t cli_web_urls(const struct cli_web *w, char urls[][CONFIG_MAX_STR + 16], size_t max);

#endif

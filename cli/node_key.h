/* node_key.h - the node's transport key (node.key in the data directory) and its
 * address, for the commands that speak to other nodes. */
#ifndef HEARTH_CLI_NODE_KEY_H
#define HEARTH_CLI_NODE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"

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

#endif

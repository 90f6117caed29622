/* node_key.h - the node's transport key (node.key in the data directory) and its
 * address, for the commands that speak to other nodes. */
#ifndef HEARTH_CLI_NODE_KEY_H
#define HEARTH_CLI_NODE_KEY_H

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

#endif

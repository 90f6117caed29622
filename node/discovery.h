/* discovery.h - find nodes of the same forum on the LAN, with no configuration.
 *
 * Each node broadcasts a small UDP beacon every few seconds on every interface that
 * has a broadcast address:
 *
 *   beacon = msgpack array [ version: 1, forum: bin(32), node key: bin(32), port: uint ]
 *
 * (73 bytes for a port above 255; docs/PROTOCOL.md, "Discovery"; sync/beacon.h encodes and decodes
 * it). A beacon is only a hint: the node then connects with CURVE to the announced key, and the
 * sync hello checks the forum, so a forged beacon can at most make us try a connection. Beacons of
 * other forums and our own are ignored; one source key is reported at most once per `quiet_ms`, and
 * at most DISCOVERY_MAX_PER_SEC beacons a second are decoded at all, so a flood costs little.
 */
#ifndef HEARTH_DISCOVERY_H
#define HEARTH_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/crypto.h"
#include "base/herr.h"
#include "node/log.h"
#include "sync/beacon.h"

#define DISCOVERY_MAX_PER_SEC 50
#define DISCOVERY_RECENT 64

struct discovery;

/* A node heard on the LAN: its key and where it listens. */
struct discovery_peer {
    uint8_t key[HEARTH_PK_LEN];
    char host[64];
    uint16_t port;
};

/* discovery_new - open the UDP socket on udp_port (shared with other nodes on this
 * host: SO_REUSEADDR), to announce ourselves as `self`. HERR_NET with *why, "cannot
 * listen for beacons on udp://0.0.0.0:PORT: PROBLEM" (per thread, valid until the next
 * call). */
HEARTH_MUST_CHECK herr discovery_new(struct discovery **out, const struct beacon *self,
                                     unsigned udp_port, unsigned quiet_ms, const struct hlog *log,
                                     const char **why);

void discovery_destroy(struct discovery **d);

/* discovery_fd - the socket, for poll. */
int discovery_fd(const struct discovery *d);

/* discovery_announce - broadcast our beacon on every broadcast-capable interface.
 * Returns the number of interfaces it went out on in *sent. */
HEARTH_MUST_CHECK herr discovery_announce(struct discovery *d, unsigned *sent);

/* discovery_read - read one datagram (non-blocking). *got when it was a fresh beacon
 * of our forum from another node, at time now_ms (a monotonic clock). */
HEARTH_MUST_CHECK herr discovery_read(struct discovery *d, uint64_t now_ms,
                                      struct discovery_peer *peer, bool *got);

#endif

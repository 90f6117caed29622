/* beacon.h - the LAN discovery beacon's bytes (docs/PROTOCOL.md, "Discovery"):
 *
 *   beacon = msgpack array [ version: 1, forum: bin(32), node key: bin(32), port: uint ]
 *
 * 73 bytes at most. Beside the sync messages (sync/wire.h) because it is a message on
 * the wire too; node/discovery.h sends and hears it.
 */
#ifndef HEARTH_SYNC_BEACON_H
#define HEARTH_SYNC_BEACON_H

#include <stddef.h>
#include <stdint.h>

#include "base/crypto.h"
#include "base/herr.h"

#define BEACON_VERSION 1
#define BEACON_MAX 128 /* bytes; larger datagrams are not beacons */

struct beacon {
    uint8_t forum[HEARTH_ID_LEN];
    uint8_t key[HEARTH_PK_LEN];
    uint16_t port;
};

/* beacon_encode - the beacon's bytes into out (BEACON_MAX bytes); sets *len. */
void beacon_encode(const struct beacon *b, uint8_t *out, size_t *len);

/* beacon_decode - strictly decode a datagram. HERR_MALFORMED / HERR_NONCANONICAL /
 * HERR_VERSION with *why. */
HEARTH_MUST_CHECK herr beacon_decode(struct beacon *b, const uint8_t *p, size_t n,
                                     const char **why);

#endif

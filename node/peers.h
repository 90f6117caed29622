/* peers.h - the peers a node knows, kept in the store's local settings.
 *
 * One setting per peer, key "peer:<64 hex key>", value
 *   "<endpoint|-> <last_seen_ms> <last_sync_ms> <failures> <source>"
 * where times are wall-clock milliseconds (0: never) and source is one of static
 * (hearth.conf), added (hearth peers add), discovered (LAN beacon) or inbound (it
 * connected to us). The allow-list is one setting per key, "allow:<64 hex key>".
 * `hearth peers` and the node both go through this module, so the format lives here.
 */
#ifndef HEARTH_PEERS_H
#define HEARTH_PEERS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/crypto.h"
#include "store/store.h"

#define PEER_MAX_ENDPOINT 160

struct peer_record {
    uint8_t key[HEARTH_PK_LEN];
    char endpoint[PEER_MAX_ENDPOINT]; /* "tcp://host:port", "" when unknown */
    uint64_t last_seen, last_sync, failures;
    char source[16];
};

/* peer_record_save - write (insert or replace) r. */
HEARTH_MUST_CHECK herr peer_record_save(struct store *s, const struct peer_record *r);

/* peer_record_load - the record of key. HERR_NOT_FOUND. */
HEARTH_MUST_CHECK herr peer_record_load(struct store *s, const uint8_t key[HEARTH_PK_LEN],
                                        struct peer_record *r);

/* peer_record_remove - forget a peer (and its allow-list entry). HERR_NOT_FOUND when
 * neither existed. */
HEARTH_MUST_CHECK herr peer_record_remove(struct store *s, const uint8_t key[HEARTH_PK_LEN]);

/* peer_record_forget - forget a peer's record only (its allow-list entry stays): what
 * the node does when its table is full and an old discovered or inbound peer makes
 * room. HERR_NOT_FOUND when there was none. */
HEARTH_MUST_CHECK herr peer_record_forget(struct store *s, const uint8_t key[HEARTH_PK_LEN]);

typedef herr (*peer_record_fn)(void *ctx, const struct peer_record *r);

/* peer_record_forget_source - forget every record of that source ("inbound"); *n gets
 * how many. What a node does when it starts: peers that connected to an earlier run
 * come back when they connect again. */
HEARTH_MUST_CHECK herr peer_record_forget_source(struct store *s, const char *source, size_t *n);

/* peer_record_each - every known peer, in key order. Malformed records are skipped. */
HEARTH_MUST_CHECK herr peer_record_each(struct store *s, peer_record_fn fn, void *ctx);

/* peer_allow / peer_disallow / peer_allowed - the allow-list. */
HEARTH_MUST_CHECK herr peer_allow(struct store *s, const uint8_t key[HEARTH_PK_LEN]);
HEARTH_MUST_CHECK herr peer_disallow(struct store *s, const uint8_t key[HEARTH_PK_LEN]);
bool peer_allowed(struct store *s, const uint8_t key[HEARTH_PK_LEN]);

#endif

/* memstore.h - an in-memory stand-in for the store, for sync benchmarks and tests.
 *
 * A memstore holds stand-in events: each is the envelope [bin(32) header, bin(0), nil]
 * whose id is BLAKE2b-256 of the 32-byte header, as for real events, so ids are
 * uniformly random and a session cannot tell them from real ones by their ids. It
 * implements struct sync_ops (sync/session.h): keys in arrival order, resolution of
 * 16-byte keys through a hash table, envelopes in id order (the stand-ins have no
 * kinds, hence no priority; stream and ids_in_order use an index in id order, 4
 * bytes an event, rebuilt on first use after events were added), and an ingest that
 * accepts any well-formed stand-in except those whose header starts with 0xff (to play
 * a bad signature). Nothing is verified: it measures the protocol, not the store.
 */
#ifndef HEARTH_SYNC_MEMSTORE_H
#define HEARTH_SYNC_MEMSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/crypto.h"
#include "base/herr.h"
#include "sync/session.h"

#define MEMSTORE_HEADER_LEN 32
#define MEMSTORE_ENV_LEN (2 + MEMSTORE_HEADER_LEN + 2 + 1 + 1) /* 38 bytes */

struct memstore;

/* memstore_new - an empty memstore of the forum `forum` (NULL: no forum yet; the
 * first ingested event then binds it to an arbitrary fixed forum). HERR_NOMEM. */
HEARTH_MUST_CHECK herr memstore_new(struct memstore **out, const uint8_t forum[HEARTH_ID_LEN]);

/* memstore_clone - a deep copy. HERR_NOMEM. */
HEARTH_MUST_CHECK herr memstore_clone(struct memstore **out, const struct memstore *m);

void memstore_destroy(struct memstore **m);

/* memstore_add - add the stand-in event with this header; sets id (when not NULL).
 * HERR_DUPLICATE when held. */
HEARTH_MUST_CHECK herr memstore_add(struct memstore *m, const uint8_t header[MEMSTORE_HEADER_LEN],
                                    uint8_t id[HEARTH_ID_LEN]);

/* memstore_envelope - the stand-in envelope of a header (MEMSTORE_ENV_LEN bytes). */
void memstore_envelope(const uint8_t header[MEMSTORE_HEADER_LEN], uint8_t env[MEMSTORE_ENV_LEN]);

bool memstore_has(const struct memstore *m, const uint8_t id[HEARTH_ID_LEN]);
uint64_t memstore_count(const struct memstore *m);

/* memstore_ops - the sync_ops over a memstore (ctx is the memstore). */
const struct sync_ops *memstore_ops(void);

#endif

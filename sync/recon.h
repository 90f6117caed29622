/* recon.h - rateless set reconciliation of event ids (rateless IBLT).
 *
 * Two nodes hold sets of event ids that mostly agree; each must learn what the other
 * lacks, at a cost that grows with the difference d and not with the set size n.
 * hearth uses Rateless Invertible Bloom Lookup Tables (Yang, Gilad, Alizadeh,
 * "Practical Rateless Set Reconciliation", SIGCOMM 2024): a set is encoded as an
 * endless sequence of coded symbols, each the XOR of the keys mapped to it, the XOR of
 * their checksums and their count. Key k is mapped to symbol i with probability about
 * 2/(i+2), so it touches about 2 ln(m) of the first m symbols. Subtracting the peer's
 * symbols from one's own cancels every shared key and leaves the symbols of the
 * difference alone, which a peeling decoder recovers from about 1.35 d to 2 d symbols.
 * docs/PROTOCOL.md ("Reconciliation") defines every function here bit for bit.
 *
 * The key of an event is the first 16 bytes of its id (ids are BLAKE2b-256 outputs,
 * so uniformly random). 16 bytes halve the symbol size against the full id; two
 * different events share a key only after some 2^64 work, and such a pair can make
 * reconciliation fall back to listing ids, never accept a wrong result, because every
 * decode is checked against the peer's set fingerprint.
 *
 * The set fingerprint is BLAKE2b over the count and the sum, modulo 2^512, of a
 * 512-bit hash of each key. It is not linear over GF(2): crafted events cannot cancel
 * it by XOR; the generalised-birthday attack on such sums needs millions of crafted
 * events at this width.
 *
 * A recon index owns the first RECON_M coded symbols of the local set, kept up to date
 * as keys are added (about 24 symbol updates per key, 24 bytes per symbol: 6 MiB), the
 * fingerprint state, and the ids of the newest RECON_SUFFIX keys. It catches up from
 * the store by arrival number, so only new events are ever added; keys are never
 * removed (hearth never deletes an event id). A cold build reads every event (about
 * 1.5 s at a million, most of it reading the rows); recon_index_save and
 * recon_index_load keep an index across restarts instead (node/index.c).
 *
 * A recon decoder receives the peer's symbols in index order, subtracts the local
 * index's, peels, and yields the keys each side lacks. It also estimates d from the
 * symbol counts so that a session can ask for the right number of symbols in one go.
 *
 * Thread safety: none; an index is used from one thread. A decoder reads its index on
 * every recon_decoder_add(): the index must not change while a decoder uses it.
 */
#ifndef HEARTH_RECON_H
#define HEARTH_RECON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/crypto.h"
#include "base/herr.h"

#define RECON_KEY_LEN 16   /* bytes of a key: the first bytes of an event id */
#define RECON_M (1u << 18) /* coded symbols held by an index and decodable */
#define RECON_SUFFIX 16    /* newest ids an index remembers */
#define RECON_FP_LEN 16    /* bytes of a set fingerprint */
#define RECON_SYM_LEN 22   /* bytes of one coded symbol on the wire */
#define RECON_COUNT_LEN 2  /* bytes of one count-only entry on the wire */

/* ---- the building blocks (exposed for tests and other implementations) ---- */

/* What a key hashes to: h = BLAKE2b-512("hearth/recon/v1\0" || key). */
struct recon_hash {
    uint32_t chk;     /* checksum: h[0..4) little-endian */
    uint64_t seed;    /* mapping seed: h[8..16) little-endian */
    uint64_t elem[8]; /* fingerprint element: h as a 512-bit little-endian number */
};

void recon_hash_key(const uint8_t key[RECON_KEY_LEN], struct recon_hash *h);

/* The rateless mapping: the increasing indices of the coded symbols a key is mapped
 * to. The first is always 0. */
struct recon_map {
    uint64_t state; /* splitmix64 state */
    uint64_t index; /* the current index */
};

void recon_map_init(struct recon_map *m, uint64_t seed);

/* recon_map_next - advance to and return the next index (always > the current one). */
uint64_t recon_map_next(struct recon_map *m);

/* recon_fingerprint - the set fingerprint of `count` keys whose elements sum to sum. */
void recon_fingerprint(uint64_t count, const uint64_t sum[8], uint8_t fp[RECON_FP_LEN]);

/* ---- the index ---- */

struct recon_index;

/* recon_index_new - an empty index. HERR_NOMEM. */
HEARTH_MUST_CHECK herr recon_index_new(struct recon_index **out);

/* recon_index_clone - a deep copy of x (for benchmarks and tests). HERR_NOMEM. */
HEARTH_MUST_CHECK herr recon_index_clone(struct recon_index **out, const struct recon_index *x);

/* recon_index_destroy - free; NULL-safe; sets *x to NULL. */
void recon_index_destroy(struct recon_index **x);

/* recon_index_save - the whole index as bytes, so that a node need not read every
 * event again to build it (docs/STORAGE.md, "The saved recon index"): *out (the caller
 * frees it) holds RECON_SAVED_LEN bytes, ending in a BLAKE2b-256 of the rest. HERR_NOMEM. */
#define RECON_SAVED_LEN                                                                            \
    (16 + 8 + 8 + 64 + 8 + (size_t)RECON_SUFFIX * HEARTH_ID_LEN + (size_t)RECON_M * 24 + 32)
HEARTH_MUST_CHECK herr recon_index_save(const struct recon_index *x, uint8_t **out, size_t *n);

/* recon_index_load - the saved bytes back into x, which must be empty (new): the ids
 * the saved index held, up to its last arrival, so that catching up from the store
 * adds only what arrived after. HERR_VERSION when the bytes are not an index this
 * version saved (another length, tag or RECON_M), HERR_CORRUPT when their checksum
 * does not match (a damaged copy), HERR_STATE when x is not empty; x is unchanged on
 * failure.
 * Whether the store still holds exactly those ids is the caller's to check (the id of
 * the newest, recon_index_newest, and the count after catching up). */
HEARTH_MUST_CHECK herr recon_index_load(struct recon_index *x, const uint8_t *p, size_t n);

/* recon_index_newest - the id added last (HERR_NOT_FOUND when the index is empty). */
HEARTH_MUST_CHECK herr recon_index_newest(const struct recon_index *x, uint8_t id[HEARTH_ID_LEN]);

/* recon_index_add - add the event id `id` which arrived as number `arrival`. Arrival
 * numbers must grow: an arrival not above recon_index_last_arrival() is refused with
 * HERR_DUPLICATE and changes nothing, which makes catching up idempotent. The index
 * cannot tell the same id offered twice under two arrival numbers; the store never
 * does that. */
HEARTH_MUST_CHECK herr recon_index_add(struct recon_index *x, const uint8_t id[HEARTH_ID_LEN],
                                       uint64_t arrival);

/* A source of (id, arrival) pairs: call fn for every id that arrived after `arrival`,
 * in arrival order, stopping at the first error fn returns (store_keys_since()'s
 * shape). */
typedef herr (*recon_keys_fn)(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                              uint64_t arrival);
typedef herr (*recon_source_fn)(void *src, uint64_t arrival, recon_keys_fn fn, void *ctx);

/* recon_index_catch_up - add every id the source has after recon_index_last_arrival().
 * While the index is held (recon_index_hold) it does nothing and returns HERR_OK: a
 * later catch-up adds what was skipped. On failure the ids added so far stay added
 * (the index stays consistent) and the source's error is returned. */
HEARTH_MUST_CHECK herr recon_index_catch_up(struct recon_index *x, recon_source_fn source,
                                            void *src);

/* recon_index_hold / recon_index_release - a session reconciling with the index holds
 * it, so that catching up (for another session) does not change the symbols it is
 * sending or decoding against; a held index only lags the store a little. Holds nest;
 * each hold needs one release. */
void recon_index_hold(struct recon_index *x);
void recon_index_release(struct recon_index *x);
bool recon_index_held(const struct recon_index *x);

uint64_t recon_index_count(const struct recon_index *x);
uint64_t recon_index_last_arrival(const struct recon_index *x);

/* recon_index_fingerprint - the fingerprint of the whole set. */
void recon_index_fingerprint(const struct recon_index *x, uint8_t fp[RECON_FP_LEN]);

/* recon_index_suffix - the fingerprint of the set without its newest j ids, and those
 * ids (newest first) in ids[0..j). j must be at most recon_index_suffix_max(x). */
void recon_index_suffix(const struct recon_index *x, uint32_t j, uint8_t fp[RECON_FP_LEN],
                        uint8_t (*ids)[HEARTH_ID_LEN]);

/* recon_index_fingerprint_without - the fingerprint the set would have without the
 * key `key` (count one less, its element taken off the sum). Whether the set holds
 * the key is not checked: a match with a peer's fingerprint is what says it does. */
void recon_index_fingerprint_without(const struct recon_index *x, const uint8_t key[RECON_KEY_LEN],
                                     uint8_t fp[RECON_FP_LEN]);

/* recon_index_suffix_max - how many newest ids the index remembers (<= RECON_SUFFIX). */
uint32_t recon_index_suffix_max(const struct recon_index *x);

/* recon_index_encode - write symbols [start, start+n) in wire form (n * RECON_SYM_LEN
 * bytes) to out. start + n <= RECON_M. */
void recon_index_encode(const struct recon_index *x, uint32_t start, uint32_t n, uint8_t *out);

/* recon_index_encode_counts - write the counts of symbols [start, start+n), modulo
 * 2^16, little-endian (n * RECON_COUNT_LEN bytes) to out. start + n <= RECON_M. */
void recon_index_encode_counts(const struct recon_index *x, uint32_t start, uint32_t n,
                               uint8_t *out);

/* ---- the decoder ---- */

struct recon_decoder;

/* recon_decoder_new - a decoder of the difference between a peer's set (of
 * remote_count keys, fingerprint remote_fp) and the set of `local`, which must not
 * change while the decoder lives. HERR_NOMEM. */
HEARTH_MUST_CHECK herr recon_decoder_new(struct recon_decoder **out,
                                         const struct recon_index *local, uint64_t remote_count,
                                         const uint8_t remote_fp[RECON_FP_LEN]);

void recon_decoder_destroy(struct recon_decoder **d);

/* recon_decoder_add - take the peer's symbols [start, start+n) in wire form and peel
 * what can be peeled. start must be recon_decoder_received(d) and start + n at most
 * RECON_M, else HERR_PROTOCOL with *why. HERR_NOMEM. */
HEARTH_MUST_CHECK herr recon_decoder_add(struct recon_decoder *d, uint32_t start,
                                         const uint8_t *syms, uint32_t n, const char **why);

/* recon_decoder_add_counts - take count-only entries for symbols [start, start+n)
 * (start >= recon_decoder_received(d)); they only sharpen the estimate of d. Entries
 * already counted are ignored. HERR_PROTOCOL when start + n > RECON_M. */
HEARTH_MUST_CHECK herr recon_decoder_add_counts(struct recon_decoder *d, uint32_t start,
                                                const uint8_t *counts, uint32_t n,
                                                const char **why);

/* recon_decoder_received - how many symbols (full ones) have been taken. */
uint32_t recon_decoder_received(const struct recon_decoder *d);

/* recon_decoder_complete - true when every received symbol has been peeled to empty,
 * i.e. the whole difference is known (at least one symbol must have been received). */
bool recon_decoder_complete(const struct recon_decoder *d);

/* recon_decoder_verify - once complete: HERR_OK when the local set plus what the peer
 * alone holds minus what we alone hold has the peer's count and fingerprint, else
 * HERR_PROTOCOL (a wrong decode, or keys crafted to collide: fall back). */
HEARTH_MUST_CHECK herr recon_decoder_verify(const struct recon_decoder *d);

/* recon_decoder_remote_only / local_only - the keys decoded so far that only the peer
 * holds / only we hold: *n keys of RECON_KEY_LEN bytes, owned by the decoder, valid
 * until the next recon_decoder_add(). */
const uint8_t (*recon_decoder_remote_only(const struct recon_decoder *d, size_t *n))[RECON_KEY_LEN];
const uint8_t (*recon_decoder_local_only(const struct recon_decoder *d, size_t *n))[RECON_KEY_LEN];

/* recon_decoder_estimate - the estimated size of the difference from the counts seen
 * so far, and the estimate's relative standard deviation (1 when there is no data). */
void recon_decoder_estimate(const struct recon_decoder *d, double *d_hat, double *rel_sd);

/* ---- the policy: how many symbols to send and ask for (docs/PROTOCOL.md) ---- */

/* recon_first_batch - how many symbols and how many count-only entries a responder
 * sends first, given both set counts. */
void recon_first_batch(uint64_t n_local, uint64_t n_remote, uint32_t *symbols, uint32_t *counts);

/* recon_wider_batch - the first batch when the counts differ by one but the
 * difference is known not to be one key (plan ONE's sketch did not verify): the
 * batch a difference of two would get. */
void recon_wider_batch(uint32_t *symbols, uint32_t *counts);

/* recon_next_request - after a batch that did not decode: the total number of symbols
 * to ask for, or 0 when reconciliation should fall back to listing ids (the estimate
 * says RECON_M symbols will not do, or RECON_M have been received already). */
uint32_t recon_next_request(const struct recon_decoder *d);

#endif

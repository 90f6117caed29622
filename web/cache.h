/* cache.h - what the web keeps rendered, so that a page costs a lookup, not a render.
 *
 * Two bounded, thread-safe caches (one mutex each, least recently used out first):
 *
 * - fragments: the HTML that libcmark made of a text, keyed by a BLAKE2b-128 hash of
 *   the text itself. A post's words change only by an edit, and an edit is new text,
 *   hence a new key: the cache needs no invalidation and is exact by construction.
 *
 * - pages: whole pages as a visitor (no session) sees them, keyed by path and query,
 *   stamped with the replica's version (the arrival number of its newest event). The
 *   view is a function of the set of events, so a page made at stamp s is the page at
 *   s; any new event makes every older page stale (coarse, but exact). Pages for
 *   members, which carry their session's CSRF token and reading marks, are never kept.
 *   Each kept page also has its gzip form, made once.
 */
#ifndef HEARTH_WEB_CACHE_H
#define HEARTH_WEB_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hbuf.h"
#include "base/herr.h"

struct cache;

/* cache_new - a cache of at most `slots` entries and `max_bytes` bytes in all. */
struct cache *cache_new(size_t slots, size_t max_bytes);
void cache_destroy(struct cache **c);

/* cache_fragment - append to out the cached rendering of text[0..n), or NULL's
 * false when there is none. */
bool cache_fragment_get(struct cache *c, const char *text, size_t n, struct hbuf *out);
void cache_fragment_put(struct cache *c, const char *text, size_t n, const char *html, size_t len);

/* cache_page_get - copy the page `key` made at `stamp` (its gzip form when gzip) into
 * out. false when none is kept for that stamp. */
bool cache_page_get(struct cache *c, const char *key, uint64_t stamp, bool gzip, struct hbuf *out);

/* cache_page_put - keep page[0..len) as `key` at `stamp`, with its gzip form. */
void cache_page_put(struct cache *c, const char *key, uint64_t stamp, const uint8_t *page,
                    size_t len);

/* cache_gzip - the gzip form of p[0..n) appended to out (level 1 to 9). */
HEARTH_MUST_CHECK herr cache_gzip(const uint8_t *p, size_t n, int level, struct hbuf *out);

/* cache_bytes - what is held, for the status and benchmarks. */
size_t cache_bytes(struct cache *c);

#endif

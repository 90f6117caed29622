/* bundle.h - bundle files: events carried on a USB stick (docs/EVENTS.md, "Bundles").
 *
 * The exact layout is in docs/EVENTS.md; in short: an 8-byte magic, a msgpack
 * preamble naming the format version and the forum, then each event envelope as a
 * msgpack bin, then a nil and a bin(32) trailer holding BLAKE2b-256 of every byte
 * before it. The trailer makes truncation and corruption detectable on a stream
 * (export to a pipe does not know its count in advance).
 *
 * The reader is bounded: an item larger than HEARTH_MAX_EVENT, a count beyond
 * HEARTH_MAX_BUNDLE_EVENTS, a wrong magic, a missing or wrong trailer and trailing
 * bytes are each a clear error. Bundle-level errors mean the bundle as a whole is not
 * to be trusted; import applies nothing from it. Errors in single events inside an
 * intact bundle are the store's business (rejected, with reasons).
 */
#ifndef HEARTH_BUNDLE_H
#define HEARTH_BUNDLE_H

#include <stdint.h>
#include <stdio.h>

#include "store/crypto.h"
#include "store/hbuf.h"
#include "store/herr.h"

#define BUNDLE_MAGIC "HEARTHB1"
#define BUNDLE_VERSION 1

struct bundle_writer;

/* bundle_writer_new - start a bundle of forum `forum` on f (not closed by us). */
HEARTH_MUST_CHECK herr bundle_writer_new(struct bundle_writer **out, FILE *f,
                                         const uint8_t forum[HEARTH_ID_LEN]);

/* bundle_write - append one event envelope. HERR_IO / HERR_FULL on write failure. */
HEARTH_MUST_CHECK herr bundle_write(struct bundle_writer *w, const uint8_t *env, size_t len);

/* bundle_writer_finish - write the trailer and flush. The writer is freed and *w set
 * to NULL whatever the result. */
HEARTH_MUST_CHECK herr bundle_writer_finish(struct bundle_writer **w, uint64_t *count);

/* bundle_writer_destroy - abandon a bundle (no trailer: readers will reject it). */
void bundle_writer_destroy(struct bundle_writer **w);

struct bundle_reader;

/* bundle_reader_new - read a bundle from f. Reads and checks the magic and preamble:
 * HERR_MALFORMED ("not a hearth bundle"), HERR_VERSION. */
HEARTH_MUST_CHECK herr bundle_reader_new(struct bundle_reader **out, FILE *f, const char **why);

/* bundle_forum - the forum the bundle names. */
const uint8_t *bundle_forum(const struct bundle_reader *r);

/* bundle_next - the next event envelope in *env / *len (owned by the reader, valid
 * until the next call). Returns HERR_OK with *env NULL at the verified end (trailer
 * checked, nothing after it). HERR_MALFORMED with *why for a truncated, corrupt or
 * oversize bundle. */
HEARTH_MUST_CHECK herr bundle_next(struct bundle_reader *r, const uint8_t **env, size_t *len,
                                   const char **why);

void bundle_reader_destroy(struct bundle_reader **r);

#endif

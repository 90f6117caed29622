/* bundle.h - bundle files: events carried on a USB stick (docs/EVENTS.md, "Bundles").
 *
 * The exact layout is in docs/EVENTS.md; in short: the 8-byte magic "HEARTHB1", a
 * msgpack preamble [version 1, forum bin(32)], then each event envelope as a msgpack
 * bin, then a nil and a bin(32) trailer holding BLAKE2b-256 of every byte before the
 * trailer (magic included), then the end of the file. The trailer makes truncation and
 * corruption detectable on a stream (export to a pipe does not know its count in
 * advance).
 *
 * The reader streams: it holds one item at a time, in a buffer that grows only with
 * bytes actually read and never past the item's declared length, which is checked
 * against HEARTH_MAX_EVENT before anything is allocated. An item larger than
 * HEARTH_MAX_EVENT, a count beyond HEARTH_MAX_BUNDLE_EVENTS, a wrong magic, a
 * non-shortest length, a missing or wrong trailer and trailing bytes are each a clear
 * error. It does not parse events: each envelope is handed over as-is, and errors in
 * single events inside an intact bundle are the store's business (rejected, with
 * reasons).
 *
 * The trailer is checked only at the end, so envelopes handed out before it are not
 * yet vouched for by it. Every event is signed on its own, so applying the events of a
 * damaged bundle cannot forge anything; but import promises to apply nothing from a
 * damaged bundle, so it reads to the verified end before it applies (a first pass over
 * a seekable file, or one transaction that is committed only after bundle_next has
 * returned the verified end).
 */
#ifndef HEARTH_BUNDLE_H
#define HEARTH_BUNDLE_H

#include <stdint.h>
#include <stdio.h>

#include "base/crypto.h"
#include "base/hbuf.h"
#include "base/herr.h"

#define BUNDLE_MAGIC "HEARTHB1"
#define BUNDLE_VERSION 1

struct bundle_writer;

/* bundle_writer_new - start a bundle of forum `forum` on f (not closed by us). */
HEARTH_MUST_CHECK herr bundle_writer_new(struct bundle_writer **out, FILE *f,
                                         const uint8_t forum[HEARTH_ID_LEN]);

/* bundle_write - append one event envelope (not checked: the bytes are copied as
 * given). HERR_TOO_LARGE when len is above HEARTH_MAX_EVENT or the bundle already
 * holds HEARTH_MAX_BUNDLE_EVENTS; HERR_IO / HERR_FULL on write failure, after which
 * every call on w returns that error. */
HEARTH_MUST_CHECK herr bundle_write(struct bundle_writer *w, const uint8_t *env, size_t len);

/* bundle_writer_finish - write the end marker and trailer and flush f (not fsynced:
 * the caller owns f). On success sets *count (when count is not NULL) to the number
 * of events written. HERR_IO / HERR_FULL on write failure. The writer is freed and *w
 * set to NULL whatever the result. */
HEARTH_MUST_CHECK herr bundle_writer_finish(struct bundle_writer **w, uint64_t *count);

/* bundle_writer_destroy - abandon a bundle (no trailer: readers will reject it).
 * NULL-safe; sets *w to NULL. */
void bundle_writer_destroy(struct bundle_writer **w);

struct bundle_reader;

/* bundle_reader_new - read a bundle from f (not closed by us). Reads and checks the
 * magic and preamble. On failure *out is NULL and *why (when why is not NULL) is a
 * static one-line reason: HERR_MALFORMED ("not a hearth bundle", "truncated bundle",
 * "corrupt bundle preamble"), HERR_NONCANONICAL, HERR_VERSION ("unsupported bundle
 * version"), HERR_IO ("cannot read bundle"), HERR_NOMEM. */
HEARTH_MUST_CHECK herr bundle_reader_new(struct bundle_reader **out, FILE *f, const char **why);

/* bundle_forum - the forum the bundle names (32 bytes owned by r). */
const uint8_t *bundle_forum(const struct bundle_reader *r);

/* bundle_next - the next event envelope in *env / *len (owned by the reader, valid
 * until the next call on r). Returns HERR_OK with *env NULL at the verified end
 * (trailer checked, nothing after it), and again on every later call. On failure *why
 * (when not NULL) is a static one-line reason: HERR_MALFORMED ("truncated bundle",
 * "bundle checksum mismatch", "trailing bytes after bundle", "corrupt bundle..."),
 * HERR_NONCANONICAL (a length not in its shortest form), HERR_TOO_LARGE ("event too
 * large in bundle", "too many events in bundle"), HERR_IO, HERR_NOMEM. A failure is
 * final: every later call returns it again. */
HEARTH_MUST_CHECK herr bundle_next(struct bundle_reader *r, const uint8_t **env, size_t *len,
                                   const char **why);

/* bundle_reader_destroy - free r; NULL-safe; sets *r to NULL. */
void bundle_reader_destroy(struct bundle_reader **r);

#endif

/* hbuf.h - a growable byte buffer with a ceiling.
 *
 * Every buffer that grows from outside input has a maximum (curl's rule): appending
 * past `max` fails with HERR_TOO_LARGE and leaves the buffer as it was. Embedded
 * vocabulary: hbuf_init() / hbuf_release(); hbuf_reset() empties it and keeps the
 * memory. `data` is owned by the buffer and valid until the next append or release.
 */
#ifndef HEARTH_HBUF_H
#define HEARTH_HBUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/herr.h"

struct hbuf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;
};

/* hbuf_init - an empty buffer that may grow to `max` bytes. Allocates nothing. */
void hbuf_init(struct hbuf *b, size_t max);

/* hbuf_release - free the memory; the buffer is empty and may be reused. */
void hbuf_release(struct hbuf *b);

/* hbuf_reset - empty the buffer, keeping its memory. */
void hbuf_reset(struct hbuf *b);

/* hbuf_append - add n bytes. HERR_TOO_LARGE past max, HERR_NOMEM; on failure the
 * buffer is unchanged. */
HEARTH_MUST_CHECK herr hbuf_append(struct hbuf *b, const void *p, size_t n);

/* hbuf_reserve - make room for n more bytes without changing len. */
HEARTH_MUST_CHECK herr hbuf_reserve(struct hbuf *b, size_t n);

#endif

/* mp.h - canonical msgpack: a bounded reader for untrusted bytes, and a writer.
 *
 * hearth's formats (docs/EVENTS.md, docs/PROTOCOL.md) use a canonical subset of
 * msgpack: nil, bool, unsigned integers, str (valid UTF-8), bin, array and map, each
 * in its shortest encoding. Signed integers, floats and ext are not part of it.
 *
 * The reader never trusts a declared length: it reads through a cursor (pos, end),
 * checks every length and count against the caller's maximum and against the bytes
 * actually left before returning, and rejects any encoding that is not the shortest
 * (HERR_NONCANONICAL). It allocates nothing; strings and bins are returned as
 * pointers into the input. msgpack-c's unpacker trusts declared lengths, which is why
 * untrusted bytes come here instead.
 *
 * The writer is a thin wrapper over msgpack-c's packer (which always chooses the
 * shortest encoding) that appends to an hbuf and remembers the first error, so a
 * caller writes a whole structure and checks mp_writer_status() once.
 */
#ifndef HEARTH_MP_H
#define HEARTH_MP_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hbuf.h"
#include "base/herr.h"

struct mp_reader {
    const uint8_t *pos;
    const uint8_t *end;
};

enum mp_type { MP_NONE, MP_NIL, MP_BOOL, MP_UINT, MP_STR, MP_BIN, MP_ARRAY, MP_MAP, MP_OTHER };

void mp_reader_init(struct mp_reader *r, const void *p, size_t n);

/* mp_peek - the type of the next value, MP_NONE at the end, MP_OTHER for anything
 * outside the canonical subset (signed ints, floats, ext, reserved 0xc1). */
enum mp_type mp_peek(const struct mp_reader *r);

/* Each reader below consumes one value of its type. On any failure it returns
 * HERR_MALFORMED (wrong type, truncated), HERR_NONCANONICAL (not the shortest
 * encoding, invalid UTF-8 in a str) or HERR_TOO_LARGE (above max), and leaves the
 * cursor where it was. */
HEARTH_MUST_CHECK herr mp_read_nil(struct mp_reader *r);
HEARTH_MUST_CHECK herr mp_read_bool(struct mp_reader *r, bool *v);
HEARTH_MUST_CHECK herr mp_read_uint(struct mp_reader *r, uint64_t *v);
HEARTH_MUST_CHECK herr mp_read_array(struct mp_reader *r, uint32_t *count, uint32_t max);
HEARTH_MUST_CHECK herr mp_read_map(struct mp_reader *r, uint32_t *count, uint32_t max);
HEARTH_MUST_CHECK herr mp_read_str(struct mp_reader *r, const char **p, uint32_t *n, uint32_t max);
HEARTH_MUST_CHECK herr mp_read_bin(struct mp_reader *r, const uint8_t **p, uint32_t *n,
                                   uint32_t max);

/* mp_read_bin_fixed - a bin of exactly n bytes, copied into out. */
HEARTH_MUST_CHECK herr mp_read_bin_fixed(struct mp_reader *r, uint8_t *out, uint32_t n);

/* mp_skip - read past one value of the canonical subset. Containers may nest `depth`
 * levels below it (0: a scalar only); a deeper container is HERR_MALFORMED, and every
 * str, bin, array and map is bounded by max like the typed readers. */
HEARTH_MUST_CHECK herr mp_skip(struct mp_reader *r, unsigned depth, uint32_t max);

/* mp_at_end - true when every byte has been read. */
bool mp_at_end(const struct mp_reader *r);

struct mp_writer {
    msgpack_packer pk;
    struct hbuf *out;
    herr err;
};

/* mp_writer_init - write canonical msgpack to the end of out. */
void mp_writer_init(struct mp_writer *w, struct hbuf *out);
void mp_write_nil(struct mp_writer *w);
void mp_write_bool(struct mp_writer *w, bool v);
void mp_write_uint(struct mp_writer *w, uint64_t v);
void mp_write_array(struct mp_writer *w, uint32_t count);
void mp_write_map(struct mp_writer *w, uint32_t count);
void mp_write_str(struct mp_writer *w, const char *p, size_t n);
void mp_write_bin(struct mp_writer *w, const void *p, size_t n);
/* mp_writer_status - the first error of any write since init, or HERR_OK. */
HEARTH_MUST_CHECK herr mp_writer_status(const struct mp_writer *w);

#endif

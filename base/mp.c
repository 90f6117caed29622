/* mp.c - canonical msgpack (base/mp.h). */
#include "base/mp.h"

#include <string.h>

#include "base/utf8.h"

void mp_reader_init(struct mp_reader *r, const void *p, size_t n)
{
    r->pos = p;
    r->end = r->pos + n;
}

herr mp_skip(struct mp_reader *r, unsigned depth, uint32_t max)
{
    const char *s;
    const uint8_t *p;
    uint32_t n;
    uint64_t u;
    bool b;
    switch (mp_peek(r)) {
    case MP_NIL:
        return mp_read_nil(r);
    case MP_BOOL:
        return mp_read_bool(r, &b);
    case MP_UINT:
        return mp_read_uint(r, &u);
    case MP_STR:
        return mp_read_str(r, &s, &n, max);
    case MP_BIN:
        return mp_read_bin(r, &p, &n, max);
    case MP_ARRAY:
    case MP_MAP: {
        if (depth == 0)
            return HERR_MALFORMED;
        bool map = mp_peek(r) == MP_MAP;
        herr e = map ? mp_read_map(r, &n, max) : mp_read_array(r, &n, max);
        for (uint64_t i = 0; !e && i < (uint64_t)n * (map ? 2 : 1); i++)
            e = mp_skip(r, depth - 1, max);
        return e;
    }
    default:
        return HERR_MALFORMED;
    }
}

bool mp_at_end(const struct mp_reader *r)
{
    return r->pos == r->end;
}

static size_t left(const struct mp_reader *r)
{
    return (size_t)(r->end - r->pos);
}

static uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

enum mp_type mp_peek(const struct mp_reader *r)
{
    if (r->pos >= r->end)
        return MP_NONE;
    uint8_t b = *r->pos;
    if (b <= 0x7f || (b >= 0xcc && b <= 0xcf))
        return MP_UINT;
    if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf)
        return MP_MAP;
    if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd)
        return MP_ARRAY;
    if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb))
        return MP_STR;
    if (b >= 0xc4 && b <= 0xc6)
        return MP_BIN;
    if (b == 0xc0)
        return MP_NIL;
    if (b == 0xc2 || b == 0xc3)
        return MP_BOOL;
    return MP_OTHER;
}

herr mp_read_nil(struct mp_reader *r)
{
    if (mp_peek(r) != MP_NIL)
        return HERR_MALFORMED;
    r->pos++;
    return HERR_OK;
}

herr mp_read_bool(struct mp_reader *r, bool *v)
{
    if (mp_peek(r) != MP_BOOL)
        return HERR_MALFORMED;
    *v = *r->pos++ == 0xc3;
    return HERR_OK;
}

herr mp_read_uint(struct mp_reader *r, uint64_t *v)
{
    if (mp_peek(r) != MP_UINT)
        return HERR_MALFORMED;
    uint8_t b = *r->pos;
    if (b <= 0x7f) {
        *v = b;
        r->pos++;
        return HERR_OK;
    }
    if (b < 0xcc || b > 0xcf) /* never: what mp_peek calls MP_UINT */
        return HERR_MALFORMED;
    unsigned n = 1u << (b - 0xcc); /* 0xcc..0xcf: 1, 2, 4, 8 bytes */
    if (left(r) < 1 + (size_t)n)
        return HERR_MALFORMED;
    uint64_t x = be(r->pos + 1, n);
    /* The shortest form: each width only for values that need it. */
    static const uint64_t floor[] = {0x80, 0x100, 0x10000, 0x100000000ULL};
    if (x < floor[b - 0xcc])
        return HERR_NONCANONICAL;
    *v = x;
    r->pos += 1 + n;
    return HERR_OK;
}

/* read_len - a container or string header: a fixed small form (fixbase with the
 * length in fixmask; fixmask 0 when the type has none) and 8/16/32-bit forms at codes
 * c8, c16, c32 (c8 0 when the type has no 8-bit form). min8 and min16 are the least
 * lengths for which the 8- and 16-bit forms are the shortest. */
static herr read_len(struct mp_reader *r, uint8_t fixbase, uint8_t fixmask, uint8_t c8,
                     uint32_t min8, uint8_t c16, uint32_t min16, uint8_t c32, uint32_t *len)
{
    if (r->pos >= r->end)
        return HERR_MALFORMED;
    uint8_t b = *r->pos;
    if (fixmask && (b & (uint8_t)~fixmask) == fixbase) {
        *len = b & fixmask;
        r->pos++;
        return HERR_OK;
    }
    unsigned w;
    uint32_t min;
    if (c8 && b == c8) {
        w = 1, min = min8;
    } else if (b == c16) {
        w = 2, min = min16;
    } else if (b == c32) {
        w = 4, min = 0x10000;
    } else {
        return HERR_MALFORMED;
    }
    if (left(r) < 1 + (size_t)w)
        return HERR_MALFORMED;
    uint32_t x = (uint32_t)be(r->pos + 1, w);
    if (x < min)
        return HERR_NONCANONICAL;
    *len = x;
    r->pos += 1 + w;
    return HERR_OK;
}

/* Containers: a count can't exceed the bytes left (each element is >= 1 byte), and
 * must be within max. */
static herr read_container(struct mp_reader *r, enum mp_type t, uint32_t *count, uint32_t max)
{
    if (mp_peek(r) != t)
        return HERR_MALFORMED;
    const uint8_t *start = r->pos;
    uint32_t n;
    herr e = t == MP_ARRAY ? read_len(r, 0x90, 0x0f, 0, 0, 0xdc, 16, 0xdd, &n)
                           : read_len(r, 0x80, 0x0f, 0, 0, 0xde, 16, 0xdf, &n);
    if (e)
        return e;
    uint64_t min_bytes = t == MP_MAP ? 2ULL * n : n;
    if (n > max) {
        r->pos = start;
        return HERR_TOO_LARGE;
    }
    if (min_bytes > left(r)) {
        r->pos = start;
        return HERR_MALFORMED;
    }
    *count = n;
    return HERR_OK;
}

herr mp_read_array(struct mp_reader *r, uint32_t *count, uint32_t max)
{
    return read_container(r, MP_ARRAY, count, max);
}

herr mp_read_map(struct mp_reader *r, uint32_t *count, uint32_t max)
{
    return read_container(r, MP_MAP, count, max);
}

static herr read_bytes(struct mp_reader *r, enum mp_type t, const uint8_t **p, uint32_t *n,
                       uint32_t max)
{
    if (mp_peek(r) != t)
        return HERR_MALFORMED;
    const uint8_t *start = r->pos;
    uint32_t len;
    herr e = t == MP_STR ? read_len(r, 0xa0, 0x1f, 0xd9, 32, 0xda, 0x100, 0xdb, &len)
                         : read_len(r, 0, 0, 0xc4, 0, 0xc5, 0x100, 0xc6, &len);
    if (e)
        return e;
    if (len > max) {
        r->pos = start;
        return HERR_TOO_LARGE;
    }
    if (len > left(r)) {
        r->pos = start;
        return HERR_MALFORMED;
    }
    *p = r->pos;
    *n = len;
    r->pos += len;
    return HERR_OK;
}

herr mp_read_str(struct mp_reader *r, const char **p, uint32_t *n, uint32_t max)
{
    const uint8_t *start = r->pos;
    const uint8_t *q;
    herr e = read_bytes(r, MP_STR, &q, n, max);
    if (e)
        return e;
    if (!utf8_valid((const char *)q, *n)) {
        r->pos = start;
        return HERR_NONCANONICAL;
    }
    *p = (const char *)q;
    return HERR_OK;
}

herr mp_read_bin(struct mp_reader *r, const uint8_t **p, uint32_t *n, uint32_t max)
{
    return read_bytes(r, MP_BIN, p, n, max);
}

herr mp_read_bin_fixed(struct mp_reader *r, uint8_t *out, uint32_t n)
{
    const uint8_t *start = r->pos;
    const uint8_t *p;
    uint32_t got;
    herr e = mp_read_bin(r, &p, &got, n);
    if (e)
        return e == HERR_TOO_LARGE ? HERR_MALFORMED : e;
    if (got != n) {
        r->pos = start;
        return HERR_MALFORMED;
    }
    memcpy(out, p, n);
    return HERR_OK;
}

static int hbuf_write(void *data, const char *buf, size_t len)
{
    struct mp_writer *w = data;
    if (w->err)
        return -1;
    w->err = hbuf_append(w->out, buf, len);
    return w->err ? -1 : 0;
}

void mp_writer_init(struct mp_writer *w, struct hbuf *out)
{
    w->out = out;
    w->err = HERR_OK;
    msgpack_packer_init(&w->pk, w, hbuf_write);
}

void mp_write_nil(struct mp_writer *w)
{
    (void)msgpack_pack_nil(&w->pk);
}

void mp_write_bool(struct mp_writer *w, bool v)
{
    (void)(v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk));
}

void mp_write_uint(struct mp_writer *w, uint64_t v)
{
    (void)msgpack_pack_uint64(&w->pk, v);
}

void mp_write_array(struct mp_writer *w, uint32_t count)
{
    (void)msgpack_pack_array(&w->pk, count);
}

void mp_write_map(struct mp_writer *w, uint32_t count)
{
    (void)msgpack_pack_map(&w->pk, count);
}

void mp_write_str(struct mp_writer *w, const char *p, size_t n)
{
    (void)msgpack_pack_str(&w->pk, n);
    (void)msgpack_pack_str_body(&w->pk, p, n);
}

void mp_write_bin(struct mp_writer *w, const void *p, size_t n)
{
    (void)msgpack_pack_bin(&w->pk, n);
    (void)msgpack_pack_bin_body(&w->pk, p, n);
}

herr mp_writer_status(const struct mp_writer *w)
{
    return w->err;
}

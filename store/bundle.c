#include "store/bundle.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"

#define MAGIC_LEN 8
/* Items are read from the file in pieces of at most this many bytes, so the buffer
 * grows with the bytes that actually arrive, never with a declared length alone. */
#define READ_CHUNK 16384

/* The trailer's hash runs over every byte before it. libsodium's streaming BLAKE2b is
 * used directly because crypto.h only offers the one-shot hash_id(); both are the same
 * unkeyed BLAKE2b-256. */
typedef crypto_generichash_state hash_state;

static void hash_init(hash_state *st)
{
    crypto_generichash_init(st, NULL, 0, HEARTH_ID_LEN);
}

static void hash_update(hash_state *st, const void *p, size_t n)
{
    crypto_generichash_update(st, p, n);
}

static void hash_final(hash_state *st, uint8_t out[HEARTH_ID_LEN])
{
    crypto_generichash_final(st, out, HEARTH_ID_LEN);
}

/* zalloc - a zeroed object of size n and alignment a. libsodium's hash state asks for
 * 64-byte alignment, more than malloc promises, so the structs that hold one come from
 * aligned_alloc. */
static void *zalloc(size_t a, size_t n)
{
    void *p = aligned_alloc(a, (n + a - 1) / a * a);
    if (p)
        memset(p, 0, n);
    return p;
}

/* ---- writer ---- */

struct bundle_writer {
    FILE *f;
    hash_state hash;
    uint64_t count;
    herr err; /* the first write error; every later call returns it */
};

/* put_raw - write n bytes; remembers the first failure. */
static herr put_raw(struct bundle_writer *w, const void *p, size_t n)
{
    if (w->err)
        return w->err;
    if (n && fwrite(p, 1, n, w->f) != n)
        w->err = herr_from_errno(errno);
    return w->err;
}

/* put - write n bytes and add them to the trailer's hash. */
static herr put(struct bundle_writer *w, const void *p, size_t n)
{
    herr e = put_raw(w, p, n);
    if (!e)
        hash_update(&w->hash, p, n);
    return e;
}

/* bin_head - the shortest msgpack bin header for n bytes; returns its length. */
static size_t bin_head(uint8_t out[5], size_t n)
{
    if (n < 0x100) {
        out[0] = 0xc4, out[1] = (uint8_t)n;
        return 2;
    }
    if (n < 0x10000) {
        out[0] = 0xc5, out[1] = (uint8_t)(n >> 8), out[2] = (uint8_t)n;
        return 3;
    }
    out[0] = 0xc6;
    for (int i = 0; i < 4; i++)
        out[1 + i] = (uint8_t)(n >> (24 - 8 * i));
    return 5;
}

herr bundle_writer_new(struct bundle_writer **out, FILE *f, const uint8_t forum[HEARTH_ID_LEN])
{
    *out = NULL;
    struct bundle_writer *w = zalloc(_Alignof(struct bundle_writer), sizeof *w);
    if (!w)
        return HERR_NOMEM;
    w->f = f;
    hash_init(&w->hash);
    /* Preamble: [1, bin(32) forum] as canonical msgpack. */
    const uint8_t preamble[4] = {0x92, BUNDLE_VERSION, 0xc4, HEARTH_ID_LEN};
    herr e = put(w, BUNDLE_MAGIC, MAGIC_LEN);
    if (!e)
        e = put(w, preamble, sizeof preamble);
    if (!e)
        e = put(w, forum, HEARTH_ID_LEN);
    if (e) {
        free(w);
        return e;
    }
    *out = w;
    return HERR_OK;
}

herr bundle_write(struct bundle_writer *w, const uint8_t *env, size_t len)
{
    if (w->err)
        return w->err;
    if (len > HEARTH_MAX_EVENT || w->count >= HEARTH_MAX_BUNDLE_EVENTS)
        return HERR_TOO_LARGE;
    uint8_t head[5];
    herr e = put(w, head, bin_head(head, len));
    if (!e)
        e = put(w, env, len);
    if (!e)
        w->count++;
    return e;
}

herr bundle_writer_finish(struct bundle_writer **wp, uint64_t *count)
{
    struct bundle_writer *w = *wp;
    *wp = NULL;
    uint8_t nil = 0xc0, head[2] = {0xc4, HEARTH_ID_LEN}, sum[HEARTH_ID_LEN];
    herr e = put(w, &nil, 1);
    if (!e) {
        hash_final(&w->hash, sum);
        e = put_raw(w, head, sizeof head);
    }
    if (!e)
        e = put_raw(w, sum, sizeof sum);
    if (!e && fflush(w->f) != 0)
        e = herr_from_errno(errno);
    if (!e && count)
        *count = w->count;
    free(w);
    return e;
}

void bundle_writer_destroy(struct bundle_writer **w)
{
    if (!w || !*w)
        return;
    free(*w);
    *w = NULL;
}

/* ---- reader ---- */

enum reader_state { RS_ITEMS, RS_DONE, RS_FAILED };

struct bundle_reader {
    FILE *f;
    hash_state hash;
    uint8_t forum[HEARTH_ID_LEN];
    uint64_t count;
    struct hbuf item;
    enum reader_state state;
    herr err;        /* when RS_FAILED: returned again by every later call */
    const char *why; /* when RS_FAILED */
};

/* get - read exactly n bytes into p, hashing them. HERR_MALFORMED "truncated
 * bundle" at an early end of file, HERR_IO on a read error. */
static herr get(struct bundle_reader *r, void *p, size_t n, const char **why)
{
    size_t got = n ? fread(p, 1, n, r->f) : 0;
    if (got != n) {
        *why = ferror(r->f) ? "cannot read bundle" : "truncated bundle";
        return ferror(r->f) ? HERR_IO : HERR_MALFORMED;
    }
    hash_update(&r->hash, p, n);
    return HERR_OK;
}

/* get_be - a big-endian unsigned integer of w bytes (w <= 4). */
static herr get_be(struct bundle_reader *r, unsigned w, uint32_t *v, const char **why)
{
    uint8_t b[4];
    herr e = get(r, b, w, why);
    if (e)
        return e;
    *v = 0;
    for (unsigned i = 0; i < w; i++)
        *v = *v << 8 | b[i];
    return HERR_OK;
}

static herr read_magic(struct bundle_reader *r, const char **why)
{
    uint8_t magic[MAGIC_LEN];
    size_t got = fread(magic, 1, MAGIC_LEN, r->f);
    if (memcmp(magic, BUNDLE_MAGIC, got) != 0 || (got == 0 && !ferror(r->f))) {
        *why = "not a hearth bundle";
        return HERR_MALFORMED;
    }
    if (got != MAGIC_LEN) {
        *why = ferror(r->f) ? "cannot read bundle" : "truncated bundle";
        return ferror(r->f) ? HERR_IO : HERR_MALFORMED;
    }
    hash_update(&r->hash, magic, MAGIC_LEN);
    return HERR_OK;
}

/* read_version - the preamble's first element, a msgpack uint in its shortest form
 * (a later version may need more than a fixint). */
static herr read_version(struct bundle_reader *r, uint64_t *v, const char **why)
{
    uint8_t b;
    herr e = get(r, &b, 1, why);
    if (e)
        return e;
    if (b <= 0x7f) {
        *v = b;
        return HERR_OK;
    }
    if (b < 0xcc || b > 0xcf) {
        *why = "corrupt bundle preamble";
        return HERR_MALFORMED;
    }
    unsigned w = 1u << (b - 0xcc);
    uint8_t x[8];
    e = get(r, x, w, why);
    if (e)
        return e;
    *v = 0;
    for (unsigned i = 0; i < w; i++)
        *v = *v << 8 | x[i];
    static const uint64_t floor[] = {0x80, 0x100, 0x10000, 0x100000000ULL};
    if (*v < floor[b - 0xcc]) {
        *why = "corrupt bundle preamble";
        return HERR_NONCANONICAL;
    }
    return HERR_OK;
}

/* read_preamble - [version, bin(32) forum]. The version is read before the element
 * count is checked, so a later version may change the preamble's shape and still be
 * told apart from a corrupt file. */
static herr read_preamble(struct bundle_reader *r, const char **why)
{
    uint8_t b;
    uint64_t version;
    herr e = get(r, &b, 1, why);
    if (e)
        return e;
    if (b < 0x91 || b > 0x9f) {
        *why = "corrupt bundle preamble";
        return HERR_MALFORMED;
    }
    e = read_version(r, &version, why);
    if (e)
        return e;
    if (version != BUNDLE_VERSION) {
        *why = "unsupported bundle version";
        return HERR_VERSION;
    }
    uint8_t head[2];
    if (b != 0x92 || (e = get(r, head, sizeof head, why)) != HERR_OK || head[0] != 0xc4 ||
        head[1] != HEARTH_ID_LEN) {
        if (e)
            return e;
        *why = "corrupt bundle preamble";
        return HERR_MALFORMED;
    }
    return get(r, r->forum, HEARTH_ID_LEN, why);
}

herr bundle_reader_new(struct bundle_reader **out, FILE *f, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = "";
    *out = NULL;
    struct bundle_reader *r = zalloc(_Alignof(struct bundle_reader), sizeof *r);
    if (!r) {
        *why = "out of memory";
        return HERR_NOMEM;
    }
    r->f = f;
    hash_init(&r->hash);
    hbuf_init(&r->item, HEARTH_MAX_EVENT);
    herr e = read_magic(r, why);
    if (!e)
        e = read_preamble(r, why);
    if (e) {
        bundle_reader_destroy(&r);
        return e;
    }
    r->state = RS_ITEMS;
    *out = r;
    return HERR_OK;
}

const uint8_t *bundle_forum(const struct bundle_reader *r)
{
    return r->forum;
}

/* read_item - len bytes of an item into r->item, growing it piece by piece with the
 * bytes that arrive. */
static herr read_item(struct bundle_reader *r, size_t len, const char **why)
{
    hbuf_reset(&r->item);
    /* The buffer may grow to this item's declared length and no further. */
    r->item.max = len;
    while (r->item.len < len) {
        size_t n = len - r->item.len < READ_CHUNK ? len - r->item.len : READ_CHUNK;
        herr e = hbuf_reserve(&r->item, n);
        if (e) {
            *why = "out of memory";
            return e;
        }
        e = get(r, r->item.data + r->item.len, n, why);
        if (e)
            return e;
        r->item.len += n;
    }
    return HERR_OK;
}

/* read_trailer - after the nil: bin(32) holding the hash of every byte before it,
 * then the end of the file. */
static herr read_trailer(struct bundle_reader *r, const char **why)
{
    uint8_t want[HEARTH_ID_LEN], head[2], got[HEARTH_ID_LEN];
    hash_final(&r->hash, want);
    size_t n = fread(head, 1, sizeof head, r->f);
    if (n == sizeof head && (head[0] != 0xc4 || head[1] != HEARTH_ID_LEN)) {
        *why = "corrupt bundle trailer";
        return HERR_MALFORMED;
    }
    if (n == sizeof head)
        n += fread(got, 1, sizeof got, r->f);
    if (n != sizeof head + sizeof got) {
        *why = ferror(r->f) ? "cannot read bundle" : "truncated bundle";
        return ferror(r->f) ? HERR_IO : HERR_MALFORMED;
    }
    if (sodium_memcmp(want, got, sizeof want) != 0) {
        *why = "bundle checksum mismatch";
        return HERR_MALFORMED;
    }
    if (fgetc(r->f) != EOF) {
        *why = "trailing bytes after bundle";
        return HERR_MALFORMED;
    }
    if (ferror(r->f)) {
        *why = "cannot read bundle";
        return HERR_IO;
    }
    return HERR_OK;
}

/* next_item - the next item's bin header, then its bytes; *end at the nil. */
static herr next_item(struct bundle_reader *r, bool *end, const char **why)
{
    uint8_t b;
    uint32_t len;
    herr e = get(r, &b, 1, why);
    if (e)
        return e;
    *end = b == 0xc0;
    if (*end)
        return read_trailer(r, why);
    if (b < 0xc4 || b > 0xc6) {
        *why = "corrupt bundle: expected an event or the end";
        return HERR_MALFORMED;
    }
    e = get_be(r, 1u << (b - 0xc4), &len, why);
    if (e)
        return e;
    if ((b == 0xc5 && len < 0x100) || (b == 0xc6 && len < 0x10000)) {
        *why = "non-canonical item length in bundle";
        return HERR_NONCANONICAL;
    }
    if (len > HEARTH_MAX_EVENT) {
        *why = "event too large in bundle";
        return HERR_TOO_LARGE;
    }
    if (r->count >= HEARTH_MAX_BUNDLE_EVENTS) {
        *why = "too many events in bundle";
        return HERR_TOO_LARGE;
    }
    e = read_item(r, len, why);
    if (!e)
        r->count++;
    return e;
}

herr bundle_next(struct bundle_reader *r, const uint8_t **env, size_t *len, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = "";
    *env = NULL;
    *len = 0;
    if (r->state == RS_DONE)
        return HERR_OK;
    if (r->state == RS_FAILED) {
        *why = r->why;
        return r->err;
    }
    bool end = false;
    herr e = next_item(r, &end, why);
    if (e) {
        r->state = RS_FAILED;
        r->err = e;
        r->why = *why;
        return e;
    }
    if (end) {
        r->state = RS_DONE;
        return HERR_OK;
    }
    *env = r->item.data ? r->item.data : (const uint8_t *)"";
    *len = r->item.len;
    return HERR_OK;
}

void bundle_reader_destroy(struct bundle_reader **r)
{
    if (!r || !*r)
        return;
    hbuf_release(&(*r)->item);
    free(*r);
    *r = NULL;
}

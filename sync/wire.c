/* wire.c - encoders and the bounded decoder of the sync messages. */
#include "sync/wire.h"

#include <stdlib.h>
#include <string.h>
#include <zstd_errors.h>

/* ---- decoding ---- */

/* fieldf - pass e through, naming the field that failed when it did. */
static herr fieldf(herr e, const char **why, const char *reason)
{
    if (e)
        *why = reason;
    return e;
}

/* A nil or a bin of exactly len bytes. */
static herr read_opt_bin(struct mp_reader *r, bool *has, uint8_t *out, uint32_t len)
{
    if (mp_peek(r) == MP_NIL) {
        *has = false;
        return mp_read_nil(r);
    }
    *has = true;
    return mp_read_bin_fixed(r, out, len);
}

static herr dec_hello(struct mp_reader *r, uint32_t fields, struct sync_hello *h, const char **w)
{
    herr e;
    if (fields < 8)
        return fieldf(HERR_MALFORMED, w, "hello has too few fields");
    if ((e = fieldf(mp_read_uint(r, &h->version), w, "hello: bad version field")))
        return e;
    if (h->version == 0)
        return fieldf(HERR_VERSION, w, "hello: protocol version 0");
    if ((e = fieldf(read_opt_bin(r, &h->has_forum, h->forum, SYNC_FORUM_TAG_LEN), w,
                    "hello: forum tag is not nil or bin(8)")))
        return e;
    if ((e = fieldf(mp_read_uint(r, &h->caps), w, "hello: bad capabilities field")))
        return e;
    if ((e = fieldf(mp_read_uint(r, &h->frame_log2), w, "hello: bad frame size field")))
        return e;
    if (h->frame_log2 < SYNC_MIN_FRAME_LOG2 || h->frame_log2 > 63)
        return fieldf(HERR_INVALID, w, "hello: frame size out of range");
    if ((e = fieldf(mp_read_uint(r, &h->count), w, "hello: bad count field")))
        return e;
    if (h->count > SYNC_MAX_SET_COUNT)
        return fieldf(HERR_TOO_LARGE, w, "hello: set count too large");
    if ((e = fieldf(read_opt_bin(r, &h->has_fp, h->fp, RECON_FP_LEN), w,
                    "hello: fingerprint is not nil or bin(16)")))
        return e;
    if ((e = fieldf(mp_read_uint(r, &h->plan), w, "hello: bad plan field")))
        return e;
    if (h->plan > SYNC_PLAN_MAX)
        return fieldf(HERR_INVALID, w, "hello: unknown plan");
    /* The sum of plan SUFFIX_I: a bin(16) as the 9th element (anything else there is
     * a later field like the others). */
    if (fields > 8 && mp_peek(r) == MP_BIN) {
        const uint8_t *p;
        uint32_t n;
        if ((e = fieldf(mp_read_bin(r, &p, &n, HEARTH_MAX_FRAME), w, "hello: bad later field")))
            return e;
        if (n == RECON_KEY_LEN) {
            h->has_sum = true;
            memcpy(h->sum, p, RECON_KEY_LEN);
        } else {
            h->extra++;
        }
        if (fields == 9)
            return HERR_OK;
        fields--; /* one element fewer to skip below */
    }
    /* Fields a later version adds at the end: well-formed, canonical, ignored. */
    for (uint32_t i = 8; i < fields; i++) {
        if ((e = fieldf(mp_skip(r, SYNC_MAX_SKIP_DEPTH - 1, HEARTH_MAX_FRAME), w,
                        "hello: bad later field")))
            return e;
        h->extra++;
    }
    return HERR_OK;
}

/* A bin whose length is a multiple of unit; *n gets the number of units. */
static herr read_units(struct mp_reader *r, const uint8_t **p, uint32_t *n, uint32_t unit)
{
    uint32_t len;
    herr e = mp_read_bin(r, p, &len, HEARTH_MAX_FRAME);
    if (e)
        return e;
    if (len % unit != 0)
        return HERR_MALFORMED;
    *n = len / unit;
    return HERR_OK;
}

static herr dec_symbols(struct mp_reader *r, uint32_t fields, struct sync_symbols *s,
                        const char **w)
{
    herr e;
    uint64_t start;
    if (fields != 5)
        return fieldf(HERR_MALFORMED, w, "symbols: wrong number of fields");
    if ((e = fieldf(mp_read_uint(r, &start), w, "symbols: bad start field")))
        return e;
    if (start >= RECON_M)
        return fieldf(HERR_TOO_LARGE, w, "symbols: start index too large");
    s->start = (uint32_t)start;
    if ((e = fieldf(mp_read_bool(r, &s->last), w, "symbols: bad last field")))
        return e;
    if ((e = fieldf(read_units(r, &s->syms, &s->nsyms, RECON_SYM_LEN), w,
                    "symbols: symbols are not a bin of whole symbols")))
        return e;
    if ((e = fieldf(read_units(r, &s->counts, &s->ncounts, RECON_COUNT_LEN), w,
                    "symbols: counts are not a bin of whole counts")))
        return e;
    if ((uint64_t)s->start + s->nsyms + s->ncounts > RECON_M)
        return fieldf(HERR_TOO_LARGE, w, "symbols: beyond the last symbol index");
    return HERR_OK;
}

static herr dec_more(struct mp_reader *r, uint32_t fields, struct sync_more *m, const char **w)
{
    herr e;
    uint64_t upto, counts;
    if (fields != 3)
        return fieldf(HERR_MALFORMED, w, "more: wrong number of fields");
    if ((e = fieldf(mp_read_uint(r, &upto), w, "more: bad upto field")))
        return e;
    if ((e = fieldf(mp_read_uint(r, &counts), w, "more: bad counts field")))
        return e;
    if (upto == 0)
        return fieldf(HERR_INVALID, w, "more: asks for no symbols");
    if (upto > RECON_M || counts > RECON_M - upto)
        return fieldf(HERR_TOO_LARGE, w, "more: beyond the last symbol index");
    m->upto = (uint32_t)upto;
    m->counts = (uint32_t)counts;
    return HERR_OK;
}

static herr dec_keys(struct mp_reader *r, uint32_t fields, struct sync_keys *k, const char **w)
{
    herr e;
    if (fields != 3)
        return fieldf(HERR_MALFORMED, w, "keys: wrong number of fields");
    if ((e = fieldf(mp_read_bool(r, &k->last), w, "keys: bad last field")))
        return e;
    return fieldf(read_units(r, &k->keys, &k->n, RECON_KEY_LEN), w,
                  "keys: not a bin of whole keys");
}

static herr dec_events(struct mp_reader *r, uint32_t fields, struct sync_events *ev, const char **w)
{
    herr e;
    if (fields != 2)
        return fieldf(HERR_MALFORMED, w, "events: wrong number of fields");
    if ((e = fieldf(mp_read_array(r, &ev->n, SYNC_MAX_EVENTS_PER_MSG), w,
                    "events: bad envelope array")))
        return e;
    if (ev->n == 0)
        return fieldf(HERR_INVALID, w, "events: no envelopes");
    ev->first = r->pos;
    for (uint32_t i = 0; i < ev->n; i++) {
        const uint8_t *p;
        uint32_t len;
        if ((e = fieldf(mp_read_bin(r, &p, &len, HEARTH_MAX_EVENT), w,
                        "events: an envelope is not a bin of at most the event size")))
            return e;
    }
    ev->end = r->pos;
    return HERR_OK;
}

static herr dec_error(struct mp_reader *r, uint32_t fields, struct sync_error *er, const char **w)
{
    herr e;
    if (fields != 3)
        return fieldf(HERR_MALFORMED, w, "error: wrong number of fields");
    if ((e = fieldf(mp_read_uint(r, &er->code), w, "error: bad code field")))
        return e;
    return fieldf(mp_read_str(r, &er->text, &er->len, SYNC_MAX_ERROR_TEXT), w,
                  "error: text is not a str of at most 200 bytes");
}

static herr dec_push(struct mp_reader *r, uint32_t fields, struct sync_push *p, const char **w)
{
    if (fields != 2)
        return fieldf(HERR_MALFORMED, w, "push: wrong number of fields");
    return fieldf(mp_read_bin(r, &p->env, &p->len, HEARTH_MAX_EVENT), w,
                  "push: envelope is not a bin of at most the event size");
}

static herr dec_zevents(struct mp_reader *r, uint32_t fields, struct sync_zevents *z,
                        const char **w)
{
    herr e;
    uint64_t size;
    if (fields != 3)
        return fieldf(HERR_MALFORMED, w, "zevents: wrong number of fields");
    if ((e = fieldf(mp_read_uint(r, &size), w, "zevents: bad size field")))
        return e;
    if (size > HEARTH_MAX_FRAME)
        return fieldf(HERR_TOO_LARGE, w, "zevents: decompressed size above the frame limit");
    if (size == 0)
        return fieldf(HERR_INVALID, w, "zevents: decompressed size 0");
    z->size = (uint32_t)size;
    if ((e = fieldf(mp_read_bin(r, &z->data, &z->len, HEARTH_MAX_FRAME), w,
                    "zevents: data is not a bin")))
        return e;
    if (z->len == 0)
        return fieldf(HERR_INVALID, w, "zevents: no data");
    return HERR_OK;
}

static herr dec_sketch(struct mp_reader *r, uint32_t fields, struct sync_sketch *k, const char **w)
{
    const uint8_t *p;
    uint32_t len;
    if (fields != 2)
        return fieldf(HERR_MALFORMED, w, "sketch: wrong number of fields");
    herr e = fieldf(mp_read_bin(r, &p, &len, RECON_KEY_LEN), w, "sketch: sum is not a bin(16)");
    if (e)
        return e;
    if (len != RECON_KEY_LEN)
        return fieldf(HERR_MALFORMED, w, "sketch: sum is not a bin(16)");
    k->sum = p;
    return HERR_OK;
}

herr sync_msg_decode(struct sync_msg *m, const uint8_t *p, size_t n, const char **why)
{
    struct mp_reader r;
    uint32_t fields;
    uint64_t type = 0;
    const char *w = "malformed message";
    herr e;
    memset(m, 0, sizeof *m);
    if (n > HEARTH_MAX_FRAME) {
        e = HERR_TOO_LARGE;
        w = "message larger than the frame limit";
        goto fail;
    }
    mp_reader_init(&r, p, n);
    if ((e = fieldf(mp_read_array(&r, &fields, SYNC_MAX_HELLO_FIELDS), &w, "not a message array")))
        goto fail;
    if (fields == 0) {
        e = HERR_MALFORMED;
        w = "empty message array";
        goto fail;
    }
    if ((e = fieldf(mp_read_uint(&r, &type), &w, "message type is not an unsigned integer")))
        goto fail;
    switch (type) {
    case SYNC_HELLO:
        e = dec_hello(&r, fields, &m->u.hello, &w);
        break;
    case SYNC_SYMBOLS:
        e = dec_symbols(&r, fields, &m->u.symbols, &w);
        break;
    case SYNC_MORE:
        e = dec_more(&r, fields, &m->u.more, &w);
        break;
    case SYNC_IDS:
    case SYNC_WANT:
        e = dec_keys(&r, fields, &m->u.keys, &w);
        break;
    case SYNC_EVENTS:
        e = dec_events(&r, fields, &m->u.events, &w);
        break;
    case SYNC_DONE:
        if (fields != 1) {
            e = HERR_MALFORMED;
            w = "done: wrong number of fields";
        }
        break;
    case SYNC_ERROR:
        e = dec_error(&r, fields, &m->u.error, &w);
        break;
    case SYNC_PUSH:
        e = dec_push(&r, fields, &m->u.push, &w);
        break;
    case SYNC_ZEVENTS:
        e = dec_zevents(&r, fields, &m->u.zevents, &w);
        break;
    case SYNC_SKETCH:
        e = dec_sketch(&r, fields, &m->u.sketch, &w);
        break;
    default:
        e = HERR_PROTOCOL;
        w = "unknown message type";
        break;
    }
    if (e)
        goto fail;
    if (!mp_at_end(&r)) {
        e = HERR_MALFORMED;
        w = "trailing bytes after the message";
        goto fail;
    }
    m->type = (enum sync_type)type;
    return HERR_OK;
fail:
    memset(m, 0, sizeof *m);
    if (why)
        *why = w;
    return e;
}

int sync_msg_peek(const uint8_t *p, size_t n)
{
    int type = 0;
    if (n >= 2 && (p[0] & 0xf0) == 0x90 && p[1] < 0x80)
        type = p[1]; /* fixarray */
    else if (n >= 4 && p[0] == 0xdc && p[3] < 0x80)
        type = p[3]; /* array 16 */
    if (type == SYNC_PUSH && p[0] != 0x92)
        return 0;
    return type;
}

void sync_events_iter_init(struct sync_events_iter *it, const struct sync_events *ev)
{
    mp_reader_init(&it->r, ev->first, (size_t)(ev->end - ev->first));
    it->left = ev->n;
}

bool sync_events_next(struct sync_events_iter *it, const uint8_t **env, uint32_t *len)
{
    if (it->left == 0 || mp_read_bin(&it->r, env, len, HEARTH_MAX_EVENT) != HERR_OK)
        return false;
    it->left--;
    return true;
}

herr sync_push_decode(const uint8_t *p, size_t n, const uint8_t **env, size_t *len,
                      const char **why)
{
    struct sync_msg m;
    herr e = sync_msg_decode(&m, p, n, why);
    if (e)
        return e;
    if (m.type != SYNC_PUSH) {
        if (why)
            *why = "not a push message";
        return HERR_PROTOCOL;
    }
    *env = m.u.push.env;
    *len = m.u.push.len;
    return HERR_OK;
}

/* ---- compressed events ---- */

herr sync_zevents_inflate(ZSTD_DCtx *dctx, const struct sync_zevents *z, size_t max,
                          struct hbuf *out, const char **why)
{
    const char *w;
    unsigned long long fcs;
    hbuf_reset(out);
    /* Everything a peer claims is checked before a byte is allocated or produced. */
    if (z->size > max) {
        w = "compressed events larger than our frame once decompressed";
        goto too_large;
    }
    if (z->len < 4 || (uint32_t)z->data[0] + ((uint32_t)z->data[1] << 8) +
                              ((uint32_t)z->data[2] << 16) + ((uint32_t)z->data[3] << 24) !=
                          ZSTD_MAGICNUMBER) {
        w = "compressed events are not a zstd frame";
        goto malformed;
    }
    if (ZSTD_findFrameCompressedSize(z->data, z->len) != z->len) {
        w = "compressed events are not exactly one zstd frame";
        goto malformed;
    }
    fcs = ZSTD_getFrameContentSize(z->data, z->len);
    if (fcs == ZSTD_CONTENTSIZE_UNKNOWN || fcs == ZSTD_CONTENTSIZE_ERROR) {
        w = "compressed events do not state their size";
        goto malformed;
    }
    if (fcs > max) {
        w = "compressed events larger than our frame once decompressed";
        goto too_large;
    }
    if (fcs != z->size) {
        w = "compressed events' frame size differs from the stated size";
        goto malformed;
    }
    if (ZSTD_getDictID_fromFrame(z->data, z->len) != 0) {
        w = "compressed events name a dictionary";
        goto malformed;
    }
    unsigned wlog = 10;
    while (wlog < 31 && ((size_t)1 << wlog) < max)
        wlog++;
    ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, (int)wlog)))
        return HERR_NOMEM;
    herr e = hbuf_reserve(out, z->size);
    if (e)
        return e;
    size_t got = ZSTD_decompressDCtx(dctx, out->data, z->size, z->data, z->len);
    if (ZSTD_isError(got) || got != z->size) {
        w = ZSTD_isError(got) && ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall
                ? "compressed events decompress to more than they state"
                : "compressed events do not decompress";
        goto malformed;
    }
    out->len = got;
    return HERR_OK;
too_large:
    if (why)
        *why = w;
    return HERR_TOO_LARGE;
malformed:
    if (why)
        *why = w;
    return HERR_MALFORMED;
}

herr sync_encode_zevents(struct hbuf *out, ZSTD_CCtx *cctx, const uint8_t *msg, size_t len)
{
    size_t bound = ZSTD_compressBound(len);
    uint8_t *tmp = malloc(bound);
    if (!tmp)
        return HERR_NOMEM;
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    size_t n =
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, SYNC_ZSTD_LEVEL)) ||
                ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1)) ||
                ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0)) ||
                ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_dictIDFlag, 0))
            ? (size_t)-1
            : ZSTD_compress2(cctx, tmp, bound, msg, len);
    if (ZSTD_isError(n)) {
        free(tmp);
        return HERR_INVALID;
    }
    struct mp_writer w;
    mp_writer_init(&w, out);
    mp_write_array(&w, 3);
    mp_write_uint(&w, SYNC_ZEVENTS);
    mp_write_uint(&w, len);
    mp_write_bin(&w, tmp, n);
    free(tmp);
    return mp_writer_status(&w);
}

/* ---- encoding ---- */

herr sync_encode_sketch(struct hbuf *out, const uint8_t sum[RECON_KEY_LEN])
{
    struct mp_writer w;
    mp_writer_init(&w, out);
    mp_write_array(&w, 2);
    mp_write_uint(&w, SYNC_SKETCH);
    mp_write_bin(&w, sum, RECON_KEY_LEN);
    return mp_writer_status(&w);
}

static void write_opt_bin(struct mp_writer *w, bool has, const uint8_t *p, size_t n)
{
    if (has)
        mp_write_bin(w, p, n);
    else
        mp_write_nil(w);
}

herr sync_encode_hello(struct hbuf *out, const struct sync_hello *h)
{
    struct mp_writer w;
    mp_writer_init(&w, out);
    mp_write_array(&w, h->has_sum ? 9 : 8);
    mp_write_uint(&w, SYNC_HELLO);
    mp_write_uint(&w, h->version);
    write_opt_bin(&w, h->has_forum, h->forum, SYNC_FORUM_TAG_LEN);
    mp_write_uint(&w, h->caps);
    mp_write_uint(&w, h->frame_log2);
    mp_write_uint(&w, h->count);
    write_opt_bin(&w, h->has_fp, h->fp, RECON_FP_LEN);
    mp_write_uint(&w, h->plan);
    if (h->has_sum)
        mp_write_bin(&w, h->sum, RECON_KEY_LEN);
    return mp_writer_status(&w);
}

herr sync_encode_symbols(struct hbuf *out, uint32_t start, bool last, const uint8_t *syms,
                         uint32_t nsyms, const uint8_t *counts, uint32_t ncounts)
{
    struct mp_writer w;
    mp_writer_init(&w, out);
    mp_write_array(&w, 5);
    mp_write_uint(&w, SYNC_SYMBOLS);
    mp_write_uint(&w, start);
    mp_write_bool(&w, last);
    mp_write_bin(&w, syms, (size_t)nsyms * RECON_SYM_LEN);
    mp_write_bin(&w, counts, (size_t)ncounts * RECON_COUNT_LEN);
    return mp_writer_status(&w);
}

herr sync_encode_more(struct hbuf *out, uint32_t upto, uint32_t counts)
{
    struct mp_writer w;
    mp_writer_init(&w, out);
    mp_write_array(&w, 3);
    mp_write_uint(&w, SYNC_MORE);
    mp_write_uint(&w, upto);
    mp_write_uint(&w, counts);
    return mp_writer_status(&w);
}

herr sync_encode_keys(struct hbuf *out, enum sync_type type, bool last, const uint8_t *keys,
                      uint32_t n)
{
    struct mp_writer w;
    mp_writer_init(&w, out);
    mp_write_array(&w, 3);
    mp_write_uint(&w, type);
    mp_write_bool(&w, last);
    mp_write_bin(&w, keys, (size_t)n * RECON_KEY_LEN);
    return mp_writer_status(&w);
}

herr sync_encode_events(struct hbuf *out, const struct store_blob *envs, size_t n)
{
    struct mp_writer w;
    mp_writer_init(&w, out);
    mp_write_array(&w, 2);
    mp_write_uint(&w, SYNC_EVENTS);
    mp_write_array(&w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        mp_write_bin(&w, envs[i].p, envs[i].n);
    return mp_writer_status(&w);
}

herr sync_encode_done(struct hbuf *out)
{
    struct mp_writer w;
    mp_writer_init(&w, out);
    mp_write_array(&w, 1);
    mp_write_uint(&w, SYNC_DONE);
    return mp_writer_status(&w);
}

herr sync_encode_error(struct hbuf *out, herr code, const char *text)
{
    size_t n = strlen(text);
    if (n > SYNC_MAX_ERROR_TEXT)
        n = SYNC_MAX_ERROR_TEXT;
    /* Cut on a character boundary so that the str stays valid UTF-8. */
    while (n > 0 && n < strlen(text) && ((unsigned char)text[n] & 0xc0) == 0x80)
        n--;
    struct mp_writer w;
    mp_writer_init(&w, out);
    mp_write_array(&w, 3);
    mp_write_uint(&w, SYNC_ERROR);
    mp_write_uint(&w, (uint64_t)code);
    mp_write_str(&w, text, n);
    return mp_writer_status(&w);
}

herr sync_encode_push(struct hbuf *out, const uint8_t *env, size_t len)
{
    struct mp_writer w;
    mp_writer_init(&w, out);
    mp_write_array(&w, 2);
    mp_write_uint(&w, SYNC_PUSH);
    mp_write_bin(&w, env, len);
    return mp_writer_status(&w);
}

/* fuzz_wire.c - the sync message decoder, and a responder session, on arbitrary bytes.
 *
 * Any input is first decoded as one message: what decodes must re-encode to the same
 * bytes (the format is canonical) and every rejection must carry a reason. An input
 * that starts with "SESS" is then also played, as a sequence of messages each
 * prefixed with a 2-byte big-endian length, into a responder session over a small
 * in-memory store: no input may crash it, grow it without bound, or leave it neither
 * going on nor ended with a reason. A ZEVENTS is also decompressed with a 128 KiB
 * bound, which nothing may exceed, and what it holds decoded in turn.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/crypto.h"
#include "sync/memstore.h"
#include "sync/session.h"
#include "sync/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const struct sync_msg *m, const uint8_t *data, size_t size)
{
    struct hbuf out;
    herr e = HERR_OK;
    hbuf_init(&out, HEARTH_MAX_FRAME);
    switch (m->type) {
    case SYNC_HELLO:
        if (m->u.hello.extra) /* later fields are skipped, not kept */
            goto done;
        e = sync_encode_hello(&out, &m->u.hello);
        break;
    case SYNC_SYMBOLS:
        e = sync_encode_symbols(&out, m->u.symbols.start, m->u.symbols.last, m->u.symbols.syms,
                                m->u.symbols.nsyms, m->u.symbols.counts, m->u.symbols.ncounts);
        break;
    case SYNC_MORE:
        e = sync_encode_more(&out, m->u.more.upto, m->u.more.counts);
        break;
    case SYNC_IDS:
    case SYNC_WANT:
        e = sync_encode_keys(&out, m->type, m->u.keys.last, m->u.keys.keys, m->u.keys.n);
        break;
    case SYNC_EVENTS: {
        struct store_blob b[64];
        struct sync_events_iter it;
        size_t n = 0;
        uint32_t len;
        sync_events_iter_init(&it, &m->u.events);
        if (m->u.events.n > 64)
            goto done;
        while (n < 64 && sync_events_next(&it, &b[n].p, &len))
            b[n++].n = len;
        if (n != m->u.events.n)
            __builtin_trap();
        e = sync_encode_events(&out, b, n);
        break;
    }
    case SYNC_DONE:
        e = sync_encode_done(&out);
        break;
    case SYNC_ERROR: {
        char t[SYNC_MAX_ERROR_TEXT + 1];
        memcpy(t, m->u.error.text, m->u.error.len);
        t[m->u.error.len] = '\0';
        if (strlen(t) != m->u.error.len || m->u.error.code > 0xffffffffu)
            goto done; /* not representable by the encoder's C string and herr */
        e = sync_encode_error(&out, (herr)m->u.error.code, t);
        break;
    }
    case SYNC_PUSH:
        e = sync_encode_push(&out, m->u.push.env, m->u.push.len);
        break;
    case SYNC_ZEVENTS: {
        struct mp_writer w;
        mp_writer_init(&w, &out);
        mp_write_array(&w, 3);
        mp_write_uint(&w, SYNC_ZEVENTS);
        mp_write_uint(&w, m->u.zevents.size);
        mp_write_bin(&w, m->u.zevents.data, m->u.zevents.len);
        e = mp_writer_status(&w);
        break;
    }
    case SYNC_SKETCH:
        e = sync_encode_sketch(&out, m->u.sketch.sum);
        break;
    }
    if (e || out.len != size || memcmp(out.data, data, size) != 0)
        __builtin_trap();
done:
    hbuf_release(&out);
}

static void check_inflate(const struct sync_zevents *z)
{
    enum { MAX = 1 << 17 };
    static ZSTD_DCtx *d;
    if (!d && !(d = ZSTD_createDCtx()))
        return;
    struct hbuf out;
    hbuf_init(&out, HEARTH_MAX_FRAME);
    const char *why = NULL;
    herr e = sync_zevents_inflate(d, z, MAX, &out, &why);
    if (out.len > MAX || out.cap > MAX + 4096)
        __builtin_trap();
    if (e == HERR_OK) {
        struct sync_msg inner;
        if (out.len != z->size)
            __builtin_trap();
        if (sync_msg_decode(&inner, out.data, out.len, &why) == HERR_OK &&
            inner.type != SYNC_ZEVENTS)
            check_roundtrip(&inner, out.data, out.len);
    } else if (e != HERR_NOMEM && (!why || !*why)) {
        __builtin_trap();
    }
    hbuf_release(&out);
}

static void play_session(const uint8_t *data, size_t size)
{
    static const uint8_t forum[HEARTH_ID_LEN] = {0x42};
    struct memstore *ms = NULL;
    struct recon_index *idx = NULL;
    struct sync_session *s = NULL;
    if (memstore_new(&ms, forum) || recon_index_new(&idx))
        goto out;
    for (int i = 0; i < 40; i++) {
        uint8_t h[MEMSTORE_HEADER_LEN];
        memset(h, i + 1, sizeof h);
        if (memstore_add(ms, h, NULL))
            goto out;
    }
    if (sync_session_new_ops(&s, memstore_ops(), ms, idx, NULL))
        goto out;
    size_t pos = 4;
    while (pos + 2 <= size) {
        size_t len = (size_t)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = size - pos;
        herr e = sync_session_receive(s, data + pos, len);
        (void)e;
        pos += len;
        const uint8_t *m;
        size_t n;
        for (int k = 0; k < 10000 && sync_session_next(s, &m, &n); k++)
            if (n > HEARTH_MAX_FRAME)
                __builtin_trap();
    }
    const char *why = NULL;
    herr r = sync_session_result(s, &why);
    if (r != HERR_OK && r != HERR_STATE && (!why || !*why))
        __builtin_trap();
out:
    sync_session_destroy(&s);
    recon_index_destroy(&idx);
    memstore_destroy(&ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (crypto_start() != HERR_OK)
        return 0;
    struct sync_msg m;
    const char *why = NULL;
    if (sync_msg_decode(&m, data, size, &why) == HERR_OK) {
        check_roundtrip(&m, data, size);
        if (m.type == SYNC_ZEVENTS)
            check_inflate(&m.u.zevents);
    } else if (!why || !*why)
        __builtin_trap();
    if (size >= 4 && memcmp(data, "SESS", 4) == 0)
        play_session(data, size);
    return 0;
}

/* beacon.c - the LAN discovery beacon: its one encoder and its strict decoder. */
#include "sync/beacon.h"

#include <string.h>

#include "base/hbuf.h"
#include "base/mp.h"

void beacon_encode(const struct beacon *b, uint8_t *out, size_t *len)
{
    struct hbuf buf;
    struct mp_writer w;
    hbuf_init(&buf, BEACON_MAX);
    mp_writer_init(&w, &buf);
    mp_write_array(&w, 4);
    mp_write_uint(&w, BEACON_VERSION);
    mp_write_bin(&w, b->forum, HEARTH_ID_LEN);
    mp_write_bin(&w, b->key, HEARTH_PK_LEN);
    mp_write_uint(&w, b->port);
    /* At most 73 bytes: always fits in BEACON_MAX. */
    *len = mp_writer_status(&w) == HERR_OK ? buf.len : 0;
    if (*len)
        memcpy(out, buf.data, buf.len);
    hbuf_release(&buf);
}

herr beacon_decode(struct beacon *b, const uint8_t *p, size_t n, const char **why)
{
    struct mp_reader r;
    uint32_t count;
    uint64_t v;
    herr e;
    const char *dummy;
    if (!why)
        why = &dummy;
    mp_reader_init(&r, p, n);
    if ((e = mp_read_array(&r, &count, 16)) != HERR_OK || count < 1) {
        *why = "not a beacon";
        return e ? e : HERR_MALFORMED;
    }
    if ((e = mp_read_uint(&r, &v)) != HERR_OK) {
        *why = "beacon version is not a number";
        return e;
    }
    if (v != BEACON_VERSION) {
        *why = "unknown beacon version";
        return HERR_VERSION;
    }
    if (count != 4) {
        *why = "beacon has the wrong number of fields";
        return HERR_MALFORMED;
    }
    if ((e = mp_read_bin_fixed(&r, b->forum, HEARTH_ID_LEN)) != HERR_OK ||
        (e = mp_read_bin_fixed(&r, b->key, HEARTH_PK_LEN)) != HERR_OK) {
        *why = "beacon forum or key is not 32 bytes";
        return e;
    }
    if ((e = mp_read_uint(&r, &v)) != HERR_OK || v == 0 || v > 65535) {
        *why = "beacon port out of range";
        return e ? e : HERR_MALFORMED;
    }
    if (!mp_at_end(&r)) {
        *why = "trailing bytes after beacon";
        return HERR_MALFORMED;
    }
    b->port = (uint16_t)v;
    return HERR_OK;
}

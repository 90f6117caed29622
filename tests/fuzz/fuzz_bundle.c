/* fuzz_bundle.c - the bundle reader over arbitrary bytes (through fmemopen).
 *
 * Every item is also given to event_parse, so events inside bundles are exercised too.
 * A bundle read to its verified end must be canonical: writing its items again gives
 * back exactly the input. Any violation aborts, which libFuzzer reports as a crash.
 *
 * A mutated bundle almost never matches its trailer, which would keep the canonical
 * check out of the fuzzer's reach. So an input rejected only for its checksum is tried
 * a second time with the trailer made to fit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "store/bundle.h"
#include "store/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* rewrite - the bundle of forum with the items of items (each a uint32 length, then
 * bytes) must be exactly data. */
static void rewrite(const uint8_t *forum, const struct hbuf *items, const uint8_t *data,
                    size_t size)
{
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    struct bundle_writer *w = NULL;
    if (!f || bundle_writer_new(&w, f, forum))
        abort();
    for (size_t at = 0; at < items->len;) {
        uint32_t n;
        memcpy(&n, items->data + at, sizeof n);
        if (bundle_write(w, items->data + at + sizeof n, n))
            abort();
        at += sizeof n + n;
    }
    if (bundle_writer_finish(&w, NULL) || fclose(f) != 0)
        abort();
    if (memlen != size || memcmp(mem, data, size) != 0)
        abort();
    free(mem);
}

/* check - read the bundle data[0..size): NULL when it reads to its verified end, else
 * the reader's reason. */
static const char *check(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        abort();
    struct bundle_reader *r = NULL;
    const char *why = NULL;
    herr e = bundle_reader_new(&r, f, &why);
    if (e) {
        if (!herr_is_bad_input(e) || !why || !*why || r)
            abort();
        fclose(f);
        return why;
    }
    uint8_t forum[HEARTH_ID_LEN];
    memcpy(forum, bundle_forum(r), sizeof forum);
    struct hbuf items;
    hbuf_init(&items, (size_t)1 << 30);
    for (;;) {
        const uint8_t *env;
        size_t len;
        e = bundle_next(r, &env, &len, &why);
        if (e) {
            if (!herr_is_bad_input(e) || !why || !*why)
                abort();
            break;
        }
        if (!env)
            break;
        if (len > HEARTH_MAX_EVENT)
            abort();
        struct event ev;
        const char *ewhy = NULL;
        herr pe = event_parse(&ev, env, len, &ewhy);
        if (pe && (!herr_is_bad_input(pe) || !ewhy || !*ewhy))
            abort();
        uint32_t n = (uint32_t)len;
        if (hbuf_append(&items, &n, sizeof n) || hbuf_append(&items, env, len))
            abort();
    }
    bundle_reader_destroy(&r);
    fclose(f);
    if (!e)
        rewrite(forum, &items, data, size);
    hbuf_release(&items);
    return e ? why : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool started;
    if (!started) {
        if (crypto_start())
            abort();
        started = true;
    }
    if (size == 0)
        return 0; /* fmemopen wants a buffer */
    const char *why = check(data, size);
    if (why && strcmp(why, "bundle checksum mismatch") == 0 && size >= HEARTH_ID_LEN) {
        uint8_t *fixed = malloc(size);
        if (!fixed)
            abort();
        memcpy(fixed, data, size);
        hash_id(fixed + size - HEARTH_ID_LEN, fixed, size - HEARTH_ID_LEN - 2);
        /* Trailing bytes after the trailer also fail this way; then the fix is in the
         * wrong place and the second read fails too, which is fine. */
        (void)check(fixed, size);
        free(fixed);
    }
    return 0;
}

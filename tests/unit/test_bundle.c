/* test_bundle.c - bundle files: the vector of docs/EVENTS.md, round trips, and every
 * way a bundle can be damaged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/limits.h"
#include "store/bundle.h"
#include "store/event.h"
#include "tests/unit/testutil.h"

/* docs/EVENTS.md, section 15, "bundle": the genesis, the board and the purged post. */
static const char bundle_vector[] =
    "48454152544842319201c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a1"
    "14de989ec5010193c4559a01c0c42003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1d"
    "dc8664125531b801cf0000019000c79c0001c0c0c420b804de0b5b9ed9e71434a3eaea87c978713c"
    "392d0a05fd597a850eac81b6e22c65c440a7e8c1329f4746758c8a632a62a436c55d4d53edc2d47b"
    "ce55626acbc0a8923ace1980a53398fafee831c474de01d9f422f2b665d58a5b14a2a8b924ac540b"
    "0bc46584a561626f7574d9334b6961206f726120e28094207065657220737570706f727420666f72"
    "2074686520526976657262656e64206469737472696374a5666c61677303a4686f6c6401a46e616d"
    "65b6526976657262656e64205065657220537570706f7274c4f093c4769a01c4201062bf04a92e0a"
    "304194cdce14a856bff85c2e6c16969c74846d46a114de989ec42003a107bff3ce10be1d70dd18e7"
    "4bc09967e4d6309ba50d5f1ddc8664125531b802cf0000019000c8866002c0c0c4202b27cad0e501"
    "6162be520e33256855ff839966955295fcef6d8cdb97fb35ab1233c44015c8da6deba4fea2adfb7d"
    "6a12de6832481bc8bf71e94b58a5191260bb19730b23b0c5993f995ce0e203c40e6ba77bf5203a43"
    "7cc40e1ae273a019b4cd1dd80cc43382a561626f7574bf466f722070656f706c652077686f206361"
    "726520666f7220736f6d656f6e65a46e616d65a6436172657273c4dd93c4979a01c4201062bf04a9"
    "2e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec42029acbae141bccaf0b22e1a"
    "94d34d0bc7361e526d0bfe12c89794bc9322966dd701cf0000019000c970c003c0c420cd889b06f4"
    "86818c5082603590a35e53dc532e7e2c01f01bae6df2534798a84bc420cdfc7ada7d38453b66657a"
    "e12c3ce2aa150f471da92a241c7ce3ec776f3ae36e72c440c06043e186f1d696a5e110b47c29a462"
    "6ca309b0d198b53cb9af76aeef627c1a9a59c82ed0cce5de419b3023ec37f61c80a05dd8174630bb"
    "88a622735b9ffe0ec0c0c42095602b66bb70c3d5cc8164d98d47678243e7e3a0f5e9e68a07ea9d8d"
    "988da34b";

static const char *const vector_ids[3] = {
    "1062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989e",
    "cd889b06f486818c5082603590a35e53dc532e7e2c01f01bae6df2534798a84b",
    "a3a15b264cea598ebfab6b81975752d95f7729b5877a1286b70724fde045aa18",
};

#define MAGIC_PREAMBLE_LEN (8 + 4 + HEARTH_ID_LEN)
#define TRAILER_LEN (2 + HEARTH_ID_LEN)

static int setup(void **state)
{
    return crypto_start() ? -1 : 0;
}

static uint8_t *unhex(const char *s, size_t *n)
{
    *n = strlen(s) / 2;
    uint8_t *out = malloc(*n ? *n : 1);
    assert_non_null(out);
    assert_int_equal(hex_decode(out, *n, s), HERR_OK);
    return out;
}

/* memfile - a read stream over a copy of p[0..n). */
static FILE *memfile(const void *p, size_t n)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(p, 1, n, f), n);
    rewind(f);
    return f;
}

/* A bundle's items as read, and how reading ended. */
struct readout {
    herr err;
    const char *why;
    uint8_t forum[HEARTH_ID_LEN];
    size_t count;
    struct hbuf items; /* the items, concatenated */
    size_t lens[2048];
};

static void read_bundle(const void *p, size_t n, struct readout *out)
{
    memset(out, 0, sizeof *out);
    hbuf_init(&out->items, 1 << 28);
    FILE *f = memfile(p, n);
    struct bundle_reader *r = NULL;
    out->err = bundle_reader_new(&r, f, &out->why);
    if (out->err) {
        assert_null(r);
        fclose(f);
        return;
    }
    memcpy(out->forum, bundle_forum(r), HEARTH_ID_LEN);
    for (;;) {
        const uint8_t *env;
        size_t len;
        out->err = bundle_next(r, &env, &len, &out->why);
        if (out->err) {
            /* A failure is final. */
            const char *again;
            assert_int_equal(bundle_next(r, &env, &len, &again), out->err);
            assert_string_equal(again, out->why);
            assert_null(env);
            break;
        }
        if (!env) {
            /* And so is the verified end. */
            assert_int_equal(bundle_next(r, &env, &len, NULL), HERR_OK);
            assert_null(env);
            break;
        }
        assert_true(out->count < sizeof out->lens / sizeof out->lens[0]);
        out->lens[out->count++] = len;
        assert_int_equal(hbuf_append(&out->items, env, len), HERR_OK);
    }
    bundle_reader_destroy(&r);
    assert_null(r);
    fclose(f);
}

/* write_bundle - a bundle of the given items into *out (caller frees). */
static void write_bundle(const uint8_t forum[HEARTH_ID_LEN], const uint8_t *items,
                         const size_t *lens, size_t count, uint8_t **out, size_t *n)
{
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    struct bundle_writer *w = NULL;
    assert_int_equal(bundle_writer_new(&w, f, forum), HERR_OK);
    for (size_t i = 0, at = 0; i < count; at += lens[i], i++)
        assert_int_equal(bundle_write(w, items + at, lens[i]), HERR_OK);
    uint64_t written = 0;
    assert_int_equal(bundle_writer_finish(&w, &written), HERR_OK);
    assert_null(w);
    assert_int_equal(written, count);
    assert_int_equal(fclose(f), 0);
    *out = (uint8_t *)mem;
    *n = memlen;
}

static void test_vector_read(void **state)
{
    size_t n;
    uint8_t *b = unhex(bundle_vector, &n);
    struct readout ro;
    read_bundle(b, n, &ro);
    assert_int_equal(ro.err, HERR_OK);
    assert_int_equal(ro.count, 3);
    char hex[2 * HEARTH_ID_LEN + 1];
    hex_encode(hex, ro.forum, HEARTH_ID_LEN);
    assert_string_equal(hex, vector_ids[0]);
    /* Each item is an event of the doc, with the id the doc gives. */
    for (size_t i = 0, at = 0; i < ro.count; at += ro.lens[i], i++) {
        struct event ev;
        assert_int_equal(event_parse(&ev, ro.items.data + at, ro.lens[i], NULL), HERR_OK);
        assert_int_equal(event_verify(&ev), HERR_OK);
        assert_int_equal(event_check_forum(&ev, ro.forum), HERR_OK);
        hex_encode(hex, ev.id, HEARTH_ID_LEN);
        assert_string_equal(hex, vector_ids[i]);
    }
    hbuf_release(&ro.items);
    free(b);
}

static void test_vector_write(void **state)
{
    size_t n, m;
    uint8_t *b = unhex(bundle_vector, &n), *out;
    struct readout ro;
    read_bundle(b, n, &ro);
    assert_int_equal(ro.err, HERR_OK);
    write_bundle(ro.forum, ro.items.data, ro.lens, ro.count, &out, &m);
    assert_int_equal(m, n);
    assert_memory_equal(out, b, n);
    hbuf_release(&ro.items);
    free(out);
    free(b);
}

/* Items of every length class, including the largest allowed, come back as they went. */
static void test_roundtrip(void **state)
{
    const size_t sizes[] = {0, 1, 255, 256, 65535, 65536, HEARTH_MAX_EVENT, 7, 300};
    enum { N = 1000 };
    size_t lens[N], total = 0;
    for (size_t i = 0; i < N; i++) {
        lens[i] = i < sizeof sizes / sizeof sizes[0] ? sizes[i] : (i * 7919) % 700;
        total += lens[i];
    }
    uint8_t *items = malloc(total);
    assert_non_null(items);
    for (size_t i = 0; i < total; i++)
        items[i] = (uint8_t)(i * 31 + (i >> 8));
    uint8_t forum[HEARTH_ID_LEN];
    memset(forum, 0x5a, sizeof forum);
    uint8_t *b;
    size_t n;
    write_bundle(forum, items, lens, N, &b, &n);
    struct readout ro;
    read_bundle(b, n, &ro);
    assert_int_equal(ro.err, HERR_OK);
    assert_int_equal(ro.count, N);
    assert_memory_equal(ro.forum, forum, HEARTH_ID_LEN);
    assert_memory_equal(ro.lens, lens, sizeof lens);
    assert_int_equal(ro.items.len, total);
    assert_memory_equal(ro.items.data, items, total);
    hbuf_release(&ro.items);
    free(items);
    free(b);
}

static void test_empty(void **state)
{
    uint8_t forum[HEARTH_ID_LEN] = {1, 2, 3};
    uint8_t *b;
    size_t n;
    write_bundle(forum, NULL, NULL, 0, &b, &n);
    assert_int_equal(n, MAGIC_PREAMBLE_LEN + 1 + TRAILER_LEN);
    assert_memory_equal(b, "HEARTHB1\x92\x01\xc4\x20", 12);
    assert_memory_equal(b + 12, forum, HEARTH_ID_LEN);
    assert_memory_equal(b + MAGIC_PREAMBLE_LEN, "\xc0\xc4\x20", 3);
    uint8_t sum[HEARTH_ID_LEN];
    hash_id(sum, b, MAGIC_PREAMBLE_LEN + 1);
    assert_memory_equal(b + n - HEARTH_ID_LEN, sum, HEARTH_ID_LEN);
    struct readout ro;
    read_bundle(b, n, &ro);
    assert_int_equal(ro.err, HERR_OK);
    assert_int_equal(ro.count, 0);
    hbuf_release(&ro.items);
    free(b);
}

/* Cut at every byte: an error, never the verified end (and, under ASan, no bad read). */
static void test_truncated(void **state)
{
    size_t n;
    uint8_t *b = unhex(bundle_vector, &n);
    for (size_t cut = 0; cut < n; cut++) {
        struct readout ro;
        read_bundle(b, cut, &ro);
        assert_int_equal(ro.err, HERR_MALFORMED);
        assert_string_equal(ro.why, cut == 0 ? "not a hearth bundle" : "truncated bundle");
        hbuf_release(&ro.items);
    }
    free(b);
}

/* Flip every byte: always an error; inside the forum or an item it is the checksum
 * that catches it. */
static void test_flipped(void **state)
{
    size_t n;
    uint8_t *b = unhex(bundle_vector, &n);
    struct readout good;
    read_bundle(b, n, &good);
    /* Where the payloads are: after the preamble, each item's header then bytes. */
    bool payload[1024] = {false};
    assert_true(n <= sizeof payload);
    for (size_t i = 12; i < MAGIC_PREAMBLE_LEN; i++)
        payload[i] = true;
    size_t at = MAGIC_PREAMBLE_LEN;
    for (size_t i = 0; i < good.count; i++) {
        at += good.lens[i] < 256 ? 2 : 3;
        for (size_t j = 0; j < good.lens[i]; j++)
            payload[at + j] = true;
        at += good.lens[i];
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t flips[] = {0x01, 0x80, 0xff};
        for (size_t k = 0; k < sizeof flips; k++) {
            b[i] ^= flips[k];
            struct readout ro;
            read_bundle(b, n, &ro);
            b[i] ^= flips[k];
            if (ro.err == HERR_OK)
                fail_msg("byte %zu ^ %02x: accepted", i, flips[k]);
            if (payload[i] || i >= n - HEARTH_ID_LEN)
                assert_string_equal(ro.why, "bundle checksum mismatch");
            hbuf_release(&ro.items);
        }
    }
    hbuf_release(&good.items);
    free(b);
}

static void expect_read(const void *p, size_t n, herr code, const char *why, int line)
{
    struct readout ro;
    read_bundle(p, n, &ro);
    if (ro.err != code || strcmp(ro.why, why) != 0)
        fail_msg("line %d: got %s \"%s\", want %s \"%s\"", line, herr_str(ro.err), ro.why,
                 herr_str(code), why);
    hbuf_release(&ro.items);
}
#define EXPECT_READ(p, n, code, why) expect_read(p, n, code, why, __LINE__)

static void test_wrong_magic(void **state)
{
    const char *bad[] = {"HEARTHB2", "hearthb1", "\x7f\x45LF\x02\x01\x01", "PK\x03\x04", "HEARTHB"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[128];
        memset(buf, 0, sizeof buf);
        memcpy(buf, bad[i], strlen(bad[i]));
        EXPECT_READ(buf, sizeof buf, HERR_MALFORMED, "not a hearth bundle");
    }
    EXPECT_READ("", 0, HERR_MALFORMED, "not a hearth bundle");
    EXPECT_READ("H", 1, HERR_MALFORMED, "truncated bundle");
    EXPECT_READ("X", 1, HERR_MALFORMED, "not a hearth bundle");
}

/* prefix - magic, then the given preamble bytes, then more. */
static size_t prefix(uint8_t *buf, const void *pre, size_t pn, const void *more, size_t mn)
{
    memcpy(buf, "HEARTHB1", 8);
    memcpy(buf + 8, pre, pn);
    memcpy(buf + 8 + pn, more, mn);
    return 8 + pn + mn;
}

static void test_wrong_version(void **state)
{
    uint8_t buf[256], forum[2 + HEARTH_ID_LEN] = {0xc4, 0x20};
    const struct {
        const char *pre;
        size_t n;
        herr code;
        const char *why;
    } cases[] = {
        {"\x92\x02", 2, HERR_VERSION, "unsupported bundle version"},
        {"\x92\x00", 2, HERR_VERSION, "unsupported bundle version"},
        {"\x92\x7f", 2, HERR_VERSION, "unsupported bundle version"},
        {"\x91\x02", 2, HERR_VERSION, "unsupported bundle version"},
        {"\x95\x02", 2, HERR_VERSION, "unsupported bundle version"},
        {"\x92\xcc\x80", 3, HERR_VERSION, "unsupported bundle version"},
        {"\x92\xcd\x01\x00", 4, HERR_VERSION, "unsupported bundle version"},
        {"\x92\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 10, HERR_VERSION,
         "unsupported bundle version"},
        {"\x92\xcc\x01", 3, HERR_NONCANONICAL, "corrupt bundle preamble"},
        {"\x92\xce\x00\x00\x00\x01", 6, HERR_NONCANONICAL, "corrupt bundle preamble"},
        {"\x92\xa1\x31", 3, HERR_MALFORMED, "corrupt bundle preamble"},
        {"\x92\xd0\x01", 3, HERR_MALFORMED, "corrupt bundle preamble"},
        {"\x90", 1, HERR_MALFORMED, "corrupt bundle preamble"},
        {"\x82\x01", 2, HERR_MALFORMED, "corrupt bundle preamble"},
        {"\xdc\x00\x02\x01", 4, HERR_MALFORMED, "corrupt bundle preamble"},
        {"\x93\x01", 2, HERR_MALFORMED, "corrupt bundle preamble"},
        {"\x91\x01", 2, HERR_MALFORMED, "corrupt bundle preamble"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = prefix(buf, cases[i].pre, cases[i].n, forum, sizeof forum);
        EXPECT_READ(buf, n, cases[i].code, cases[i].why);
    }
    /* The forum is a bin of exactly 32. */
    uint8_t short_forum[2 + 31] = {0xc4, 31};
    size_t n = prefix(buf, "\x92\x01", 2, short_forum, sizeof short_forum);
    EXPECT_READ(buf, n, HERR_MALFORMED, "corrupt bundle preamble");
    n = prefix(buf, "\x92\x01", 2, "\xc5\x00\x20", 3);
    EXPECT_READ(buf, n, HERR_MALFORMED, "corrupt bundle preamble");
}

/* An item header after a valid preamble; nothing needs to follow, because the reader
 * must refuse it before reading (or allocating) anything of the payload. */
static void test_item_headers(void **state)
{
    uint8_t buf[256], pre[4 + HEARTH_ID_LEN] = {0x92, 0x01, 0xc4, 0x20};
    const struct {
        const char *item;
        size_t n;
        herr code;
        const char *why;
    } cases[] = {
        {"\xc6\x00\x01\x02\x99", 5, HERR_TOO_LARGE, "event too large in bundle"},
        {"\xc6\xff\xff\xff\xff", 5, HERR_TOO_LARGE, "event too large in bundle"},
        {"\xc6\x80\x00\x00\x00", 5, HERR_TOO_LARGE, "event too large in bundle"},
        {"\xc5\x00\x10", 3, HERR_NONCANONICAL, "non-canonical item length in bundle"},
        {"\xc5\x00\xff", 3, HERR_NONCANONICAL, "non-canonical item length in bundle"},
        {"\xc6\x00\x00\xff\xff", 5, HERR_NONCANONICAL, "non-canonical item length in bundle"},
        {"\xc6\x00\x01\x02\x98", 5, HERR_MALFORMED, "truncated bundle"},
        {"\xc5\x01\x00", 3, HERR_MALFORMED, "truncated bundle"},
        {"\xa1x", 2, HERR_MALFORMED, "corrupt bundle: expected an event or the end"},
        {"\x93", 1, HERR_MALFORMED, "corrupt bundle: expected an event or the end"},
        {"\xc3", 1, HERR_MALFORMED, "corrupt bundle: expected an event or the end"},
        {"\xc0\xc5\x00\x20", 4, HERR_MALFORMED, "corrupt bundle trailer"},
        {"\xc0\xc4\x1f", 3, HERR_MALFORMED, "corrupt bundle trailer"},
        {"\xc0\xc4", 2, HERR_MALFORMED, "truncated bundle"},
        {"\xc0\xc4\x20\x01\x02", 5, HERR_MALFORMED, "truncated bundle"},
        {"\xc0", 1, HERR_MALFORMED, "truncated bundle"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = prefix(buf, pre, sizeof pre, cases[i].item, cases[i].n);
        EXPECT_READ(buf, n, cases[i].code, cases[i].why);
    }
    /* A trailer of the wrong length, complete with 32 bytes after it. */
    uint8_t item[3 + 40] = {0xc0, 0xc4, 0x1f};
    size_t n = prefix(buf, pre, sizeof pre, item, sizeof item);
    EXPECT_READ(buf, n, HERR_MALFORMED, "corrupt bundle trailer");
}

static void test_trailing(void **state)
{
    size_t n;
    uint8_t *b = unhex(bundle_vector, &n);
    uint8_t *more = malloc(n + 100);
    assert_non_null(more);
    memcpy(more, b, n);
    memset(more + n, 0, 100);
    EXPECT_READ(more, n + 1, HERR_MALFORMED, "trailing bytes after bundle");
    EXPECT_READ(more, n + 100, HERR_MALFORMED, "trailing bytes after bundle");
    /* A second bundle glued on is trailing bytes too. */
    uint8_t *two = malloc(2 * n);
    assert_non_null(two);
    memcpy(two, b, n);
    memcpy(two + n, b, n);
    EXPECT_READ(two, 2 * n, HERR_MALFORMED, "trailing bytes after bundle");
    free(two);
    free(more);
    free(b);
}

static void test_writer_limits(void **state)
{
    uint8_t forum[HEARTH_ID_LEN] = {9};
    uint8_t *big = calloc(1, HEARTH_MAX_EVENT + 1);
    assert_non_null(big);
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    struct bundle_writer *w = NULL;
    assert_int_equal(bundle_writer_new(&w, f, forum), HERR_OK);
    assert_int_equal(bundle_write(w, big, HEARTH_MAX_EVENT + 1), HERR_TOO_LARGE);
    assert_int_equal(bundle_write(w, big, 10), HERR_OK);
    uint64_t count = 0;
    assert_int_equal(bundle_writer_finish(&w, &count), HERR_OK);
    assert_int_equal(count, 1);
    assert_int_equal(fclose(f), 0);
    /* The refused item left no trace. */
    struct readout ro;
    read_bundle(mem, memlen, &ro);
    assert_int_equal(ro.err, HERR_OK);
    assert_int_equal(ro.count, 1);
    assert_int_equal(ro.lens[0], 10);
    hbuf_release(&ro.items);
    free(mem);
    free(big);
}

static void test_writer_abandoned(void **state)
{
    uint8_t forum[HEARTH_ID_LEN] = {9};
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    struct bundle_writer *w = NULL;
    assert_int_equal(bundle_writer_new(&w, f, forum), HERR_OK);
    assert_int_equal(bundle_write(w, (const uint8_t *)"abc", 3), HERR_OK);
    bundle_writer_destroy(&w);
    assert_null(w);
    bundle_writer_destroy(&w); /* NULL-safe */
    assert_int_equal(fclose(f), 0);
    EXPECT_READ(mem, memlen, HERR_MALFORMED, "truncated bundle");
    free(mem);
}

static void test_writer_full(void **state)
{
    FILE *f = fopen("/dev/full", "wb");
    if (!f) {
        skip();
        return;
    }
    uint8_t forum[HEARTH_ID_LEN] = {0};
    uint8_t item[1000] = {0};
    struct bundle_writer *w = NULL;
    herr e = bundle_writer_new(&w, f, forum);
    /* The stream buffers, so the failure shows at the latest when it is flushed. */
    for (int i = 0; !e && i < 100; i++)
        e = bundle_write(w, item, sizeof item);
    if (!e)
        e = bundle_writer_finish(&w, NULL);
    else
        bundle_writer_destroy(&w);
    assert_int_equal(e, HERR_FULL);
    assert_null(w);
    fclose(f);
}

static void test_reader_new_null_why(void **state)
{
    FILE *f = memfile("nope", 4);
    struct bundle_reader *r = (struct bundle_reader *)1;
    assert_int_equal(bundle_reader_new(&r, f, NULL), HERR_MALFORMED);
    assert_null(r);
    bundle_reader_destroy(&r);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_read),   cmocka_unit_test(test_vector_write),
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_empty),
        cmocka_unit_test(test_truncated),     cmocka_unit_test(test_flipped),
        cmocka_unit_test(test_wrong_magic),   cmocka_unit_test(test_wrong_version),
        cmocka_unit_test(test_item_headers),  cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_writer_limits), cmocka_unit_test(test_writer_abandoned),
        cmocka_unit_test(test_writer_full),   cmocka_unit_test(test_reader_new_null_why),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

/* test_mp.c - the canonical msgpack reader's strictness and the writer's round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mp.h"
#include "base/utf8.h"
#include "tests/unit/testutil.h"

/* A byte string written as a C literal, with its length. */
struct bytes {
    const char *p;
    size_t n;
};
#define B(lit) ((struct bytes){lit, sizeof(lit) - 1})

/* read_one - read one value of type t from b with max (for lengths and counts);
 * checks that the cursor is unmoved on failure and at the end on success. */
static herr read_one(enum mp_type t, struct bytes b, uint32_t max)
{
    struct mp_reader r;
    mp_reader_init(&r, b.p, b.n);
    const uint8_t *before = r.pos;
    uint64_t u;
    uint32_t n;
    bool v;
    const char *s;
    const uint8_t *p;
    herr e;
    switch (t) {
    case MP_NIL:
        e = mp_read_nil(&r);
        break;
    case MP_BOOL:
        e = mp_read_bool(&r, &v);
        break;
    case MP_UINT:
        e = mp_read_uint(&r, &u);
        break;
    case MP_STR:
        e = mp_read_str(&r, &s, &n, max);
        break;
    case MP_BIN:
        e = mp_read_bin(&r, &p, &n, max);
        break;
    case MP_ARRAY:
        e = mp_read_array(&r, &n, max);
        break;
    case MP_MAP:
        e = mp_read_map(&r, &n, max);
        break;
    default:
        fail_msg("bad type");
        return HERR_USAGE;
    }
    if (e)
        assert_ptr_equal(r.pos, before);
    return e;
}

static uint64_t read_uint_ok(struct bytes b)
{
    struct mp_reader r;
    uint64_t v = 0;
    mp_reader_init(&r, b.p, b.n);
    assert_int_equal(mp_read_uint(&r, &v), HERR_OK);
    assert_true(mp_at_end(&r));
    return v;
}

static void test_uint_shortest(void **state)
{
    assert_int_equal(read_uint_ok(B("\x00")), 0);
    assert_int_equal(read_uint_ok(B("\x7f")), 127);
    assert_int_equal(read_uint_ok(B("\xcc\x80")), 128);
    assert_int_equal(read_uint_ok(B("\xcc\xff")), 255);
    assert_int_equal(read_uint_ok(B("\xcd\x01\x00")), 256);
    assert_int_equal(read_uint_ok(B("\xcd\xff\xff")), 65535);
    assert_int_equal(read_uint_ok(B("\xce\x00\x01\x00\x00")), 65536);
    assert_int_equal(read_uint_ok(B("\xce\xff\xff\xff\xff")), 0xffffffffULL);
    assert_int_equal(read_uint_ok(B("\xcf\x00\x00\x00\x01\x00\x00\x00\x00")), 0x100000000ULL);
    assert_true(read_uint_ok(B("\xcf\xff\xff\xff\xff\xff\xff\xff\xff")) == UINT64_MAX);
}

static void test_uint_noncanonical(void **state)
{
    /* Every value that fits a shorter form, at both ends of the range. */
    struct bytes bad[] = {
        B("\xcc\x00"),
        B("\xcc\x05"),
        B("\xcc\x7f"),
        B("\xcd\x00\x00"),
        B("\xcd\x00\x7f"),
        B("\xcd\x00\xff"),
        B("\xce\x00\x00\x00\x00"),
        B("\xce\x00\x00\x00\xff"),
        B("\xce\x00\x00\xff\xff"),
        B("\xcf\x00\x00\x00\x00\x00\x00\x00\x00"),
        B("\xcf\x00\x00\x00\x00\x00\x00\x00\x7f"),
        B("\xcf\x00\x00\x00\x00\x00\x00\xff\xff"),
        B("\xcf\x00\x00\x00\x00\xff\xff\xff\xff"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(read_one(MP_UINT, bad[i], 0), HERR_NONCANONICAL);
    /* Every one-byte value written as uint8: only 0x80.. are canonical. */
    for (unsigned v = 0; v < 256; v++) {
        char buf[2] = {(char)0xcc, (char)v};
        assert_int_equal(read_one(MP_UINT, (struct bytes){buf, 2}, 0),
                         v < 0x80 ? HERR_NONCANONICAL : HERR_OK);
    }
}

/* hdr_then - a header (hlen bytes of h) followed by n filler bytes. */
static struct bytes hdr_then(uint8_t *buf, const char *h, size_t hlen, size_t n, char fill)
{
    memcpy(buf, h, hlen);
    memset(buf + hlen, fill, n);
    return (struct bytes){(const char *)buf, hlen + n};
}

static void test_lengths_noncanonical(void **state)
{
    static uint8_t buf[140000];
    /* str: fixstr up to 31, str8 from 32, str16 from 256, str32 from 65536. */
    assert_int_equal(read_one(MP_STR, hdr_then(buf, "\xd9\x00", 2, 0, 'a'), 1000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_STR, hdr_then(buf, "\xd9\x1f", 2, 31, 'a'), 1000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_STR, hdr_then(buf, "\xd9\x20", 2, 32, 'a'), 1000), HERR_OK);
    assert_int_equal(read_one(MP_STR, hdr_then(buf, "\xda\x00\x05", 3, 5, 'a'), 1000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_STR, hdr_then(buf, "\xda\x00\xff", 3, 255, 'a'), 1000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_STR, hdr_then(buf, "\xda\x01\x00", 3, 256, 'a'), 1000), HERR_OK);
    assert_int_equal(read_one(MP_STR, hdr_then(buf, "\xdb\x00\x00\x00\x01", 5, 1, 'a'), 1000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_STR, hdr_then(buf, "\xdb\x00\x00\xff\xff", 5, 65535, 'a'), 70000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_STR, hdr_then(buf, "\xdb\x00\x01\x00\x00", 5, 65536, 'a'), 70000),
                     HERR_OK);

    /* bin: no fix form, so bin8 of 0 is canonical; bin16 from 256, bin32 from 65536. */
    assert_int_equal(read_one(MP_BIN, hdr_then(buf, "\xc4\x00", 2, 0, 0), 1000), HERR_OK);
    assert_int_equal(read_one(MP_BIN, hdr_then(buf, "\xc5\x00\x00", 3, 0, 0), 1000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_BIN, hdr_then(buf, "\xc5\x00\xff", 3, 255, 0), 1000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_BIN, hdr_then(buf, "\xc5\x01\x00", 3, 256, 0), 1000), HERR_OK);
    assert_int_equal(read_one(MP_BIN, hdr_then(buf, "\xc6\x00\x00\x00\x20", 5, 32, 0), 1000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_BIN, hdr_then(buf, "\xc6\x00\x00\xff\xff", 5, 65535, 0), 70000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_BIN, hdr_then(buf, "\xc6\x00\x01\x00\x00", 5, 65536, 0), 70000),
                     HERR_OK);

    /* array and map: fix up to 15, 16-bit from 16, 32-bit from 65536. */
    assert_int_equal(read_one(MP_ARRAY, hdr_then(buf, "\xdc\x00\x00", 3, 0, 1), 100000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_ARRAY, hdr_then(buf, "\xdc\x00\x0f", 3, 15, 1), 100000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_ARRAY, hdr_then(buf, "\xdc\x00\x10", 3, 16, 1), 100000), HERR_OK);
    assert_int_equal(read_one(MP_ARRAY, hdr_then(buf, "\xdd\x00\x00\x00\x03", 5, 3, 1), 100000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_ARRAY, hdr_then(buf, "\xdd\x00\x00\xff\xff", 5, 65535, 1), 100000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_ARRAY, hdr_then(buf, "\xdd\x00\x01\x00\x00", 5, 65536, 1), 100000),
                     HERR_OK);
    assert_int_equal(read_one(MP_MAP, hdr_then(buf, "\xde\x00\x01", 3, 2, 1), 100000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_MAP, hdr_then(buf, "\xde\x00\x0f", 3, 30, 1), 100000),
                     HERR_NONCANONICAL);
    assert_int_equal(read_one(MP_MAP, hdr_then(buf, "\xde\x00\x10", 3, 32, 1), 100000), HERR_OK);
    assert_int_equal(read_one(MP_MAP, hdr_then(buf, "\xdf\x00\x00\x00\x02", 5, 4, 1), 100000),
                     HERR_NONCANONICAL);
    assert_int_equal(
        read_one(MP_MAP, hdr_then(buf, "\xdf\x00\x00\xff\xff", 5, 65535 * 2, 1), 100000),
        HERR_NONCANONICAL);
}

/* skip_value - consume one whole value, recursing into containers. */
static herr skip_value(struct mp_reader *r, int depth)
{
    const char *s;
    const uint8_t *p;
    uint32_t n;
    uint64_t u;
    bool v;
    herr e;
    if (depth > 8)
        return HERR_TOO_LARGE;
    switch (mp_peek(r)) {
    case MP_NIL:
        return mp_read_nil(r);
    case MP_BOOL:
        return mp_read_bool(r, &v);
    case MP_UINT:
        return mp_read_uint(r, &u);
    case MP_STR:
        return mp_read_str(r, &s, &n, UINT32_MAX);
    case MP_BIN:
        return mp_read_bin(r, &p, &n, UINT32_MAX);
    case MP_ARRAY:
    case MP_MAP: {
        bool map = mp_peek(r) == MP_MAP;
        e = map ? mp_read_map(r, &n, UINT32_MAX) : mp_read_array(r, &n, UINT32_MAX);
        if (e)
            return e;
        for (uint64_t i = 0; i < (map ? 2ULL * n : n); i++)
            if ((e = skip_value(r, depth + 1)) != HERR_OK)
                return e;
        return HERR_OK;
    }
    default:
        return HERR_MALFORMED;
    }
}

static void test_truncation(void **state)
{
    struct bytes whole[] = {
        B("\xcc\x80"),
        B("\xcd\x01\x00"),
        B("\xce\x00\x01\x00\x00"),
        B("\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
        B("\xa3"
          "abc"),
        B("\xd9\x20"
          "0123456789abcdef0123456789abcdef"),
        B("\xc4\x03\x01\x02\x03"),
        B("\x93\x01\xc0\xc3"),
        B("\x82\xa1"
          "a\x01\xa1"
          "b\x92\xc4\x01\x00\xa2\xc3\xa9"),
        B("\x93\xc4\x05"
          "hello\xc4\x02xy\x81\xa1k\xcd\x12\x34"),
    };
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
        struct mp_reader r;
        mp_reader_init(&r, whole[i].p, whole[i].n);
        assert_int_equal(skip_value(&r, 0), HERR_OK);
        assert_true(mp_at_end(&r));
        /* Each cut leaves a value that cannot be read whole. The buffer is copied so
         * that ASan sees a read past the cut. */
        for (size_t cut = 0; cut < whole[i].n; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            assert_non_null(copy);
            memcpy(copy, whole[i].p, cut);
            mp_reader_init(&r, copy, cut);
            assert_int_equal(skip_value(&r, 0), HERR_MALFORMED);
            free(copy);
        }
    }
    /* Each single-value reader on an empty input. */
    struct bytes empty = {"", 0};
    enum mp_type types[] = {MP_NIL, MP_BOOL, MP_UINT, MP_STR, MP_BIN, MP_ARRAY, MP_MAP};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        assert_int_equal(read_one(types[i], empty, 100), HERR_MALFORMED);
}

static void test_declared_longer_than_input(void **state)
{
    assert_int_equal(read_one(MP_STR,
                              B("\xa5"
                                "abc"),
                              100),
                     HERR_MALFORMED);
    assert_int_equal(read_one(MP_STR,
                              B("\xd9\x40"
                                "0123456789"),
                              100),
                     HERR_MALFORMED);
    assert_int_equal(read_one(MP_STR,
                              B("\xdb\xff\xff\xff\xff"
                                "abc"),
                              UINT32_MAX),
                     HERR_MALFORMED);
    assert_int_equal(read_one(MP_BIN, B("\xc4\x10\x01\x02"), 100), HERR_MALFORMED);
    assert_int_equal(read_one(MP_BIN, B("\xc6\xff\xff\xff\xff\x00"), UINT32_MAX), HERR_MALFORMED);
    /* A container's count must fit the bytes left: one per element, two per pair. */
    assert_int_equal(read_one(MP_ARRAY, B("\x93\x01\x02"), 100), HERR_MALFORMED);
    assert_int_equal(read_one(MP_ARRAY, B("\x93\x01\x02\x03"), 100), HERR_OK);
    assert_int_equal(read_one(MP_ARRAY, B("\xdd\xff\xff\xff\xff\x01"), UINT32_MAX), HERR_MALFORMED);
    assert_int_equal(read_one(MP_MAP, B("\x82\x01\x02\x03"), 100), HERR_MALFORMED);
    assert_int_equal(read_one(MP_MAP, B("\x82\x01\x02\x03\x04"), 100), HERR_OK);
    assert_int_equal(read_one(MP_MAP, B("\xdf\x80\x00\x00\x00\x01\x02"), UINT32_MAX),
                     HERR_MALFORMED);
    /* A length's own bytes cut short. */
    assert_int_equal(read_one(MP_STR, B("\xda\x01"), 100), HERR_MALFORMED);
    assert_int_equal(read_one(MP_BIN, B("\xc6\x00\x00\x01"), 100), HERR_MALFORMED);
    assert_int_equal(read_one(MP_ARRAY, B("\xdc\x00"), 100), HERR_MALFORMED);
}

static void test_above_max(void **state)
{
    assert_int_equal(read_one(MP_STR, B("\xa5hello"), 4), HERR_TOO_LARGE);
    assert_int_equal(read_one(MP_STR, B("\xa5hello"), 5), HERR_OK);
    assert_int_equal(read_one(MP_BIN, B("\xc4\x03\x01\x02\x03"), 2), HERR_TOO_LARGE);
    assert_int_equal(read_one(MP_BIN, B("\xc4\x03\x01\x02\x03"), 3), HERR_OK);
    assert_int_equal(read_one(MP_ARRAY, B("\x93\x01\x02\x03"), 2), HERR_TOO_LARGE);
    assert_int_equal(read_one(MP_ARRAY, B("\x93\x01\x02\x03"), 3), HERR_OK);
    assert_int_equal(read_one(MP_MAP, B("\x82\x01\x02\x03\x04"), 1), HERR_TOO_LARGE);
    assert_int_equal(read_one(MP_MAP, B("\x82\x01\x02\x03\x04"), 2), HERR_OK);
    /* The maximum is checked before the bytes left: a huge count is "too large". */
    assert_int_equal(read_one(MP_ARRAY, B("\xdd\xff\xff\xff\xff"), 64), HERR_TOO_LARGE);
    assert_int_equal(read_one(MP_BIN, B("\xc6\xff\xff\xff\xff"), 65536), HERR_TOO_LARGE);
}

static void test_bin_fixed(void **state)
{
    uint8_t out[4];
    struct mp_reader r;
    mp_reader_init(&r, "\xc4\x04\x01\x02\x03\x04", 6);
    assert_int_equal(mp_read_bin_fixed(&r, out, 4), HERR_OK);
    assert_memory_equal(out, "\x01\x02\x03\x04", 4);
    mp_reader_init(&r, "\xc4\x03\x01\x02\x03", 5);
    assert_int_equal(mp_read_bin_fixed(&r, out, 4), HERR_MALFORMED);
    mp_reader_init(&r, "\xc4\x05\x01\x02\x03\x04\x05", 7);
    assert_int_equal(mp_read_bin_fixed(&r, out, 4), HERR_MALFORMED);
    assert_true(mp_peek(&r) == MP_BIN); /* unmoved */
}

struct utf8_case {
    const char *s;
    size_t n;
    bool ok;
};
#define U(lit, ok)                                                                                 \
    {                                                                                              \
        lit, sizeof(lit) - 1, ok                                                                   \
    }

static void test_utf8(void **state)
{
    const struct utf8_case cases[] = {
        U("", true),
        U("plain ascii", true),
        U("\xc3\xa9", true),              /* é */
        U("\xe2\x82\xac", true),          /* € */
        U("\xf0\x9f\x98\x80", true),      /* U+1F600 */
        U("\xed\x9f\xbf", true),          /* U+D7FF, just below the surrogates */
        U("\xee\x80\x80", true),          /* U+E000, just above */
        U("\xf4\x8f\xbf\xbf", true),      /* U+10FFFF */
        U("\xc2\x80", true),              /* U+0080, the least two-byte form */
        U("\x00", false),                 /* NUL */
        U("a\x00z", false),               /* NUL inside */
        U("\xc0\x80", false),             /* overlong NUL */
        U("\xc1\xbf", false),             /* overlong */
        U("\xe0\x80\x80", false),         /* overlong */
        U("\xe0\x9f\xbf", false),         /* overlong U+07FF */
        U("\xf0\x80\x80\x80", false),     /* overlong */
        U("\xf0\x8f\xbf\xbf", false),     /* overlong U+FFFF */
        U("\xed\xa0\x80", false),         /* U+D800 surrogate */
        U("\xed\xbf\xbf", false),         /* U+DFFF surrogate */
        U("\xf4\x90\x80\x80", false),     /* U+110000 */
        U("\xf5\x80\x80\x80", false),     /* lead byte above U+10FFFF */
        U("\xf8\x88\x80\x80\x80", false), /* five-byte form */
        U("\xff", false),
        U("\x80", false), /* stray continuation */
        U("a\xbf", false),
        U("\xe2\x82", false),     /* truncated */
        U("\xf0\x9f\x98", false), /* truncated */
        U("\xc3", false),         /* truncated */
        U("\xc3\x28", false),     /* bad continuation */
        U("\xe2\x28\xa1", false),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(utf8_valid(cases[i].s, cases[i].n), cases[i].ok);
        /* The same through mp_read_str: invalid text is non-canonical. */
        uint8_t buf[16];
        buf[0] = (uint8_t)(0xa0 | cases[i].n);
        memcpy(buf + 1, cases[i].s, cases[i].n);
        assert_int_equal(read_one(MP_STR, (struct bytes){(const char *)buf, cases[i].n + 1}, 100),
                         cases[i].ok ? HERR_OK : HERR_NONCANONICAL);
    }
}

static void test_outside_subset(void **state)
{
    /* Signed ints, floats, ext and the reserved byte: none is any type we read. */
    struct bytes other[] = {
        B("\xe0"),
        B("\xff"),
        B("\xd0\x05"),
        B("\xd1\x00\x05"),
        B("\xd2\x00\x00\x00\x05"),
        B("\xd3\x00\x00\x00\x00\x00\x00\x00\x05"),
        B("\xca\x3f\x80\x00\x00"),
        B("\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"),
        B("\xc7\x01\x01\x00"),
        B("\xc8\x00\x01\x01\x00"),
        B("\xc9\x00\x00\x00\x01\x01\x00"),
        B("\xd4\x01\x00"),
        B("\xd5\x01\x00\x00"),
        B("\xd6\x01\x00\x00\x00\x00"),
        B("\xd7\x01\x00\x00\x00\x00\x00\x00\x00\x00"),
        B("\xd8\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
        B("\xc1"),
    };
    enum mp_type types[] = {MP_NIL, MP_BOOL, MP_UINT, MP_STR, MP_BIN, MP_ARRAY, MP_MAP};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        struct mp_reader r;
        mp_reader_init(&r, other[i].p, other[i].n);
        assert_int_equal(mp_peek(&r), MP_OTHER);
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
            assert_int_equal(read_one(types[t], other[i], UINT32_MAX), HERR_MALFORMED);
    }
    /* Every first byte is classified as exactly what it is. */
    for (unsigned b = 0; b < 256; b++) {
        uint8_t c = (uint8_t)b;
        struct mp_reader r;
        mp_reader_init(&r, &c, 1);
        enum mp_type t = mp_peek(&r);
        enum mp_type want = b <= 0x7f                ? MP_UINT
                            : b <= 0x8f              ? MP_MAP
                            : b <= 0x9f              ? MP_ARRAY
                            : b <= 0xbf              ? MP_STR
                            : b == 0xc0              ? MP_NIL
                            : b == 0xc2 || b == 0xc3 ? MP_BOOL
                            : b >= 0xc4 && b <= 0xc6 ? MP_BIN
                            : b >= 0xcc && b <= 0xcf ? MP_UINT
                            : b >= 0xd9 && b <= 0xdb ? MP_STR
                            : b == 0xdc || b == 0xdd ? MP_ARRAY
                            : b == 0xde || b == 0xdf ? MP_MAP
                                                     : MP_OTHER;
        assert_int_equal(t, want);
    }
}

static void test_nil_bool(void **state)
{
    struct mp_reader r;
    bool v = true;
    mp_reader_init(&r, "\xc0\xc2\xc3", 3);
    assert_int_equal(mp_read_bool(&r, &v), HERR_MALFORMED);
    assert_int_equal(mp_read_nil(&r), HERR_OK);
    assert_int_equal(mp_read_nil(&r), HERR_MALFORMED);
    assert_int_equal(mp_read_bool(&r, &v), HERR_OK);
    assert_false(v);
    assert_int_equal(mp_read_bool(&r, &v), HERR_OK);
    assert_true(v);
    assert_true(mp_at_end(&r));
    assert_int_equal(mp_peek(&r), MP_NONE);
}

/* The writer's output for uints, and the reader taking it back. */
static void test_roundtrip_uint(void **state)
{
    const struct {
        uint64_t v;
        size_t len;
    } cases[] = {
        {0, 1},          {127, 1},           {128, 2},
        {255, 2},        {256, 3},           {65535, 3},
        {65536, 5},      {0xffffffffULL, 5}, {0x100000000ULL, 9},
        {UINT64_MAX, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hbuf b;
        struct mp_writer w;
        hbuf_init(&b, 64);
        mp_writer_init(&w, &b);
        mp_write_uint(&w, cases[i].v);
        assert_int_equal(mp_writer_status(&w), HERR_OK);
        assert_int_equal(b.len, cases[i].len);
        assert_true(read_uint_ok((struct bytes){(const char *)b.data, b.len}) == cases[i].v);
        hbuf_release(&b);
    }
}

static void test_roundtrip_lengths(void **state)
{
    const struct {
        uint32_t n;
        size_t str_head, bin_head, arr_head;
    } cases[] = {
        {0, 1, 2, 1},   {15, 1, 2, 1},  {16, 1, 2, 3},    {31, 1, 2, 3},    {32, 2, 2, 3},
        {255, 2, 2, 3}, {256, 3, 3, 3}, {65535, 3, 3, 3}, {65536, 5, 5, 5}, {70000, 5, 5, 5},
    };
    char *text = malloc(70000);
    assert_non_null(text);
    memset(text, 'x', 70000);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t n = cases[i].n;
        struct hbuf b;
        struct mp_writer w;
        hbuf_init(&b, 1 << 20);
        mp_writer_init(&w, &b);
        mp_write_str(&w, text, n);
        mp_write_bin(&w, text, n);
        mp_write_array(&w, n);
        mp_write_map(&w, n);
        assert_int_equal(mp_writer_status(&w), HERR_OK);
        assert_int_equal(b.len,
                         cases[i].str_head + n + cases[i].bin_head + n + 2 * cases[i].arr_head);

        struct mp_reader r;
        const char *s;
        const uint8_t *p;
        uint32_t got;
        mp_reader_init(&r, b.data, b.len);
        assert_int_equal(mp_read_str(&r, &s, &got, UINT32_MAX), HERR_OK);
        assert_int_equal(got, n);
        assert_memory_equal(s, text, n);
        assert_int_equal(mp_read_bin(&r, &p, &got, UINT32_MAX), HERR_OK);
        assert_int_equal(got, n);
        /* The counts are read back from the header alone: give the reader the
         * elements' worth of bytes so the "fits the input" check passes. */
        size_t arr_at = (size_t)(r.pos - b.data);
        assert_int_equal(hbuf_reserve(&b, 2ULL * n + 8), HERR_OK);
        memset(b.data + b.len, 0, 2ULL * n);
        struct mp_reader ra;
        mp_reader_init(&ra, b.data + arr_at, cases[i].arr_head);
        ra.end = b.data + b.len + 2ULL * n;
        assert_int_equal(mp_read_array(&ra, &got, UINT32_MAX), HERR_OK);
        assert_int_equal(got, n);
        assert_int_equal(mp_read_map(&ra, &got, UINT32_MAX), HERR_OK);
        assert_int_equal(got, n);
        hbuf_release(&b);
    }
    free(text);
}

static void test_roundtrip_mixed(void **state)
{
    struct hbuf b;
    struct mp_writer w;
    hbuf_init(&b, 4096);
    mp_writer_init(&w, &b);
    mp_write_array(&w, 6);
    mp_write_nil(&w);
    mp_write_bool(&w, true);
    mp_write_bool(&w, false);
    mp_write_str(&w, "caf\xc3\xa9", 5);
    mp_write_bin(&w, "\x00\x01", 2);
    mp_write_map(&w, 1);
    mp_write_str(&w, "k", 1);
    mp_write_uint(&w, 300);
    assert_int_equal(mp_writer_status(&w), HERR_OK);
    const char want[] = "\x96\xc0\xc3\xc2\xa5"
                        "caf\xc3\xa9\xc4\x02\x00\x01\x81\xa1k\xcd\x01\x2c";
    assert_int_equal(b.len, sizeof want - 1);
    assert_memory_equal(b.data, want, b.len);
    struct mp_reader r;
    mp_reader_init(&r, b.data, b.len);
    assert_int_equal(skip_value(&r, 0), HERR_OK);
    assert_true(mp_at_end(&r));
    hbuf_release(&b);
}

static void test_writer_ceiling(void **state)
{
    struct hbuf b;
    struct mp_writer w;
    hbuf_init(&b, 8);
    mp_writer_init(&w, &b);
    mp_write_str(&w, "0123456789", 10);
    assert_int_equal(mp_writer_status(&w), HERR_TOO_LARGE);
    mp_write_nil(&w); /* later writes are ignored, the first error stays */
    assert_int_equal(mp_writer_status(&w), HERR_TOO_LARGE);
    assert_true(b.len <= 8);
    hbuf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uint_shortest),
        cmocka_unit_test(test_uint_noncanonical),
        cmocka_unit_test(test_lengths_noncanonical),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_declared_longer_than_input),
        cmocka_unit_test(test_above_max),
        cmocka_unit_test(test_bin_fixed),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_outside_subset),
        cmocka_unit_test(test_nil_bool),
        cmocka_unit_test(test_roundtrip_uint),
        cmocka_unit_test(test_roundtrip_lengths),
        cmocka_unit_test(test_roundtrip_mixed),
        cmocka_unit_test(test_writer_ceiling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_backup.c - backup files (store/backup.h, docs/BACKUP.md): the test vector of
 * docs/BACKUP.md opens to its known contents; a roundtrip; every single flipped byte,
 * every truncation and a wrong passphrase are refused, each with its reason; limits
 * out of bounds are refused before any hashing. Low Argon2id limits keep it short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/limits.h"
#include "store/backup.h"

#include <sodium.h>

#define LOW_OPS 1
#define LOW_MEM 8192

static const char PASS[] = "correct horse battery staple";
static const char CONF[] = "[node]\nlisten = tcp://0.0.0.0:7437\n";

/* docs/BACKUP.md, "Test vector": 370 bytes. */
static const char VECTOR[] = "484541525448424b01010000000100000008941ff21d88d0d97c2ffe0e8cad2c"
                             "9b17c538fdf00ba5567b219e5a27ac00a36e00197c740f5993580000003cbf65"
                             "993e0b90e2b01b3357081c91c8ae42afc868625ff0c997973e9580ec87faa955"
                             "59e89743f9e011b1b31846f5e87ae9a4da4d822d7e511a1bc239000000254128"
                             "102417097bf17091efafa5c9a31bcce7a94b54c36a55ced664e70517e16717da"
                             "4cc9a900000032b1dfc3094748d11610cedc7df2e39bc24ced5580a8595126db"
                             "7f8e3fced8658c21b3de4b11a2b4f1c852b2ef8fb84cb63d2800000026e2177f"
                             "980d60b15942198e5b5c8c518c451d8c6434896c2e09301d6250b2139a0095c6"
                             "382c7700000035288b5fe372a9cd39704cb75e5080e20b5322a7b19d41779d00"
                             "f660bd210a4bcd8e5b3f8268f0a1cd8ea265e407fa680e2f70312fa900000012"
                             "a5909f4c75984015bb19631cc56514d1ccbf9069e6f36edebeff61a66c80bb06"
                             "970962aeadb8d77fd7a57a988a118c3e5636";

static size_t unhex(uint8_t *out, const char *hex)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* A file holding p[0..n). */
static FILE *file_of(const uint8_t *p, size_t n)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    rewind(f);
    return f;
}

struct got {
    char names[4][BACKUP_MAX_NAME + 1];
    uint8_t data[4][256];
    size_t len[4];
    unsigned n;
};

/* open_all - read the whole backup; the error of the first step that failed. */
static herr open_all(const uint8_t *p, size_t n, const char *pass, struct got *g, const char **why)
{
    FILE *f = file_of(p, n);
    struct backup_reader *r = NULL;
    herr e = backup_reader_new(&r, f, pass, strlen(pass), why);
    memset(g, 0, sizeof *g);
    while (!e) {
        const char *name;
        uint64_t size;
        if ((e = backup_next(r, &name, &size, why)) != HERR_OK || !name)
            break;
        assert_true(g->n < 4 && size <= 256);
        FILE *dst = fmemopen(g->data[g->n], 256, "wb");
        setvbuf(dst, NULL, _IONBF, 0);
        e = backup_extract(r, dst, why);
        fclose(dst);
        snprintf(g->names[g->n], sizeof g->names[0], "%s", name);
        g->len[g->n++] = (size_t)size;
    }
    backup_reader_destroy(&r);
    fclose(f);
    return e;
}

static void check_contents(const struct got *g)
{
    assert_int_equal(g->n, 2);
    assert_string_equal(g->names[0], "author.key");
    assert_int_equal(g->len[0], 32);
    for (int i = 0; i < 32; i++)
        assert_int_equal(g->data[0][i], i);
    assert_string_equal(g->names[1], "hearth.conf");
    assert_int_equal(g->len[1], strlen(CONF));
    assert_memory_equal(g->data[1], CONF, strlen(CONF));
}

/* make - a backup like the vector's, freshly salted; returns its length. */
static size_t make(uint8_t *out, size_t cap)
{
    uint8_t forum[HEARTH_ID_LEN], key[32];
    memset(forum, 0x11, sizeof forum);
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    FILE *f = tmpfile(), *a = file_of(key, 32), *b = file_of((const uint8_t *)CONF, strlen(CONF));
    struct backup_writer *w;
    assert_int_equal(
        backup_writer_new(&w, f, PASS, strlen(PASS), LOW_OPS, LOW_MEM, forum, 1764806400000ULL, 2),
        HERR_OK);
    assert_int_equal(backup_write_file(w, "author.key", a, 32, NULL), HERR_OK);
    assert_int_equal(backup_write_file(w, "hearth.conf", b, strlen(CONF), NULL), HERR_OK);
    assert_int_equal(backup_writer_finish(&w), HERR_OK);
    assert_null(w);
    long n = ftell(f);
    assert_true(n > 0 && (size_t)n <= cap);
    rewind(f);
    assert_int_equal(fread(out, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    fclose(a);
    fclose(b);
    return (size_t)n;
}

static void test_vector(void **state)
{
    uint8_t v[512];
    size_t n = unhex(v, VECTOR);
    struct got g;
    const char *why = NULL;
    assert_int_equal(n, 370);
    assert_int_equal(open_all(v, n, PASS, &g, &why), HERR_OK);
    check_contents(&g);
    /* The manifest. */
    FILE *f = file_of(v, n);
    struct backup_reader *r;
    assert_int_equal(backup_reader_new(&r, f, PASS, strlen(PASS), &why), HERR_OK);
    uint8_t forum[HEARTH_ID_LEN];
    memset(forum, 0x11, sizeof forum);
    assert_memory_equal(backup_forum(r), forum, HEARTH_ID_LEN);
    assert_int_equal(backup_created(r), 1764806400000ULL);
    assert_int_equal(backup_files(r), 2);
    backup_reader_destroy(&r);
    fclose(f);
}

static void test_roundtrip(void **state)
{
    uint8_t a[512], b[512];
    struct got g;
    const char *why;
    size_t n = make(a, sizeof a), m = make(b, sizeof b);
    assert_int_equal(n, 370);
    assert_int_equal(m, n);
    /* A new salt and stream header every time: nothing repeats after the limits. */
    assert_memory_not_equal(a + 18, b + 18, 40);
    assert_int_equal(open_all(a, n, PASS, &g, &why), HERR_OK);
    check_contents(&g);
    /* The key is not in the file in the clear. */
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    assert_null(memmem(a, n, key, 16));
}

static void test_wrong_passphrase(void **state)
{
    uint8_t v[512];
    size_t n = unhex(v, VECTOR);
    struct got g;
    const char *why = NULL;
    assert_int_equal(open_all(v, n, "correct horse battery stapler", &g, &why), HERR_DENIED);
    assert_string_equal(why, "wrong passphrase");
    assert_int_equal(open_all(v, n, "", &g, &why), HERR_DENIED);
}

/* Every byte flipped, one at a time: refused, never read through. The trailer sees
 * it; where the trailer itself is hit, it no longer matches. */
static void test_flipped_bytes(void **state)
{
    uint8_t v[512];
    size_t n = unhex(v, VECTOR);
    struct got g;
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        v[i] ^= 0x20;
        herr e = open_all(v, n, PASS, &g, &why);
        v[i] ^= 0x20;
        assert_int_not_equal(e, HERR_OK);
        assert_non_null(why);
        if (i >= 8) /* past the magic: else "not a hearth backup" */
            assert_non_null(strstr(why, "damaged"));
    }
}

static void test_truncated_and_padded(void **state)
{
    uint8_t v[512];
    size_t n = unhex(v, VECTOR);
    struct got g;
    for (size_t k = 0; k < n; k++) {
        const char *why = NULL;
        assert_int_equal(open_all(v, k, PASS, &g, &why), HERR_MALFORMED);
        assert_non_null(why);
    }
    const char *why = NULL;
    v[n] = 0;
    assert_int_equal(open_all(v, n + 1, PASS, &g, &why), HERR_MALFORMED);
}

/* A header that asks for more hashing than allowed is refused before any hashing
 * (with a trailer recomputed so that only the limits are wrong). */
static void test_limits_refused(void **state)
{
    uint8_t v[512];
    size_t n = unhex(v, VECTOR);
    struct got g;
    const char *why = NULL;
    v[14] = 0x7f; /* memlimit, KiB, big-endian: far above the maximum */
    crypto_generichash(v + n - 32, 32, v, n - 32, NULL, 0);
    assert_int_equal(open_all(v, n, PASS, &g, &why), HERR_TOO_LARGE);
    uint8_t forum[HEARTH_ID_LEN] = {0};
    struct backup_writer *w = NULL;
    FILE *f = tmpfile();
    assert_int_equal(
        backup_writer_new(&w, f, PASS, 4, BACKUP_MAX_OPSLIMIT + 1, LOW_MEM, forum, 0, 1),
        HERR_USAGE);
    assert_int_equal(backup_writer_new(&w, f, PASS, 4, LOW_OPS, LOW_MEM, forum, 0, 0), HERR_USAGE);
    assert_null(w);
    fclose(f);
    assert_false(backup_name_ok(".hidden"));
    assert_false(backup_name_ok("a/b"));
    assert_false(backup_name_ok(""));
    assert_true(backup_name_ok("hearth.db"));
}

int main(void)
{
    if (crypto_start())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_wrong_passphrase),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_truncated_and_padded),
        cmocka_unit_test(test_limits_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

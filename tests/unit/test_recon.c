/* test_recon.c - rateless IBLT reconciliation (sync/recon.h), the wire messages
 * (sync/wire.h) and the session over the in-memory stand-in store (sync/memstore.h).
 * The byte-for-byte vectors here are those of docs/PROTOCOL.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/crypto.h"
#include "base/hbuf.h"
#include "sync/memstore.h"
#include "sync/recon.h"
#include "sync/session.h"
#include "sync/wire.h"
#include "tests/unit/testutil.h"

/* ---- helpers ---- */

/* The saved index's checksum in test_index_save_load (docs/PROTOCOL.md). */
#define VECTOR_SAVED_SUM "c2141458ff32fb1f2f84993ead796d22019c9a96ecab72c22ae7a5911f7ce9db"

static size_t unhex(uint8_t *out, size_t max, const char *hex)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ' || *p == '\n') {
            p++;
            continue;
        }
        unsigned v;
        assert_true(sscanf(p, "%2x", &v) == 1);
        assert_true(n < max);
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n;
}

static uint64_t rng_state = 12345;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rand_id(uint8_t id[HEARTH_ID_LEN])
{
    for (int i = 0; i < HEARTH_ID_LEN; i += 8) {
        uint64_t v = rng();
        memcpy(id + i, &v, 8);
    }
}

static struct recon_index *new_index(void)
{
    struct recon_index *x = NULL;
    assert_int_equal(recon_index_new(&x), HERR_OK);
    return x;
}

static int setup(void **state)
{
    (void)state;
    return crypto_start() == HERR_OK ? 0 : -1;
}

/* ---- building blocks ---- */

static void test_hash_and_map_vectors(void **state)
{
    (void)state;
    uint8_t key[RECON_KEY_LEN];
    for (int i = 0; i < RECON_KEY_LEN; i++)
        key[i] = (uint8_t)i;
    struct recon_hash h;
    recon_hash_key(key, &h);
    assert_int_equal(h.chk, 0x8a0365ce);
    assert_true(h.seed == 0x1ea93daaa0d71be6ULL);
    assert_true(h.elem[0] == 0x567dd11d8a0365ceULL);

    static const uint64_t want[] = {0, 1, 2, 6, 8, 14, 15, 16, 21, 44, 138, 144};
    struct recon_map m;
    recon_map_init(&m, h.seed);
    uint64_t i = 0;
    for (size_t k = 0; k < sizeof want / sizeof *want; k++, i = recon_map_next(&m))
        assert_true(i == want[k]);

    static const uint64_t want0[] = {0, 1, 3, 8, 9, 32, 73, 427, 545, 2126, 2234, 5638};
    recon_map_init(&m, 0);
    i = 0;
    for (size_t k = 0; k < sizeof want0 / sizeof *want0; k++, i = recon_map_next(&m))
        assert_true(i == want0[k]);
}

/* Index j is in a key's mapping with probability about 2/(j+2), and indices grow. */
static void test_map_density(void **state)
{
    (void)state;
    enum { KEYS = 20000, SPAN = 64 };
    static unsigned hits[SPAN];
    memset(hits, 0, sizeof hits);
    for (int k = 0; k < KEYS; k++) {
        struct recon_map m;
        recon_map_init(&m, rng());
        uint64_t prev = 0, i = 0;
        hits[0]++;
        while ((i = recon_map_next(&m)) < SPAN) {
            assert_true(i > prev);
            hits[i]++;
            prev = i;
        }
        assert_true(i > prev);
    }
    assert_int_equal(hits[0], KEYS);
    for (int j = 1; j < SPAN; j++) {
        double want = 2.0 / (j + 2.0) * KEYS, got = hits[j];
        assert_true(got > want * 0.9 - 30 && got < want * 1.1 + 30);
    }
}

static void test_fingerprint_and_symbol_vectors(void **state)
{
    (void)state;
    uint8_t fp[RECON_FP_LEN], want[128];
    uint64_t zero[8] = {0};
    recon_fingerprint(0, zero, fp);
    unhex(want, sizeof want, "2b90e2a8d83e8b6f56e27a573bd87d5d");
    assert_memory_equal(fp, want, RECON_FP_LEN);

    struct recon_index *x = new_index();
    recon_index_fingerprint(x, fp);
    assert_memory_equal(fp, want, RECON_FP_LEN);
    for (int j = 1; j <= 3; j++) {
        uint8_t id[HEARTH_ID_LEN];
        memset(id, j, sizeof id);
        assert_int_equal(recon_index_add(x, id, (uint64_t)j), HERR_OK);
    }
    recon_index_fingerprint(x, fp);
    unhex(want, sizeof want, "5126471621bb8e0b36b869b4591a1181");
    assert_memory_equal(fp, want, RECON_FP_LEN);

    uint8_t syms[4 * RECON_SYM_LEN], counts[8];
    recon_index_encode(x, 0, 4, syms);
    size_t n = unhex(want, sizeof want,
                     "000000000000000000000000000000003c790d4a030001010101010101010101"
                     "01010101010154b698c6020002020202020202020202020202020202378e9619"
                     "01000101010101010101010101010101010168cf958c0100");
    assert_int_equal(n, sizeof syms);
    assert_memory_equal(syms, want, sizeof syms);
    recon_index_encode_counts(x, 0, 4, counts);
    unhex(want, sizeof want, "0300020001000100");
    assert_memory_equal(counts, want, sizeof counts);
    recon_index_destroy(&x);
}

/* ---- the index ---- */

/* Symbols recomputed from scratch by walking each key's mapping. */
static void test_index_symbols_match_mapping(void **state)
{
    (void)state;
    enum { KEYS = 300, CHECK = 4096 };
    struct recon_index *x = new_index();
    uint8_t(*ids)[HEARTH_ID_LEN] = malloc(KEYS * HEARTH_ID_LEN);
    assert_non_null(ids);
    for (int k = 0; k < KEYS; k++) {
        rand_id(ids[k]);
        assert_int_equal(recon_index_add(x, ids[k], (uint64_t)k + 1), HERR_OK);
    }
    uint8_t *mine = calloc(CHECK, RECON_SYM_LEN), *got = malloc(CHECK * RECON_SYM_LEN);
    assert_non_null(mine);
    assert_non_null(got);
    uint32_t *cnt = calloc(CHECK, sizeof *cnt);
    assert_non_null(cnt);
    for (int k = 0; k < KEYS; k++) {
        struct recon_hash h;
        recon_hash_key(ids[k], &h);
        struct recon_map m;
        recon_map_init(&m, h.seed);
        for (uint64_t i = 0; i < CHECK; i = recon_map_next(&m)) {
            uint8_t *s = mine + i * RECON_SYM_LEN;
            for (int b = 0; b < RECON_KEY_LEN; b++)
                s[b] ^= ids[k][b];
            for (int b = 0; b < 4; b++)
                s[16 + b] ^= (uint8_t)(h.chk >> (8 * b));
            cnt[i]++;
        }
    }
    for (int i = 0; i < CHECK; i++) {
        mine[i * RECON_SYM_LEN + 20] = (uint8_t)cnt[i];
        mine[i * RECON_SYM_LEN + 21] = (uint8_t)(cnt[i] >> 8);
    }
    recon_index_encode(x, 0, CHECK, got);
    assert_memory_equal(mine, got, (size_t)CHECK * RECON_SYM_LEN);
    assert_true(recon_index_count(x) == KEYS);
    free(mine);
    free(got);
    free(cnt);
    free(ids);
    recon_index_destroy(&x);
}

/* Arrival numbers make adding idempotent: a repeat changes nothing. */
static void test_index_duplicate_arrival(void **state)
{
    (void)state;
    struct recon_index *x = new_index();
    uint8_t a[HEARTH_ID_LEN], b[HEARTH_ID_LEN];
    rand_id(a);
    rand_id(b);
    assert_int_equal(recon_index_add(x, a, 0), HERR_DUPLICATE); /* arrivals start at 1 */
    assert_int_equal(recon_index_add(x, a, 5), HERR_OK);
    uint8_t before[64 * RECON_SYM_LEN], after[64 * RECON_SYM_LEN], fp1[16], fp2[16];
    recon_index_encode(x, 0, 64, before);
    recon_index_fingerprint(x, fp1);
    assert_int_equal(recon_index_add(x, a, 5), HERR_DUPLICATE);
    assert_int_equal(recon_index_add(x, b, 4), HERR_DUPLICATE);
    recon_index_encode(x, 0, 64, after);
    recon_index_fingerprint(x, fp2);
    assert_memory_equal(before, after, sizeof before);
    assert_memory_equal(fp1, fp2, sizeof fp1);
    assert_true(recon_index_count(x) == 1 && recon_index_last_arrival(x) == 5);
    assert_int_equal(recon_index_add(x, b, 6), HERR_OK);
    assert_true(recon_index_count(x) == 2);
    recon_index_destroy(&x);
}

/* The same set in another order: the same symbols and fingerprint. */
static void test_index_order_independent(void **state)
{
    (void)state;
    enum { KEYS = 500 };
    uint8_t(*ids)[HEARTH_ID_LEN] = malloc(KEYS * HEARTH_ID_LEN);
    assert_non_null(ids);
    struct recon_index *x = new_index(), *y = new_index();
    for (int k = 0; k < KEYS; k++) {
        rand_id(ids[k]);
        assert_int_equal(recon_index_add(x, ids[k], (uint64_t)k + 1), HERR_OK);
    }
    for (int k = KEYS - 1; k >= 0; k--)
        assert_int_equal(recon_index_add(y, ids[k], (uint64_t)(KEYS - k)), HERR_OK);
    uint8_t *sx = malloc(2048 * RECON_SYM_LEN), *sy = malloc(2048 * RECON_SYM_LEN);
    assert_non_null(sx);
    assert_non_null(sy);
    recon_index_encode(x, RECON_M - 2048, 2048, sx);
    recon_index_encode(y, RECON_M - 2048, 2048, sy);
    assert_memory_equal(sx, sy, 2048 * RECON_SYM_LEN);
    uint8_t f1[16], f2[16];
    recon_index_fingerprint(x, f1);
    recon_index_fingerprint(y, f2);
    assert_memory_equal(f1, f2, 16);
    free(sx);
    free(sy);
    free(ids);
    recon_index_destroy(&x);
    recon_index_destroy(&y);
}

/* A saved index loads back into the same index: every symbol, the count, the last
 * arrival, the fingerprint and the newest ids, and it goes on as the original does.
 * Damaged, cut or foreign bytes are refused and leave the index empty. */
static void test_index_save_load(void **state)
{
    (void)state;
    struct recon_index *x = new_index(), *y = new_index(), *z = new_index();
    uint8_t id[HEARTH_ID_LEN], newest[HEARTH_ID_LEN], got[HEARTH_ID_LEN];
    uint8_t *b = NULL;
    size_t n = 0;
    assert_int_equal(recon_index_newest(x, got), HERR_NOT_FOUND);
    for (uint64_t k = 0; k < 300; k++) {
        rand_id(id);
        assert_int_equal(recon_index_add(x, id, k * 3 + 7), HERR_OK);
    }
    memcpy(newest, id, sizeof id);
    assert_int_equal(recon_index_save(x, &b, &n), HERR_OK);
    assert_int_equal(n, RECON_SAVED_LEN);

    /* Refused: cut short, another tag, a flipped bit, an index that is not empty. */
    assert_int_equal(recon_index_load(y, b, n - 1), HERR_VERSION);
    b[3] ^= 1;
    assert_int_equal(recon_index_load(y, b, n), HERR_VERSION);
    b[3] ^= 1;
    b[n / 2] ^= 0x10;
    assert_int_equal(recon_index_load(y, b, n), HERR_CORRUPT);
    b[n / 2] ^= 0x10;
    b[n - 1] ^= 0x80;
    assert_int_equal(recon_index_load(y, b, n), HERR_CORRUPT);
    b[n - 1] ^= 0x80;
    assert_true(recon_index_count(y) == 0 && recon_index_last_arrival(y) == 0);
    assert_int_equal(recon_index_load(z, b, n), HERR_OK);
    assert_int_equal(recon_index_load(z, b, n), HERR_STATE);

    assert_int_equal(recon_index_load(y, b, n), HERR_OK);
    assert_true(recon_index_count(y) == 300 && recon_index_last_arrival(y) == 299 * 3 + 7);
    assert_int_equal(recon_index_newest(y, got), HERR_OK);
    assert_memory_equal(got, newest, sizeof got);
    uint8_t *sx = malloc((size_t)RECON_M * RECON_SYM_LEN),
            *sy = malloc((size_t)RECON_M * RECON_SYM_LEN);
    assert_non_null(sx);
    assert_non_null(sy);
    recon_index_encode(x, 0, RECON_M, sx);
    recon_index_encode(y, 0, RECON_M, sy);
    assert_memory_equal(sx, sy, (size_t)RECON_M * RECON_SYM_LEN);
    uint8_t f1[RECON_FP_LEN], f2[RECON_FP_LEN], ix[RECON_SUFFIX][HEARTH_ID_LEN],
        iy[RECON_SUFFIX][HEARTH_ID_LEN];
    assert_int_equal(recon_index_suffix_max(y), RECON_SUFFIX);
    recon_index_suffix(x, RECON_SUFFIX, f1, ix);
    recon_index_suffix(y, RECON_SUFFIX, f2, iy);
    assert_memory_equal(f1, f2, sizeof f1);
    assert_memory_equal(ix, iy, sizeof ix);
    /* It goes on: an arrival not above the saved one is refused, a new one counts. */
    rand_id(id);
    assert_int_equal(recon_index_add(y, id, 299 * 3 + 7), HERR_DUPLICATE);
    assert_int_equal(recon_index_add(x, id, 5000), HERR_OK);
    assert_int_equal(recon_index_add(y, id, 5000), HERR_OK);
    recon_index_fingerprint(x, f1);
    recon_index_fingerprint(y, f2);
    assert_memory_equal(f1, f2, sizeof f1);
    free(b);

    /* The vector of docs/PROTOCOL.md: the keys 01..01, 02..02, 03..03 at arrivals 1, 2, 5
     * save to bytes whose last 32 (their checksum) are these. */
    struct recon_index *v = new_index();
    for (int k = 1; k <= 3; k++) {
        memset(id, k, sizeof id);
        assert_int_equal(recon_index_add(v, id, k == 3 ? 5 : (uint64_t)k), HERR_OK);
    }
    assert_int_equal(recon_index_save(v, &b, &n), HERR_OK);
    uint8_t want[32];
    unhex(want, sizeof want, VECTOR_SAVED_SUM);
    assert_memory_equal(b + n - 32, want, 32);
    free(b);
    free(sx);
    free(sy);
    recon_index_destroy(&v);
    recon_index_destroy(&x);
    recon_index_destroy(&y);
    recon_index_destroy(&z);
}

struct fake_source {
    uint8_t (*ids)[HEARTH_ID_LEN];
    uint64_t n;
    unsigned calls;
};

static herr fake_keys_since(void *src, uint64_t arrival, recon_keys_fn fn, void *ctx)
{
    struct fake_source *f = src;
    f->calls++;
    herr e = HERR_OK;
    for (uint64_t i = arrival; !e && i < f->n; i++)
        e = fn(ctx, f->ids[i], 0, i + 1);
    return e;
}

static void test_index_catch_up(void **state)
{
    (void)state;
    struct fake_source f = {malloc(100 * HEARTH_ID_LEN), 60, 0};
    assert_non_null(f.ids);
    for (int k = 0; k < 100; k++)
        rand_id(f.ids[k]);
    struct recon_index *x = new_index(), *y = new_index();
    assert_int_equal(recon_index_catch_up(x, fake_keys_since, &f), HERR_OK);
    assert_int_equal(recon_index_catch_up(x, fake_keys_since, &f), HERR_OK);
    assert_true(recon_index_count(x) == 60 && recon_index_last_arrival(x) == 60);
    f.n = 100;
    assert_int_equal(recon_index_catch_up(x, fake_keys_since, &f), HERR_OK);
    assert_true(recon_index_count(x) == 100);
    assert_int_equal(recon_index_catch_up(y, fake_keys_since, &f), HERR_OK);
    uint8_t f1[16], f2[16];
    recon_index_fingerprint(x, f1);
    recon_index_fingerprint(y, f2);
    assert_memory_equal(f1, f2, 16);
    free(f.ids);
    recon_index_destroy(&x);
    recon_index_destroy(&y);
}

static void test_index_suffix(void **state)
{
    (void)state;
    enum { KEYS = 40 };
    uint8_t ids[KEYS][HEARTH_ID_LEN];
    struct recon_index *x = new_index();
    for (int k = 0; k < KEYS; k++) {
        rand_id(ids[k]);
        assert_int_equal(recon_index_add(x, ids[k], (uint64_t)k + 1), HERR_OK);
    }
    assert_int_equal(recon_index_suffix_max(x), RECON_SUFFIX);
    for (uint32_t j = 0; j <= RECON_SUFFIX; j++) {
        struct recon_index *y = new_index();
        for (uint32_t k = 0; k < KEYS - j; k++)
            assert_int_equal(recon_index_add(y, ids[k], (uint64_t)k + 1), HERR_OK);
        uint8_t f1[16], f2[16], got[RECON_SUFFIX][HEARTH_ID_LEN];
        recon_index_fingerprint(y, f1);
        recon_index_suffix(x, j, f2, got);
        assert_memory_equal(f1, f2, 16);
        for (uint32_t t = 0; t < j; t++)
            assert_memory_equal(got[t], ids[KEYS - 1 - t], HEARTH_ID_LEN);
        recon_index_destroy(&y);
    }
    recon_index_destroy(&x);
}

/* ---- the decoder ---- */

static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, RECON_KEY_LEN);
}

/* Decode remote (n shared + dr own) against local (n shared + dl own) the way a
 * session does: the first batch, then what recon_next_request asks for. */
static void decode_case(uint32_t n, uint32_t dl, uint32_t dr)
{
    static uint8_t buf[RECON_M * RECON_SYM_LEN];
    struct recon_index *remote = new_index(), *local = new_index();
    uint8_t(*rk)[RECON_KEY_LEN] = malloc(((size_t)dr + 1) * RECON_KEY_LEN);
    uint8_t(*lk)[RECON_KEY_LEN] = malloc(((size_t)dl + 1) * RECON_KEY_LEN);
    assert_non_null(rk);
    assert_non_null(lk);
    uint64_t a = 1;
    for (uint32_t i = 0; i < n; i++, a++) {
        uint8_t id[HEARTH_ID_LEN];
        rand_id(id);
        assert_int_equal(recon_index_add(remote, id, a), HERR_OK);
        assert_int_equal(recon_index_add(local, id, a), HERR_OK);
    }
    for (uint32_t i = 0; i < dr; i++) {
        uint8_t id[HEARTH_ID_LEN];
        rand_id(id);
        memcpy(rk[i], id, RECON_KEY_LEN);
        assert_int_equal(recon_index_add(remote, id, a++), HERR_OK);
    }
    for (uint32_t i = 0; i < dl; i++) {
        uint8_t id[HEARTH_ID_LEN];
        rand_id(id);
        memcpy(lk[i], id, RECON_KEY_LEN);
        assert_int_equal(recon_index_add(local, id, a++), HERR_OK);
    }
    uint8_t fp[RECON_FP_LEN];
    recon_index_fingerprint(remote, fp);
    struct recon_decoder *d = NULL;
    assert_int_equal(recon_decoder_new(&d, local, recon_index_count(remote), fp), HERR_OK);
    uint32_t syms, counts;
    recon_first_batch(recon_index_count(remote), recon_index_count(local), &syms, &counts);
    const char *why = NULL;
    recon_index_encode(remote, 0, syms, buf);
    assert_int_equal(recon_decoder_add(d, 0, buf, syms, &why), HERR_OK);
    recon_index_encode_counts(remote, syms, counts, buf);
    assert_int_equal(recon_decoder_add_counts(d, syms, buf, counts, &why), HERR_OK);
    int rounds = 0;
    while (!recon_decoder_complete(d)) {
        uint32_t upto = recon_next_request(d), have = recon_decoder_received(d);
        assert_true(upto > have && upto <= RECON_M);
        recon_index_encode(remote, have, upto - have, buf);
        assert_int_equal(recon_decoder_add(d, have, buf, upto - have, &why), HERR_OK);
        assert_true(++rounds < 20);
    }
    assert_int_equal(recon_decoder_verify(d), HERR_OK);
    size_t nr, nl;
    const uint8_t(*gr)[RECON_KEY_LEN] = recon_decoder_remote_only(d, &nr);
    const uint8_t(*gl)[RECON_KEY_LEN] = recon_decoder_local_only(d, &nl);
    assert_int_equal(nr, dr);
    assert_int_equal(nl, dl);
    uint8_t(*sr)[RECON_KEY_LEN] = malloc((nr + 1) * RECON_KEY_LEN);
    uint8_t(*sl)[RECON_KEY_LEN] = malloc((nl + 1) * RECON_KEY_LEN);
    assert_non_null(sr);
    assert_non_null(sl);
    if (nr)
        memcpy(sr, gr, nr * RECON_KEY_LEN);
    if (nl)
        memcpy(sl, gl, nl * RECON_KEY_LEN);
    qsort(sr, nr, RECON_KEY_LEN, cmp_key);
    qsort(sl, nl, RECON_KEY_LEN, cmp_key);
    qsort(rk, dr, RECON_KEY_LEN, cmp_key);
    qsort(lk, dl, RECON_KEY_LEN, cmp_key);
    if (nr)
        assert_memory_equal(sr, rk, nr * RECON_KEY_LEN);
    if (nl)
        assert_memory_equal(sl, lk, nl * RECON_KEY_LEN);
    free(sr);
    free(sl);
    free(rk);
    free(lk);
    recon_decoder_destroy(&d);
    recon_index_destroy(&remote);
    recon_index_destroy(&local);
}

static void test_decode_grid(void **state)
{
    (void)state;
    static const uint32_t ns[] = {0, 1, 100, 3000};
    static const uint32_t splits[][2] = {{0, 0},  {1, 0},  {0, 1},   {1, 1},     {3, 2},
                                         {10, 0}, {0, 10}, {50, 50}, {700, 300}, {0, 2500}};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof splits / sizeof *splits; b++)
            decode_case(ns[a], splits[b][0], splits[b][1]);
    /* Many small random cases: d from 0 to 40 in any split. */
    for (int k = 0; k < 60; k++)
        decode_case((uint32_t)(rng() % 2000), (uint32_t)(rng() % 21), (uint32_t)(rng() % 21));
}

static void test_decode_large(void **state)
{
    (void)state;
    decode_case(20000, 15000, 15000);
}

/* A wrong fingerprint: the decode completes but does not verify. */
static void test_decode_wrong_fingerprint(void **state)
{
    (void)state;
    struct recon_index *remote = new_index(), *local = new_index();
    for (uint64_t a = 1; a <= 20; a++) {
        uint8_t id[HEARTH_ID_LEN];
        rand_id(id);
        assert_int_equal(recon_index_add(remote, id, a), HERR_OK);
        if (a != 7)
            assert_int_equal(recon_index_add(local, id, a), HERR_OK);
    }
    uint8_t fp[RECON_FP_LEN], buf[64 * RECON_SYM_LEN];
    recon_index_fingerprint(local, fp); /* not the remote's */
    struct recon_decoder *d = NULL;
    assert_int_equal(recon_decoder_new(&d, local, 20, fp), HERR_OK);
    const char *why;
    recon_index_encode(remote, 0, 64, buf);
    assert_int_equal(recon_decoder_add(d, 0, buf, 64, &why), HERR_OK);
    assert_true(recon_decoder_complete(d));
    assert_int_equal(recon_decoder_verify(d), HERR_PROTOCOL);
    recon_decoder_destroy(&d);
    recon_index_destroy(&remote);
    recon_index_destroy(&local);
}

static void test_decoder_rejects(void **state)
{
    (void)state;
    struct recon_index *local = new_index();
    uint8_t fp[RECON_FP_LEN] = {0}, buf[8 * RECON_SYM_LEN] = {0};
    struct recon_decoder *d = NULL;
    assert_int_equal(recon_decoder_new(&d, local, 5, fp), HERR_OK);
    const char *why = NULL;
    assert_int_equal(recon_decoder_add(d, 1, buf, 1, &why), HERR_PROTOCOL);
    assert_non_null(why);
    assert_int_equal(recon_decoder_add(d, 0, buf, 8, &why), HERR_OK);
    assert_int_equal(recon_decoder_add_counts(d, 3, buf, 1, &why), HERR_PROTOCOL);
    assert_int_equal(recon_decoder_add_counts(d, RECON_M - 1, buf, 2, &why), HERR_PROTOCOL);
    /* Empty symbols look like an empty difference; the count gives them away. */
    assert_true(recon_decoder_complete(d));
    assert_int_equal(recon_decoder_verify(d), HERR_PROTOCOL);
    recon_decoder_destroy(&d);
    assert_int_equal(recon_decoder_new(&d, local, 5, fp), HERR_OK);
    assert_int_equal(recon_decoder_add(d, 0, buf, 0, &why), HERR_OK);
    assert_false(recon_decoder_complete(d)); /* no symbol yet */
    recon_decoder_destroy(&d);
    recon_index_destroy(&local);
}

/* Garbage and crafted symbols: no crash, bounded work, never a verified decode. */
static void test_decoder_garbage(void **state)
{
    (void)state;
    enum { N = 3000 };
    struct recon_index *local = new_index();
    for (uint64_t a = 1; a <= 100; a++) {
        uint8_t id[HEARTH_ID_LEN];
        rand_id(id);
        assert_int_equal(recon_index_add(local, id, a), HERR_OK);
    }
    uint8_t *buf = malloc(N * RECON_SYM_LEN), fp[HEARTH_ID_LEN];
    assert_non_null(buf);
    rand_id(fp);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N * RECON_SYM_LEN; i++)
            buf[i] = (uint8_t)rng();
        if (round == 1) {
            /* The same pure-looking key in every symbol. */
            uint8_t key[HEARTH_ID_LEN];
            rand_id(key);
            struct recon_hash h;
            recon_hash_key(key, &h);
            for (int i = 0; i < N; i++) {
                uint8_t *s = buf + i * RECON_SYM_LEN;
                recon_index_encode(local, (uint32_t)i, 1, s);
                for (int b = 0; b < RECON_KEY_LEN; b++)
                    s[b] ^= key[b];
                for (int b = 0; b < 4; b++)
                    s[16 + b] ^= (uint8_t)(h.chk >> (8 * b));
                uint32_t c = (uint32_t)s[20] | (uint32_t)s[21] << 8;
                c++;
                s[20] = (uint8_t)c;
                s[21] = (uint8_t)(c >> 8);
            }
        }
        struct recon_decoder *d = NULL;
        assert_int_equal(recon_decoder_new(&d, local, 101, fp), HERR_OK);
        const char *why;
        assert_int_equal(recon_decoder_add(d, 0, buf, N, &why), HERR_OK);
        assert_int_not_equal(recon_decoder_verify(d), HERR_OK);
        size_t nr, nl;
        recon_decoder_remote_only(d, &nr);
        recon_decoder_local_only(d, &nl);
        assert_true(nr + nl <= N + 1);
        recon_decoder_destroy(&d);
    }
    free(buf);
    recon_index_destroy(&local);
}

/* The estimate from the first batch, and the policy around it. */
static void test_estimate_and_policy(void **state)
{
    (void)state;
    uint32_t s, c;
    recon_first_batch(1000, 1001, &s, &c);
    assert_true(s == 1 && c == 0);
    recon_first_batch(1000, 1000, &s, &c);
    assert_true(s == 6 && c == 256);
    recon_first_batch(1100, 1000, &s, &c);
    assert_true(s == 154 && c == 256);

    static uint8_t buf[RECON_M * RECON_SYM_LEN];
    struct recon_index *remote = new_index(), *local = new_index();
    uint64_t a = 1;
    for (int i = 0; i < 5000; i++, a++) {
        uint8_t id[HEARTH_ID_LEN];
        rand_id(id);
        assert_int_equal(recon_index_add(remote, id, a), HERR_OK);
        assert_int_equal(recon_index_add(local, id, a), HERR_OK);
    }
    for (int i = 0; i < 4000; i++) {
        uint8_t id[HEARTH_ID_LEN];
        rand_id(id);
        assert_int_equal(recon_index_add(i % 2 ? remote : local, id, a++), HERR_OK);
    }
    uint8_t fp[RECON_FP_LEN];
    recon_index_fingerprint(remote, fp);
    struct recon_decoder *d = NULL;
    assert_int_equal(recon_decoder_new(&d, local, recon_index_count(remote), fp), HERR_OK);
    double est, sd;
    recon_decoder_estimate(d, &est, &sd);
    assert_true(sd == 1); /* nothing seen yet */
    const char *why;
    recon_index_encode(remote, 0, 6, buf);
    assert_int_equal(recon_decoder_add(d, 0, buf, 6, &why), HERR_OK);
    recon_index_encode_counts(remote, 6, 256, buf);
    assert_int_equal(recon_decoder_add_counts(d, 6, buf, 256, &why), HERR_OK);
    recon_decoder_estimate(d, &est, &sd);
    assert_true(est > 4000 * 0.6 && est < 4000 * 1.6);
    assert_true(sd > 0.03 && sd < 0.2);
    uint32_t upto = recon_next_request(d);
    assert_true(upto > 1.35 * est && upto < RECON_M);
    /* Having received everything, only listing is left. */
    recon_index_encode(remote, 6, RECON_M - 6, buf);
    assert_int_equal(recon_decoder_add(d, 6, buf, RECON_M - 6, &why), HERR_OK);
    assert_true(recon_decoder_complete(d));
    assert_int_equal(recon_next_request(d), 0);
    recon_decoder_destroy(&d);
    recon_index_destroy(&remote);
    recon_index_destroy(&local);
}

/* A difference beyond what RECON_M symbols decode: the policy says list instead. */
static void test_policy_too_large(void **state)
{
    (void)state;
    static uint8_t buf[(6 + 256) * RECON_SYM_LEN];
    struct recon_index *remote = new_index(), *local = new_index();
    uint64_t a = 1;
    for (int i = 0; i < 300000; i++) {
        uint8_t id[HEARTH_ID_LEN];
        rand_id(id);
        assert_int_equal(recon_index_add(i % 2 ? remote : local, id, a++), HERR_OK);
    }
    uint8_t fp[RECON_FP_LEN];
    recon_index_fingerprint(remote, fp);
    struct recon_decoder *d = NULL;
    assert_int_equal(recon_decoder_new(&d, local, recon_index_count(remote), fp), HERR_OK);
    const char *why;
    recon_index_encode(remote, 0, 6, buf);
    assert_int_equal(recon_decoder_add(d, 0, buf, 6, &why), HERR_OK);
    recon_index_encode_counts(remote, 6, 256, buf);
    assert_int_equal(recon_decoder_add_counts(d, 6, buf, 256, &why), HERR_OK);
    assert_int_equal(recon_next_request(d), 0);
    recon_decoder_destroy(&d);
    recon_index_destroy(&remote);
    recon_index_destroy(&local);
}

/* ---- the wire ---- */

struct vector {
    const char *name;
    const char *hex;
    enum sync_type type;
};

/* docs/PROTOCOL.md, "Test vectors". */
static const struct vector vectors[] = {
    {"hello-initiator", "980101c408a0a1a2a3a4a5a6a7031403c4105126471621bb8e0b36b869b4591a118100",
     SYNC_HELLO},
    {"hello-initiator-1e6",
     "980101c408a0a1a2a3a4a5a6a70314ce000f4240c4105126471621bb8e0b36b869b4591a118100", SYNC_HELLO},
    {"hello-in-sync", "980101c00314ce000f4240c000", SYNC_HELLO},
    {"hello-responder-iblt", "980101c0031403c4105126471621bb8e0b36b869b4591a118101", SYNC_HELLO},
    {"symbols",
     "950200c3c42c000000000000000000000000000000003c790d4a030001010101"
     "01010101010101010101010154b698c60200c40401000100",
     SYNC_SYMBOLS},
    {"more", "9303cd012c00", SYNC_MORE},
    {"want", "9305c3c410000102030405060708090a0b0c0d0e0f", SYNC_WANT},
    {"ids", "9304c2c410000102030405060708090a0b0c0d0e0f", SYNC_IDS},
    {"events",
     "920691c42693c420111111111111111111111111111111111111111111111111"
     "1111111111111111c400c0",
     SYNC_EVENTS},
    {"done", "9107", SYNC_DONE},
    {"error",
     "93080dd92174686520706565722062656c6f6e677320746f20616e6f74686572"
     "20666f72756d",
     SYNC_ERROR},
    {"push",
     "9209c42693c42011111111111111111111111111111111111111111111111111"
     "11111111111111c400c0",
     SYNC_PUSH},
    {"zevents", "930a2bc41b28b52ffd202b95000060920691c42693c42011c400c001000d3802", SYNC_ZEVENTS},
    {"sketch", "920bc410000102030405060708090a0b0c0d0e0f", SYNC_SKETCH},
    {"hello-responder-suffix-i-sum",
     "990101c0031403c4105126471621bb8e0b36b869b4591a118105c410000102030405060708090a0b0c0d0e0f",
     SYNC_HELLO},
};

/* Re-encode a decoded message. */
static void reencode(const struct sync_msg *m, struct hbuf *out)
{
    herr e = HERR_OK;
    switch (m->type) {
    case SYNC_HELLO:
        e = sync_encode_hello(out, &m->u.hello);
        break;
    case SYNC_SYMBOLS:
        e = sync_encode_symbols(out, m->u.symbols.start, m->u.symbols.last, m->u.symbols.syms,
                                m->u.symbols.nsyms, m->u.symbols.counts, m->u.symbols.ncounts);
        break;
    case SYNC_MORE:
        e = sync_encode_more(out, m->u.more.upto, m->u.more.counts);
        break;
    case SYNC_IDS:
    case SYNC_WANT:
        e = sync_encode_keys(out, m->type, m->u.keys.last, m->u.keys.keys, m->u.keys.n);
        break;
    case SYNC_EVENTS: {
        struct store_blob b[4];
        struct sync_events_iter it;
        sync_events_iter_init(&it, &m->u.events);
        size_t n = 0;
        uint32_t len;
        while (n < 4 && sync_events_next(&it, &b[n].p, &len))
            b[n++].n = len;
        e = sync_encode_events(out, b, n);
        break;
    }
    case SYNC_DONE:
        e = sync_encode_done(out);
        break;
    case SYNC_ERROR: {
        char t[SYNC_MAX_ERROR_TEXT + 1];
        memcpy(t, m->u.error.text, m->u.error.len);
        t[m->u.error.len] = '\0';
        e = sync_encode_error(out, (herr)m->u.error.code, t);
        break;
    }
    case SYNC_PUSH:
        e = sync_encode_push(out, m->u.push.env, m->u.push.len);
        break;
    case SYNC_ZEVENTS: {
        /* The compressed bytes are the compressor's choice: what is kept is the
         * message around them. */
        struct mp_writer w;
        mp_writer_init(&w, out);
        mp_write_array(&w, 3);
        mp_write_uint(&w, SYNC_ZEVENTS);
        mp_write_uint(&w, m->u.zevents.size);
        mp_write_bin(&w, m->u.zevents.data, m->u.zevents.len);
        e = mp_writer_status(&w);
        break;
    }
    case SYNC_SKETCH:
        e = sync_encode_sketch(out, m->u.sketch.sum);
        break;
    }
    assert_int_equal(e, HERR_OK);
}

static void test_wire_vectors(void **state)
{
    (void)state;
    uint8_t buf[256];
    struct hbuf out;
    hbuf_init(&out, HEARTH_MAX_FRAME);
    for (size_t v = 0; v < sizeof vectors / sizeof *vectors; v++) {
        size_t n = unhex(buf, sizeof buf, vectors[v].hex);
        struct sync_msg m;
        const char *why = NULL;
        assert_int_equal(sync_msg_decode(&m, buf, n, &why), HERR_OK);
        assert_int_equal(m.type, vectors[v].type);
        hbuf_reset(&out);
        reencode(&m, &out);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.data, buf, n);
    }
    /* Fields of a few. */
    struct sync_msg m;
    const char *why;
    size_t n = unhex(buf, sizeof buf, vectors[1].hex);
    assert_int_equal(sync_msg_decode(&m, buf, n, &why), HERR_OK);
    assert_true(m.u.hello.version == 1 && m.u.hello.has_forum && m.u.hello.forum[7] == 0xa7 &&
                m.u.hello.caps == 3 && m.u.hello.frame_log2 == 20 && m.u.hello.count == 1000000 &&
                m.u.hello.has_fp && m.u.hello.plan == 0);
    n = unhex(buf, sizeof buf, vectors[2].hex);
    assert_int_equal(sync_msg_decode(&m, buf, n, &why), HERR_OK);
    assert_false(m.u.hello.has_fp);
    n = unhex(buf, sizeof buf, vectors[4].hex);
    assert_int_equal(sync_msg_decode(&m, buf, n, &why), HERR_OK);
    assert_true(m.u.symbols.start == 0 && m.u.symbols.last && m.u.symbols.nsyms == 2 &&
                m.u.symbols.ncounts == 2);
    n = unhex(buf, sizeof buf, vectors[10].hex);
    assert_int_equal(sync_msg_decode(&m, buf, n, &why), HERR_OK);
    assert_true(m.u.error.code == HERR_WRONG_FORUM && m.u.error.len == 33);
    n = unhex(buf, sizeof buf, vectors[14].hex);
    assert_int_equal(sync_msg_decode(&m, buf, n, &why), HERR_OK);
    assert_true(m.u.hello.plan == SYNC_PLAN_SUFFIX_I && m.u.hello.has_sum &&
                m.u.hello.sum[15] == 0x0f && m.u.hello.extra == 0);
    /* The d = 0 exchange at a million events is 39 + 13 = 52 bytes. */
    assert_int_equal(
        unhex(buf, sizeof buf, vectors[1].hex) + unhex(buf, sizeof buf, vectors[2].hex), 52);
    hbuf_release(&out);
}

static void expect_reject(const char *hex, herr code);

/* ZEVENTS: the vector decompresses to the EVENTS vector; our encoder's output does
 * too; every way to ask for more than the bound, or to be other than one plain zstd
 * frame of the stated size, is refused before anything is allocated or produced. */
static void test_wire_zevents(void **state)
{
    (void)state;
    uint8_t buf[256], evb[64];
    struct sync_msg m;
    const char *why = NULL;
    struct hbuf out, z;
    hbuf_init(&out, HEARTH_MAX_FRAME);
    hbuf_init(&z, SIZE_MAX);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_true(d && c);
    size_t nev = unhex(evb, sizeof evb, vectors[8].hex); /* EVENTS */
    size_t n = unhex(buf, sizeof buf, vectors[12].hex);  /* ZEVENTS */
    assert_int_equal(sync_msg_decode(&m, buf, n, &why), HERR_OK);
    assert_int_equal(m.u.zevents.size, nev);
    assert_int_equal(sync_zevents_inflate(d, &m.u.zevents, 1u << 17, &out, &why), HERR_OK);
    assert_int_equal(out.len, nev);
    assert_memory_equal(out.data, evb, nev);
    /* Our encoder. */
    assert_int_equal(sync_encode_zevents(&z, c, evb, nev), HERR_OK);
    assert_int_equal(sync_msg_decode(&m, z.data, z.len, &why), HERR_OK);
    assert_int_equal(sync_zevents_inflate(d, &m.u.zevents, 1u << 17, &out, &why), HERR_OK);
    assert_memory_equal(out.data, evb, nev);
    /* A stated size above the receiver's frame: refused, nothing allocated. */
    struct sync_zevents bad = m.u.zevents;
    struct hbuf fresh;
    hbuf_init(&fresh, HEARTH_MAX_FRAME);
    bad.size = (1u << 17) + 1;
    assert_int_equal(sync_zevents_inflate(d, &bad, 1u << 17, &fresh, &why), HERR_TOO_LARGE);
    assert_true(fresh.cap == 0);
    /* A bomb: 1 MiB of zeros in a few bytes, stated as such, to a 128 KiB receiver. */
    uint8_t *zeros = calloc(1, 1u << 20);
    assert_non_null(zeros);
    hbuf_reset(&z);
    assert_int_equal(sync_encode_zevents(&z, c, zeros, 1u << 20), HERR_OK);
    assert_true(z.len < 200);
    assert_int_equal(sync_msg_decode(&m, z.data, z.len, &why), HERR_OK);
    assert_int_equal(sync_zevents_inflate(d, &m.u.zevents, 1u << 17, &fresh, &why), HERR_TOO_LARGE);
    assert_true(fresh.cap == 0);
    /* ... stating a small size while its frame says 1 MiB. */
    bad = m.u.zevents;
    bad.size = 100;
    assert_int_equal(sync_zevents_inflate(d, &bad, 1u << 17, &fresh, &why), HERR_TOO_LARGE);
    assert_true(fresh.cap == 0);
    /* ... and within the bound, but stating less than its frame holds. */
    uint8_t fr[64];
    size_t fl = unhex(fr, sizeof fr, "28b52ffd202b95000060920691c42693c42011c400c001000d3802");
    fr[5] = 0x20; /* frame content size 32 instead of 43 */
    bad.data = fr;
    bad.len = (uint32_t)fl;
    bad.size = 32;
    assert_int_equal(sync_zevents_inflate(d, &bad, 1u << 17, &out, &why), HERR_MALFORMED);
    fr[5] = 0x2b;
    bad.size = 43;
    assert_int_equal(sync_zevents_inflate(d, &bad, 1u << 17, &out, &why), HERR_OK);
    /* Not exactly one frame: two frames, a truncated one, a skippable one, garbage. */
    uint8_t two[128];
    memcpy(two, fr, fl);
    memcpy(two + fl, fr, fl);
    bad.data = two;
    bad.len = (uint32_t)(2 * fl);
    assert_int_equal(sync_zevents_inflate(d, &bad, 1u << 17, &out, &why), HERR_MALFORMED);
    bad.len = (uint32_t)(fl - 1);
    assert_int_equal(sync_zevents_inflate(d, &bad, 1u << 17, &out, &why), HERR_MALFORMED);
    uint8_t skip[12] = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
    bad.data = skip;
    bad.len = sizeof skip;
    assert_int_equal(sync_zevents_inflate(d, &bad, 1u << 17, &out, &why), HERR_MALFORMED);
    bad.data = evb;
    bad.len = (uint32_t)nev;
    assert_int_equal(sync_zevents_inflate(d, &bad, 1u << 17, &out, &why), HERR_MALFORMED);
    /* A frame without its content size (streamed). */
    ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
    uint8_t st[128];
    ZSTD_outBuffer ob = {st, sizeof st, 0};
    ZSTD_inBuffer ib = {evb, nev, 0};
    assert_false(ZSTD_isError(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_continue)));
    assert_int_equal(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end), 0);
    bad.data = st;
    bad.len = (uint32_t)ob.pos;
    bad.size = (uint32_t)nev;
    assert_int_equal(ZSTD_getFrameContentSize(st, ob.pos), ZSTD_CONTENTSIZE_UNKNOWN);
    assert_int_equal(sync_zevents_inflate(d, &bad, 1u << 17, &out, &why), HERR_MALFORMED);
    /* The decoder's own checks. */
    expect_reject("930a00c40100", HERR_INVALID);                             /* size 0 */
    expect_reject("930ace00100001c40100", HERR_TOO_LARGE);                   /* size 2^20 + 1 */
    expect_reject("930a2bc400", HERR_INVALID);                               /* no data */
    expect_reject("930a2bc0", HERR_MALFORMED);                               /* data not a bin */
    expect_reject("920bc40f000102030405060708090a0b0c0d0e", HERR_MALFORMED); /* 15-byte sum */
    free(zeros);
    hbuf_release(&fresh);
    hbuf_release(&out);
    hbuf_release(&z);
    ZSTD_freeDCtx(d);
    ZSTD_freeCCtx(c);
}

static void expect_reject(const char *hex, herr code)
{
    uint8_t buf[512];
    size_t n = unhex(buf, sizeof buf, hex);
    struct sync_msg m;
    const char *why = NULL;
    herr e = sync_msg_decode(&m, buf, n, &why);
    if (e != code)
        print_error("%s: got %s (%s), want %s\n", hex, herr_str(e), why ? why : "", herr_str(code));
    assert_int_equal(e, code);
    assert_non_null(why);
    assert_true(why[0] != '\0');
}

static void test_wire_truncated_and_trailing(void **state)
{
    (void)state;
    uint8_t buf[256], big[300];
    for (size_t v = 0; v < sizeof vectors / sizeof *vectors; v++) {
        size_t n = unhex(buf, sizeof buf, vectors[v].hex);
        for (size_t k = 0; k < n; k++) {
            struct sync_msg m;
            const char *why = NULL;
            assert_int_equal(sync_msg_decode(&m, buf, k, &why), HERR_MALFORMED);
            assert_non_null(why);
        }
        memcpy(big, buf, n);
        big[n] = 0x00;
        struct sync_msg m;
        const char *why = NULL;
        assert_int_equal(sync_msg_decode(&m, big, n + 1, &why), HERR_MALFORMED);
        assert_string_equal(why, "trailing bytes after the message");
    }
}

static void test_wire_rejects(void **state)
{
    (void)state;
    /* Non-canonical encodings. */
    expect_reject("9303ce0000012c00", HERR_NONCANONICAL); /* 300 as uint32 */
    expect_reject("dc00010"
                  "7",
                  HERR_NONCANONICAL); /* DONE as array16 */
    expect_reject("9305c3c5001000010203040506070809"
                  "0a0b0c0d0e0f",
                  HERR_NONCANONICAL);
    expect_reject("9208a0", HERR_MALFORMED); /* ERROR with 2 fields */
    /* Oversize counts and indices. */
    expect_reject("9206dc4001", HERR_TOO_LARGE);        /* 16385 envelopes */
    expect_reject("9206dd00004001", HERR_NONCANONICAL); /* ... as array32 */
}

static void test_wire_rejects_detail(void **state)
{
    (void)state;
    /* SYMBOLS with start = RECON_M (262144 = ce00040000). */
    expect_reject("9502ce00040000c2c400c400", HERR_TOO_LARGE);
    /* A HELLO claiming 2^40 + 1 events; one with a frame of 2^64. */
    expect_reject("980101c00314cf0000010000000001c000", HERR_TOO_LARGE);
    expect_reject("980101c0034000c000", HERR_INVALID);
    /* MORE past the last symbol, MORE for nothing. */
    expect_reject("9303ce0004000100", HERR_TOO_LARGE);
    expect_reject("93030000", HERR_INVALID);
    /* An ERROR text of 201 bytes. */
    char hex[600] = "9308"
                    "13"
                    "d9c9";
    for (int i = 0; i < 201; i++)
        strcat(hex, "61");
    expect_reject(hex, HERR_TOO_LARGE);
    /* Unknown type, signed and float type fields. */
    expect_reject("910c", HERR_PROTOCOL);
    expect_reject("91d00a", HERR_MALFORMED);
    expect_reject("91ca00000000", HERR_MALFORMED);
}

static void test_wire_hello_rules(void **state)
{
    (void)state;
    /* version 0 */
    expect_reject("980100c0031400c000", HERR_VERSION);
    /* frame 2^16: too small to carry an event */
    expect_reject("980101c0031000c000", HERR_INVALID);
    /* an unknown plan */
    expect_reject("980101c0031400c007", HERR_INVALID);
    /* a forum tag of 7 bytes */
    expect_reject("980101c40701020304050607031400c000", HERR_MALFORMED);
    /* a fingerprint of 15 bytes */
    expect_reject("980101c0031400c40f000102030405060708090a0b0c0d0e00", HERR_MALFORMED);
    /* too few fields */
    expect_reject("970101c0031400c0", HERR_MALFORMED);
    /* a later version's extra fields are skipped, if canonical */
    uint8_t buf[64];
    size_t n = unhex(buf, sizeof buf,
                     "9a0102c00314"
                     "00"
                     "c000"
                     "92a178c3"
                     "81a17901");
    struct sync_msg m;
    const char *why;
    assert_int_equal(sync_msg_decode(&m, buf, n, &why), HERR_OK);
    assert_true(m.u.hello.version == 2 && m.u.hello.extra == 2);
    expect_reject("990101c0031400c000ca00000000", HERR_MALFORMED); /* a float */
    expect_reject("990101c0031400c000cc05", HERR_NONCANONICAL);
}

static void test_wire_other_rules(void **state)
{
    (void)state;
    expect_reject("950200c2c415"
                  "000000000000000000000000000000000000000000"
                  "c400",
                  HERR_MALFORMED);                       /* 21 bytes of symbols */
    expect_reject("950200c2c400c40101", HERR_MALFORMED); /* 1 byte of counts */
    expect_reject("9305c3c40f000102030405060708090a0b0c0d0e", HERR_MALFORMED); /* 15-byte key */
    expect_reject("920690", HERR_INVALID);                                     /* no envelopes */
    expect_reject("920691a0", HERR_MALFORMED);                                 /* a str */
    expect_reject("92069190", HERR_MALFORMED);
    expect_reject("9209c0", HERR_MALFORMED);
    expect_reject("9307", HERR_MALFORMED); /* MORE without fields */
    expect_reject("90", HERR_MALFORMED);   /* empty array */
    expect_reject("07", HERR_MALFORMED);   /* not an array */
    expect_reject("", HERR_MALFORMED);
    /* A message above the frame limit is refused before a byte is read. */
    uint8_t *huge = calloc(1, HEARTH_MAX_FRAME + 1);
    assert_non_null(huge);
    struct sync_msg m;
    const char *why = NULL;
    assert_int_equal(sync_msg_decode(&m, huge, HEARTH_MAX_FRAME + 1, &why), HERR_TOO_LARGE);
    free(huge);
    /* The standalone push. */
    uint8_t env[MEMSTORE_ENV_LEN], hdr[MEMSTORE_HEADER_LEN];
    memset(hdr, 0x11, sizeof hdr);
    memstore_envelope(hdr, env);
    struct hbuf out;
    hbuf_init(&out, HEARTH_MAX_FRAME);
    assert_int_equal(sync_encode_push(&out, env, sizeof env), HERR_OK);
    const uint8_t *p;
    size_t len;
    assert_int_equal(sync_push_decode(out.data, out.len, &p, &len, &why), HERR_OK);
    assert_true(len == sizeof env && memcmp(p, env, len) == 0);
    hbuf_reset(&out);
    assert_int_equal(sync_encode_done(&out), HERR_OK);
    assert_int_equal(sync_push_decode(out.data, out.len, &p, &len, &why), HERR_PROTOCOL);
    hbuf_release(&out);
}

/* ---- the session over the stand-in store ---- */

struct side {
    struct memstore *ms;
    struct recon_index *idx;
    struct sync_session *s;
};

static const uint8_t FORUM[HEARTH_ID_LEN] = {0x42, 1, 2, 3, 4, 5, 6, 7};

static void side_init(struct side *x, const uint8_t *forum)
{
    assert_int_equal(memstore_new(&x->ms, forum), HERR_OK);
    x->idx = new_index();
    x->s = NULL;
}

static void side_add(struct side *x, const uint8_t h[MEMSTORE_HEADER_LEN])
{
    herr e = memstore_add(x->ms, h, NULL);
    assert_true(e == HERR_OK || e == HERR_DUPLICATE);
}

static void side_release(struct side *x)
{
    sync_session_destroy(&x->s);
    recon_index_destroy(&x->idx);
    memstore_destroy(&x->ms);
}

static void rand_header(uint8_t h[MEMSTORE_HEADER_LEN])
{
    rand_id(h);
    if (h[0] == 0xff)
        h[0] = 0;
}

/* Hand a message over; a failure shows in the session's result. */
static void deliver(struct sync_session *to, const uint8_t *m, size_t n)
{
    herr e = sync_session_receive(to, m, n);
    (void)e;
}

/* Run a session between two sides until neither has anything to say. */
static void run_pair(struct side *i, struct side *r, const struct sync_config *ci,
                     const struct sync_config *cr)
{
    assert_int_equal(sync_session_new_ops(&i->s, memstore_ops(), i->ms, i->idx, ci), HERR_OK);
    assert_int_equal(sync_session_new_ops(&r->s, memstore_ops(), r->ms, r->idx, cr), HERR_OK);
    assert_int_equal(sync_session_start(i->s), HERR_OK);
    for (int guard = 0; guard < 10000; guard++) {
        bool moved = false;
        const uint8_t *m;
        size_t n;
        while (sync_session_next(i->s, &m, &n)) {
            moved = true;
            deliver(r->s, m, n);
        }
        while (sync_session_next(r->s, &m, &n)) {
            moved = true;
            deliver(i->s, m, n);
        }
        if (!moved)
            break;
    }
}

static bool same_set(struct side *a, struct side *b)
{
    if (memstore_count(a->ms) != memstore_count(b->ms))
        return false;
    struct recon_index *x = new_index(), *y = new_index();
    struct sync_session *s;
    assert_int_equal(sync_session_new_ops(&s, memstore_ops(), a->ms, x, NULL), HERR_OK);
    sync_session_destroy(&s);
    assert_int_equal(sync_session_new_ops(&s, memstore_ops(), b->ms, y, NULL), HERR_OK);
    sync_session_destroy(&s);
    uint8_t f1[16], f2[16];
    recon_index_fingerprint(x, f1);
    recon_index_fingerprint(y, f2);
    recon_index_destroy(&x);
    recon_index_destroy(&y);
    return memcmp(f1, f2, 16) == 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Positions (in the shared sequence) before which each extra event arrives: all at
 * the end when newest, else random but never the end (so that no extra is newest). */
static uint64_t *positions(int shared, int d, bool newest)
{
    uint64_t *p = calloc((size_t)d + 1, sizeof *p);
    assert_non_null(p);
    for (int k = 0; k < d; k++)
        p[k] = newest || shared == 0 ? (uint64_t)shared : rng() % (uint64_t)shared;
    qsort(p, (size_t)d, sizeof *p, cmp_u64);
    return p;
}

static void make_pair(struct side *i, struct side *r, int shared, int di, int dr, bool newest)
{
    side_init(i, FORUM);
    side_init(r, FORUM);
    uint64_t *pi = positions(shared, di, newest), *pr = positions(shared, dr, newest);
    int ki = 0, kr = 0;
    for (int k = 0; k <= shared; k++) {
        uint8_t h[MEMSTORE_HEADER_LEN];
        for (; ki < di && pi[ki] == (uint64_t)k; ki++) {
            rand_header(h);
            side_add(i, h);
        }
        for (; kr < dr && pr[kr] == (uint64_t)k; kr++) {
            rand_header(h);
            side_add(r, h);
        }
        if (k == shared)
            break;
        rand_header(h);
        side_add(i, h);
        side_add(r, h);
    }
    free(pi);
    free(pr);
}

static void expect_ok(struct side *i, struct side *r)
{
    const char *why;
    assert_int_equal(sync_session_result(i->s, &why), HERR_OK);
    assert_int_equal(sync_session_result(r->s, &why), HERR_OK);
    assert_true(sync_session_done(i->s) && sync_session_done(r->s));
    assert_true(same_set(i, r));
}

static void test_session_equal_sets(void **state)
{
    (void)state;
    struct side i, r;
    make_pair(&i, &r, 70000, 0, 0, true);
    run_pair(&i, &r, NULL, NULL);
    expect_ok(&i, &r);
    const struct sync_stats *a = sync_session_stats(i.s), *b = sync_session_stats(r.s);
    assert_true(a->bytes_sent + b->bytes_sent <= 64);
    assert_int_equal(a->round_trips, 1);
    assert_true(a->msgs_sent == 1 && b->msgs_sent == 1);
    side_release(&i);
    side_release(&r);
}

static void test_session_plans(void **state)
{
    (void)state;
    struct {
        int shared, di, dr;
        bool newest;
        enum sync_plan plan;
        uint32_t max_rt;
    } cases[] = {
        {2000, 0, 1, true, SYNC_PLAN_SUFFIX_R, 1},  {2000, 3, 0, true, SYNC_PLAN_SUFFIX_I, 2},
        {2000, 3, 0, false, SYNC_PLAN_IBLT, 4},     {2000, 0, 1, false, SYNC_PLAN_ONE, 2},
        {2000, 40, 40, false, SYNC_PLAN_IBLT, 4},   {2000, 700, 500, true, SYNC_PLAN_IBLT, 4},
        {0, 5, 0, true, SYNC_PLAN_LIST_R, 2},       {0, 0, 5, true, SYNC_PLAN_LIST_I, 1},
        {10, 100, 0, true, SYNC_PLAN_LIST_R, 2},    {10, 0, 100, false, SYNC_PLAN_LIST_I, 2},
        {0, 0, 0, true, SYNC_PLAN_NONE, 1},         {2000, 1, 2, false, SYNC_PLAN_IBLT, 4},
        {2000, 1, 0, false, SYNC_PLAN_SUFFIX_I, 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct side i, r;
        make_pair(&i, &r, cases[c].shared, cases[c].di, cases[c].dr, cases[c].newest);
        run_pair(&i, &r, NULL, NULL);
        expect_ok(&i, &r);
        const struct sync_stats *a = sync_session_stats(i.s), *b = sync_session_stats(r.s);
        if (b->plan != cases[c].plan)
            print_error("case %zu: plan %s\n", c, sync_plan_name(b->plan));
        assert_int_equal(b->plan, cases[c].plan);
        assert_true(a->round_trips >= 1 && a->round_trips <= cases[c].max_rt);
        assert_true(a->events_sent + b->events_sent == (uint64_t)(cases[c].di + cases[c].dr));
        assert_true(a->events_accepted + b->events_accepted ==
                    (uint64_t)(cases[c].di + cases[c].dr));
        assert_int_equal(a->events_duplicate + b->events_duplicate, 0);
        side_release(&i);
        side_release(&r);
    }
}

static void test_session_modes(void **state)
{
    (void)state;
    struct sync_config want_only = {.mode = SYNC_MODE_WANT_ONLY};
    struct sync_config push_only = {.mode = SYNC_MODE_PUSH_ONLY};
    struct side i, r;
    make_pair(&i, &r, 3000, 30, 20, false);
    run_pair(&i, &r, &want_only, NULL);
    const char *why;
    assert_int_equal(sync_session_result(i.s, &why), HERR_OK);
    assert_int_equal(sync_session_result(r.s, &why), HERR_OK);
    assert_true(memstore_count(i.ms) == 3050 && memstore_count(r.ms) == 3020);
    side_release(&i);
    side_release(&r);

    make_pair(&i, &r, 3000, 30, 20, false);
    run_pair(&i, &r, &push_only, NULL);
    assert_int_equal(sync_session_result(i.s, &why), HERR_OK);
    assert_int_equal(sync_session_result(r.s, &why), HERR_OK);
    assert_true(memstore_count(i.ms) == 3030 && memstore_count(r.ms) == 3050);
    side_release(&i);
    side_release(&r);
}

/* The responder's set changes between its HELLO and its symbols: the decode does not
 * verify, the initiator lists its ids, and the sets still converge. */
static void test_session_fallback_on_bad_decode(void **state)
{
    (void)state;
    struct side i, r;
    make_pair(&i, &r, 3000, 20, 20, false);
    assert_int_equal(sync_session_new_ops(&i.s, memstore_ops(), i.ms, i.idx, NULL), HERR_OK);
    assert_int_equal(sync_session_new_ops(&r.s, memstore_ops(), r.ms, r.idx, NULL), HERR_OK);
    assert_int_equal(sync_session_start(i.s), HERR_OK);
    const uint8_t *m;
    size_t n;
    assert_true(sync_session_next(i.s, &m, &n));
    assert_int_equal(sync_session_receive(r.s, m, n), HERR_OK);
    /* An event arrives at the responder behind the session's back. */
    uint8_t h[MEMSTORE_HEADER_LEN], id[HEARTH_ID_LEN];
    rand_header(h);
    assert_int_equal(memstore_add(r.ms, h, id), HERR_OK);
    assert_int_equal(recon_index_add(r.idx, id, memstore_count(r.ms)), HERR_OK);
    for (int guard = 0; guard < 1000; guard++) {
        bool moved = false;
        while (sync_session_next(r.s, &m, &n)) {
            moved = true;
            deliver(i.s, m, n);
        }
        while (sync_session_next(i.s, &m, &n)) {
            moved = true;
            deliver(r.s, m, n);
        }
        if (!moved)
            break;
    }
    const char *why;
    assert_int_equal(sync_session_result(i.s, &why), HERR_OK);
    assert_int_equal(sync_session_result(r.s, &why), HERR_OK);
    assert_true(sync_session_stats(i.s)->fell_back);
    /* The session carries the set the responder announced; the late event waits. */
    assert_true(memstore_count(i.ms) == 3040);
    assert_int_equal(memstore_count(r.ms), 3041);
    sync_session_destroy(&i.s);
    sync_session_destroy(&r.s);
    run_pair(&i, &r, NULL, NULL);
    expect_ok(&i, &r);
    assert_true(memstore_count(i.ms) == 3041);
    side_release(&i);
    side_release(&r);
}

/* Two sessions of one node share its index: the second, made while the first is
 * reconciling, does not catch the index up under it; a later session does. */
static void test_session_shared_index(void **state)
{
    (void)state;
    struct side i1, r, i2;
    make_pair(&i1, &r, 3000, 40, 40, false);
    side_init(&i2, FORUM);
    assert_int_equal(sync_session_new_ops(&i1.s, memstore_ops(), i1.ms, i1.idx, NULL), HERR_OK);
    assert_int_equal(sync_session_new_ops(&r.s, memstore_ops(), r.ms, r.idx, NULL), HERR_OK);
    assert_int_equal(sync_session_start(i1.s), HERR_OK);
    const uint8_t *m;
    size_t n;
    assert_true(sync_session_next(i1.s, &m, &n));
    deliver(r.s, m, n); /* the responder answers with its hello and symbols */
    assert_true(recon_index_held(r.idx));
    /* New events reach the responder's store; another peer connects. */
    for (int k = 0; k < 5; k++) {
        uint8_t h[MEMSTORE_HEADER_LEN];
        rand_header(h);
        side_add(&r, h);
    }
    uint64_t before = recon_index_count(r.idx);
    struct sync_session *r2 = NULL;
    assert_int_equal(sync_session_new_ops(&r2, memstore_ops(), r.ms, r.idx, NULL), HERR_OK);
    assert_true(recon_index_count(r.idx) == before); /* not caught up under r.s */
    for (int guard = 0; guard < 1000; guard++) {
        bool moved = false;
        while (sync_session_next(r.s, &m, &n)) {
            moved = true;
            deliver(i1.s, m, n);
        }
        while (sync_session_next(i1.s, &m, &n)) {
            moved = true;
            deliver(r.s, m, n);
        }
        if (!moved)
            break;
    }
    const char *why;
    assert_int_equal(sync_session_result(i1.s, &why), HERR_OK);
    assert_int_equal(sync_session_result(r.s, &why), HERR_OK);
    assert_false(sync_session_stats(i1.s)->fell_back);
    sync_session_destroy(&r2);
    assert_false(recon_index_held(r.idx));
    /* The next session catches up and sends the five new events too. */
    sync_session_destroy(&i1.s);
    sync_session_destroy(&r.s);
    run_pair(&i1, &r, NULL, NULL);
    expect_ok(&i1, &r);
    assert_true(recon_index_count(r.idx) == memstore_count(r.ms));
    side_release(&i1);
    side_release(&i2);
    side_release(&r);
}

/* A difference too large for the symbols: listing, and convergence. */
static void test_session_fallback_large(void **state)
{
    (void)state;
    struct side i, r;
    make_pair(&i, &r, 200000, 150000, 150000, true);
    run_pair(&i, &r, NULL, NULL);
    expect_ok(&i, &r);
    assert_true(sync_session_stats(i.s)->fell_back);
    assert_true(sync_session_stats(i.s)->round_trips <= 3);
    side_release(&i);
    side_release(&r);
}

static void count_rejections(void *ctx, const char *line)
{
    if (strstr(line, "rejected event"))
        (*(unsigned *)ctx)++;
}

static void test_session_rejected_events(void **state)
{
    (void)state;
    struct side i, r;
    make_pair(&i, &r, 100, 0, 0, true);
    /* The responder holds an event the initiator's store will refuse. */
    uint8_t h[MEMSTORE_HEADER_LEN];
    rand_header(h);
    h[0] = 0xff;
    side_add(&r, h);
    unsigned lines = 0;
    struct sync_config c = {.log = count_rejections, .log_ctx = &lines};
    run_pair(&i, &r, &c, NULL);
    const char *why;
    assert_int_equal(sync_session_result(i.s, &why), HERR_OK);
    const struct sync_stats *a = sync_session_stats(i.s);
    assert_int_equal(a->events_rejected, 1);
    assert_int_equal(a->events_accepted, 0);
    assert_int_equal(lines, 1);
    assert_true(memstore_count(i.ms) == 100);
    side_release(&i);
    side_release(&r);
}

static void test_session_garbage_and_forum(void **state)
{
    (void)state;
    struct side i, r;
    make_pair(&i, &r, 10, 0, 3, false);
    assert_int_equal(sync_session_new_ops(&r.s, memstore_ops(), r.ms, r.idx, NULL), HERR_OK);
    static const uint8_t garbage[] = {0x93, 0x01, 0xff, 0x00};
    assert_int_equal(sync_session_receive(r.s, garbage, sizeof garbage), HERR_PROTOCOL);
    const uint8_t *m;
    size_t n;
    assert_true(sync_session_next(r.s, &m, &n));
    struct sync_msg msg;
    const char *why;
    assert_int_equal(sync_msg_decode(&msg, m, n, &why), HERR_OK);
    assert_int_equal(msg.type, SYNC_ERROR);
    assert_false(sync_session_next(r.s, &m, &n));
    assert_true(sync_session_done(r.s));
    assert_int_equal(sync_session_result(r.s, &why), HERR_PROTOCOL);
    assert_true(strlen(why) > 0);
    /* Messages before hello, unknown types. */
    sync_session_destroy(&r.s);
    assert_int_equal(sync_session_new_ops(&r.s, memstore_ops(), r.ms, r.idx, NULL), HERR_OK);
    static const uint8_t done[] = {0x91, 0x07};
    assert_int_equal(sync_session_receive(r.s, done, sizeof done), HERR_PROTOCOL);
    sync_session_destroy(&r.s);
    assert_int_equal(sync_session_new_ops(&r.s, memstore_ops(), r.ms, r.idx, NULL), HERR_OK);
    static const uint8_t unknown[] = {0x91, 0x0a};
    assert_int_equal(sync_session_receive(r.s, unknown, sizeof unknown), HERR_PROTOCOL);
    side_release(&i);
    side_release(&r);

    /* Another forum. */
    uint8_t other[HEARTH_ID_LEN] = {0x99};
    side_init(&i, FORUM);
    side_init(&r, other);
    uint8_t h[MEMSTORE_HEADER_LEN];
    rand_header(h);
    side_add(&i, h);
    rand_header(h);
    side_add(&r, h);
    run_pair(&i, &r, NULL, NULL);
    assert_int_equal(sync_session_result(i.s, &why), HERR_WRONG_FORUM);
    assert_int_equal(sync_session_result(r.s, &why), HERR_WRONG_FORUM);
    assert_true(memstore_count(i.ms) == 1 && memstore_count(r.ms) == 1);
    side_release(&i);
    side_release(&r);
}

static void test_session_api_misuse(void **state)
{
    (void)state;
    struct side i;
    side_init(&i, FORUM);
    struct sync_config bad = {.max_frame = 1000};
    struct sync_session *s = NULL;
    assert_int_equal(sync_session_new_ops(&s, memstore_ops(), i.ms, i.idx, &bad), HERR_USAGE);
    assert_null(s);
    bad.max_frame = 3u << 17;
    assert_int_equal(sync_session_new_ops(&s, memstore_ops(), i.ms, i.idx, &bad), HERR_USAGE);
    bad.max_frame = 1u << 17;
    assert_int_equal(sync_session_new_ops(&s, memstore_ops(), i.ms, i.idx, &bad), HERR_OK);
    assert_int_equal(sync_session_start(s), HERR_OK);
    assert_int_equal(sync_session_start(s), HERR_STATE);
    const char *why;
    assert_int_equal(sync_session_result(s, &why), HERR_STATE);
    assert_false(sync_session_done(s));
    sync_session_destroy(&s);
    assert_null(s);
    sync_session_destroy(&s);
    side_release(&i);
}

/* A small frame size: many frames of symbols, keys and events, all in order. */
static void test_session_small_frames(void **state)
{
    (void)state;
    struct sync_config small = {.max_frame = 1u << 17};
    struct side i, r;
    make_pair(&i, &r, 30000, 9000, 9000, false);
    run_pair(&i, &r, &small, &small);
    expect_ok(&i, &r);
    assert_true(sync_session_stats(i.s)->msgs_recv > 3);
    side_release(&i);
    side_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_and_map_vectors),
        cmocka_unit_test(test_map_density),
        cmocka_unit_test(test_fingerprint_and_symbol_vectors),
        cmocka_unit_test(test_index_symbols_match_mapping),
        cmocka_unit_test(test_index_duplicate_arrival),
        cmocka_unit_test(test_index_order_independent),
        cmocka_unit_test(test_index_catch_up),
        cmocka_unit_test(test_index_save_load),
        cmocka_unit_test(test_index_suffix),
        cmocka_unit_test(test_decode_grid),
        cmocka_unit_test(test_decode_large),
        cmocka_unit_test(test_decode_wrong_fingerprint),
        cmocka_unit_test(test_decoder_rejects),
        cmocka_unit_test(test_decoder_garbage),
        cmocka_unit_test(test_estimate_and_policy),
        cmocka_unit_test(test_policy_too_large),
        cmocka_unit_test(test_wire_vectors),
        cmocka_unit_test(test_wire_truncated_and_trailing),
        cmocka_unit_test(test_wire_zevents),
        cmocka_unit_test(test_wire_rejects),
        cmocka_unit_test(test_wire_rejects_detail),
        cmocka_unit_test(test_wire_hello_rules),
        cmocka_unit_test(test_wire_other_rules),
        cmocka_unit_test(test_session_equal_sets),
        cmocka_unit_test(test_session_plans),
        cmocka_unit_test(test_session_modes),
        cmocka_unit_test(test_session_fallback_on_bad_decode),
        cmocka_unit_test(test_session_shared_index),
        cmocka_unit_test(test_session_fallback_large),
        cmocka_unit_test(test_session_rejected_events),
        cmocka_unit_test(test_session_garbage_and_forum),
        cmocka_unit_test(test_session_api_misuse),
        cmocka_unit_test(test_session_small_frames),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

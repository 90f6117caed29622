/* test_crypto_seal.c - author seeds sealed under a passphrase: a roundtrip with the
 * production limits, wrong passphrases, altered, truncated and padded blobs, limits
 * out of bounds, and the wiping of the output on failure. Most cases use low limits
 * (seed_seal_limits) so that the run stays short; the production path runs once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/crypto.h"
#include "base/limits.h"
#include "tests/unit/testutil.h"

/* Low limits for the many cases: 1 pass over 64 KiB. */
#define LOW_OPS 1
#define LOW_MEM (64 * 1024)

static const char PASS[] = "correct horse battery staple";

static void seal_low(uint8_t out[HEARTH_SEALED_SEED_LEN], const uint8_t seed[HEARTH_SEED_LEN])
{
    assert_int_equal(seed_seal_limits(out, seed, PASS, strlen(PASS), LOW_OPS, LOW_MEM), HERR_OK);
}

static void test_roundtrip_production(void **state)
{
    uint8_t seed[HEARTH_SEED_LEN], got[HEARTH_SEED_LEN], blob[HEARTH_SEALED_SEED_LEN];
    uint64_t ops, mem;
    testutil_seed(seed, 1);
    assert_int_equal(seed_seal(blob, seed, PASS, strlen(PASS)), HERR_OK);
    assert_int_equal(blob[0], SEED_SEAL_VERSION);
    assert_int_equal(seed_sealed_limits(blob, sizeof blob, &ops, &mem), HERR_OK);
    assert_int_equal(ops, SEED_SEAL_OPSLIMIT);
    assert_int_equal(mem, SEED_SEAL_MEMLIMIT);
    assert_int_equal(seed_unseal(got, blob, sizeof blob, PASS, strlen(PASS)), HERR_OK);
    assert_memory_equal(got, seed, HEARTH_SEED_LEN);
    /* The seed is not in the blob in the clear. */
    assert_null(memmem(blob, sizeof blob, seed, 8));
}

static void test_roundtrip_low_and_fresh_salt(void **state)
{
    uint8_t seed[HEARTH_SEED_LEN], got[HEARTH_SEED_LEN];
    uint8_t a[HEARTH_SEALED_SEED_LEN], b[HEARTH_SEALED_SEED_LEN];
    testutil_seed(seed, 2);
    seal_low(a, seed);
    seal_low(b, seed);
    /* A new salt and nonce every time. */
    assert_memory_not_equal(a + 9, b + 9, HEARTH_SEALED_SEED_LEN - 9);
    assert_int_equal(seed_unseal(got, a, sizeof a, PASS, strlen(PASS)), HERR_OK);
    assert_memory_equal(got, seed, HEARTH_SEED_LEN);
    assert_int_equal(seed_unseal(got, b, sizeof b, PASS, strlen(PASS)), HERR_OK);
    assert_memory_equal(got, seed, HEARTH_SEED_LEN);
    /* An empty passphrase is the front end's business: the seal works. */
    assert_int_equal(seed_seal_limits(a, seed, "", 0, LOW_OPS, LOW_MEM), HERR_OK);
    assert_int_equal(seed_unseal(got, a, sizeof a, "", 0), HERR_OK);
    assert_memory_equal(got, seed, HEARTH_SEED_LEN);
}

static void test_wrong_passphrase(void **state)
{
    uint8_t seed[HEARTH_SEED_LEN], got[HEARTH_SEED_LEN], blob[HEARTH_SEALED_SEED_LEN];
    static const uint8_t zero[HEARTH_SEED_LEN];
    testutil_seed(seed, 3);
    seal_low(blob, seed);
    memset(got, 0xaa, sizeof got);
    assert_int_equal(seed_unseal(got, blob, sizeof blob, "correct horse battery stapl", 27),
                     HERR_DENIED);
    assert_memory_equal(got, zero, sizeof zero);
    assert_int_equal(seed_unseal(got, blob, sizeof blob, "", 0), HERR_DENIED);
    /* Bytes after the passphrase's length do not count. */
    assert_int_equal(seed_unseal(got, blob, sizeof blob, PASS, strlen(PASS) - 1), HERR_DENIED);
}

/* Every single flipped bit is refused, never accepted and never a crash. */
static void test_flipped_bytes(void **state)
{
    uint8_t seed[HEARTH_SEED_LEN], got[HEARTH_SEED_LEN], blob[HEARTH_SEALED_SEED_LEN];
    testutil_seed(seed, 4);
    seal_low(blob, seed);
    for (size_t i = 0; i < sizeof blob; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            uint8_t bad[HEARTH_SEALED_SEED_LEN];
            memcpy(bad, blob, sizeof bad);
            bad[i] ^= (uint8_t)(1 << bit);
            herr e = seed_unseal(got, bad, sizeof bad, PASS, strlen(PASS));
            if (e != HERR_DENIED && e != HERR_MALFORMED)
                fail_msg("byte %zu bit %d: %s", i, bit, herr_str(e));
        }
    }
    /* The version byte and out-of-bounds limits are malformed before any hashing. */
    uint8_t bad[HEARTH_SEALED_SEED_LEN];
    memcpy(bad, blob, sizeof bad);
    bad[0] = 2;
    assert_int_equal(seed_unseal(got, bad, sizeof bad, PASS, strlen(PASS)), HERR_MALFORMED);
    memcpy(bad, blob, sizeof bad);
    bad[1] = 0x80; /* opslimit 2^31 */
    assert_int_equal(seed_unseal(got, bad, sizeof bad, PASS, strlen(PASS)), HERR_MALFORMED);
    memcpy(bad, blob, sizeof bad);
    bad[5] = 0x10; /* memlimit 256 GiB */
    assert_int_equal(seed_unseal(got, bad, sizeof bad, PASS, strlen(PASS)), HERR_MALFORMED);
    memcpy(bad, blob, sizeof bad);
    memset(bad + 1, 0, 4); /* opslimit 0 */
    assert_int_equal(seed_unseal(got, bad, sizeof bad, PASS, strlen(PASS)), HERR_MALFORMED);
}

static void test_truncated_and_padded(void **state)
{
    uint8_t seed[HEARTH_SEED_LEN], got[HEARTH_SEED_LEN], blob[HEARTH_SEALED_SEED_LEN + 1];
    testutil_seed(seed, 5);
    seal_low(blob, seed);
    for (size_t n = 0; n < HEARTH_SEALED_SEED_LEN; n++)
        assert_int_equal(seed_unseal(got, blob, n, PASS, strlen(PASS)), HERR_MALFORMED);
    blob[HEARTH_SEALED_SEED_LEN] = 0;
    assert_int_equal(seed_unseal(got, blob, sizeof blob, PASS, strlen(PASS)), HERR_MALFORMED);
    uint64_t ops, mem;
    assert_int_equal(seed_sealed_limits(blob, 10, &ops, &mem), HERR_MALFORMED);
}

static void test_limits_refused(void **state)
{
    uint8_t seed[HEARTH_SEED_LEN], blob[HEARTH_SEALED_SEED_LEN];
    static const uint8_t zero[HEARTH_SEALED_SEED_LEN];
    testutil_seed(seed, 6);
    assert_int_equal(seed_seal_limits(blob, seed, PASS, 4, 0, LOW_MEM), HERR_USAGE);
    assert_int_equal(seed_seal_limits(blob, seed, PASS, 4, HEARTH_SEAL_MAX_OPSLIMIT + 1, LOW_MEM),
                     HERR_USAGE);
    assert_int_equal(seed_seal_limits(blob, seed, PASS, 4, 1, 1024), HERR_USAGE);
    assert_int_equal(seed_seal_limits(blob, seed, PASS, 4, 1, HEARTH_SEAL_MAX_MEMLIMIT + 1024),
                     HERR_USAGE);
    assert_int_equal(seed_seal_limits(blob, seed, PASS, 4, 1, LOW_MEM + 1), HERR_USAGE);
    assert_memory_equal(blob, zero, sizeof zero);
}

int main(void)
{
    if (crypto_start())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_production),
        cmocka_unit_test(test_roundtrip_low_and_fresh_salt),
        cmocka_unit_test(test_wrong_passphrase),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_truncated_and_padded),
        cmocka_unit_test(test_limits_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* testutil.h - small helpers shared by the cmocka unit tests. */
#ifndef HEARTH_TESTUTIL_H
#define HEARTH_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* testutil_tmpdir - a fresh directory for one test, under $HEARTH_TEST_TMP (or /tmp).
 * The caller frees the string; the directory is left for inspection. */
char *testutil_tmpdir(const char *name);

/* testutil_seeded_key - a deterministic 32-byte seed for tests: byte i = n + i. */
void testutil_seed(uint8_t seed[32], uint8_t n);

#endif

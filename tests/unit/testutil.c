#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *testutil_tmpdir(const char *name)
{
    const char *base = getenv("HEARTH_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0700);
    size_t n = strlen(base) + strlen(name) + 16;
    char *path = malloc(n);
    if (!path)
        abort();
    snprintf(path, n, "%s/%s.XXXXXX", base, name);
    if (!mkdtemp(path)) {
        fprintf(stderr, "mkdtemp %s: %s\n", path, strerror(errno));
        abort();
    }
    return path;
}

void testutil_seed(uint8_t seed[32], uint8_t n)
{
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(n + i);
}

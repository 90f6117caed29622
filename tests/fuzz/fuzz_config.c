/* fuzz_config.c - the hearth.conf parser on arbitrary text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    struct config c;
    char why[300];
    config_defaults(&c);
    if (config_parse(&c, text, why, sizeof why) != HERR_OK && !why[0])
        __builtin_trap();
    free(text);
    return 0;
}

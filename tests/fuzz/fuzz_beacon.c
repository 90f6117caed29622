/* fuzz_beacon.c - the LAN discovery beacon decoder on arbitrary datagrams. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "node/discovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct beacon b;
    const char *why = NULL;
    if (beacon_decode(&b, data, size, &why) == HERR_OK) {
        /* What decodes must re-encode to the same bytes: the format is canonical. */
        uint8_t again[BEACON_MAX];
        size_t n;
        beacon_encode(&b, again, &n);
        if (n != size || memcmp(again, data, n) != 0)
            __builtin_trap();
    } else if (!why || !*why) {
        __builtin_trap();
    }
    return 0;
}

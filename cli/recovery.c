#include "cli/recovery.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/code32.h"

#define PREFIX "hr1-"
#define RAW (HEARTH_SEED_LEN + 2)

void recovery_code(char out[RECOVERY_CODE_MAX], const uint8_t seed[HEARTH_SEED_LEN])
{
    uint8_t raw[RAW], h[HEARTH_ID_LEN];
    memcpy(raw, seed, HEARTH_SEED_LEN);
    hash_id(h, seed, HEARTH_SEED_LEN);
    memcpy(raw + HEARTH_SEED_LEN, h, 2);
    memcpy(out, PREFIX, sizeof PREFIX);
    code32_encode_grouped(out + strlen(PREFIX), raw, RAW, 4);
    secret_wipe(raw, sizeof raw);
}

bool recovery_seed(const char *code, uint8_t seed[HEARTH_SEED_LEN])
{
    uint8_t raw[RAW], h[HEARTH_ID_LEN];
    if (strncasecmp(code, PREFIX, strlen(PREFIX)) != 0 ||
        !code32_decode(raw, RAW, code + strlen(PREFIX)))
        return false;
    hash_id(h, raw, HEARTH_SEED_LEN);
    bool ok = memcmp(h, raw + HEARTH_SEED_LEN, 2) == 0;
    if (ok)
        memcpy(seed, raw, HEARTH_SEED_LEN);
    secret_wipe(raw, sizeof raw);
    return ok;
}

void recovery_warn(const uint8_t seed[HEARTH_SEED_LEN])
{
    char code[RECOVERY_CODE_MAX];
    recovery_code(code, seed);
    fprintf(stderr,
            "Your recovery code (write it on paper and keep it somewhere safe; anyone who has\n"
            "it can post as you, and without it a lost device takes your identity with it):\n"
            "  %s\n"
            "On a new device: hearth init --join FORUM_ID --recover CODE\n",
            code);
    secret_wipe(code, sizeof code);
}

/* recovery.h - a person's recovery code: their author (root) key's seed, written for
 * paper. "hr1-" and the base32 (code32.h) of the 32-byte seed and two bytes of
 * BLAKE2b-256 over it, in groups of four; docs/CLI.md, `hearth recovery`. */
#ifndef HEARTH_CLI_RECOVERY_H
#define HEARTH_CLI_RECOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/crypto.h"

#define RECOVERY_CODE_MAX 96

/* recovery_code - the code of seed into out (RECOVERY_CODE_MAX bytes). */
void recovery_code(char out[RECOVERY_CODE_MAX], const uint8_t seed[HEARTH_SEED_LEN]);

/* recovery_seed - the seed of a code; false when it is not one (or mistyped). */
bool recovery_seed(const char *code, uint8_t seed[HEARTH_SEED_LEN]);

/* recovery_warn - the code on stderr with what it is and how to keep it. */
void recovery_warn(const uint8_t seed[HEARTH_SEED_LEN]);

#endif

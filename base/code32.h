/* code32.h - codes people copy by hand: RFC 4648 base32 in lower case, without
 * padding, read back forgiving case, spaces and dashes (device pairing codes and
 * recovery codes, docs/CLI.md). */
#ifndef HEARTH_BASE_CODE32_H
#define HEARTH_BASE_CODE32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* code32_len - the characters of the code of n bytes (without the NUL). */
size_t code32_len(size_t n);

/* code32_encode - the code of p[0..n) into out (code32_len(n) + 1 bytes); every
 * `group` characters (0: none) a dash. Returns out. */
char *code32_encode_grouped(char *out, const uint8_t *p, size_t n, int group);
#define code32_encode(out, p, n) code32_encode_grouped(out, p, n, 0)

/* code32_decode - exactly n bytes from s (letters of either case, digits 2-7;
 * spaces and dashes skipped); false when s is not that. */
bool code32_decode(uint8_t *out, size_t n, const char *s);

#endif

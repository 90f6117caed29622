/* utf8.h - strict UTF-8 checks for text that people type and that peers send.
 *
 * Strict means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 * above U+10FFFF. The event decoder applies the same rule; the command checks first
 * so that a person hears about bad text before anything touches the store.
 */
#ifndef HEARTH_CLI_UTF8_H
#define HEARTH_CLI_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* utf8_char_len - the length (1..4) of the valid UTF-8 character at s[0..n), or 0
 * when the bytes there are not one. */
size_t utf8_char_len(const char *s, size_t n);

/* utf8_valid - true when all of s[0..n) is valid UTF-8. */
bool utf8_valid(const char *s, size_t n);

#endif

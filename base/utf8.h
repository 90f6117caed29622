/* utf8.h - strict UTF-8 checks for text that people type and that peers send.
 *
 * Strict means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 * above U+10FFFF. Text in hearth never holds a NUL byte either: the msgpack reader
 * (base/mp.h) refuses a str that is not utf8_valid, and a command checks what a person
 * typed with the same function before anything touches the store.
 */
#ifndef HEARTH_BASE_UTF8_H
#define HEARTH_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* utf8_char_len - the length (1..4) of the valid UTF-8 character at s[0..n), or 0
 * when the bytes there are not one. A NUL byte is a character of length 1. */
size_t utf8_char_len(const char *s, size_t n);

/* utf8_valid - true when all of s[0..n) is valid UTF-8 and holds no NUL byte. */
bool utf8_valid(const char *s, size_t n);

#endif

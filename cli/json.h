/* json.h - a tiny JSON writer for the `hearth` command's --json output.
 *
 * The writer appends to a memory buffer, so that a command prints its JSON only once
 * it has all of it: a command that fails half-way leaves stdout empty rather than
 * holding half a document. Members and elements are separated and indented by the
 * writer (two spaces a level); the caller only says what comes next.
 *
 * Strings are escaped by base/json.h, so the output is always valid JSON and valid
 * UTF-8 whatever the store hands us. A NULL string is written as null.
 *
 * In an object every value takes a key; in an array, and at the top level, the key
 * is NULL. Nesting deeper than JSON_MAX_DEPTH, or an allocation failure, sets `failed`
 * and the writer ignores everything after; json_finish() reports it.
 */
#ifndef HEARTH_CLI_JSON_H
#define HEARTH_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hbuf.h"

#define JSON_MAX_DEPTH 32

struct json {
    struct hbuf b; /* the document so far */
    int depth;
    bool first[JSON_MAX_DEPTH]; /* no member written yet at this level */
    bool failed;
};

/* json_init / json_release - embedded lifecycle; release frees the buffer. */
void json_init(struct json *j);
void json_release(struct json *j);

void json_object_open(struct json *j, const char *key);
void json_object_close(struct json *j);
void json_array_open(struct json *j, const char *key);
void json_array_close(struct json *j);

void json_str(struct json *j, const char *key, const char *s);
void json_strn(struct json *j, const char *key, const char *s, size_t n);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
/* json_hex - p[0..n) as a lower-case hex string. */
void json_hex(struct json *j, const char *key, const uint8_t *p, size_t n);

/* json_finish - end the document with a newline. Returns false when the writer
 * failed (out of memory or nesting too deep); the buffer then holds nothing usable. */
bool json_finish(struct json *j);

#endif

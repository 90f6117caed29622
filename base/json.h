/* json.h - JSON strings (RFC 8259), the one escaper for every JSON hearth writes: the
 * command's --json output (cli/json.h) and the node's status file (node/status.h).
 *
 * The output is always valid JSON and valid UTF-8 whatever the input: quote and
 * backslash are escaped, \n \r \t \b \f by name, every other control character and
 * DEL as \u00XX, and each byte that does not begin a valid UTF-8 character
 * (base/utf8.h) becomes U+FFFD.
 */
#ifndef HEARTH_BASE_JSON_H
#define HEARTH_BASE_JSON_H

#include <stddef.h>

#include "base/hbuf.h"
#include "base/herr.h"

/* json_string - append s[0..n) to b as a quoted JSON string. HERR_TOO_LARGE past the
 * buffer's max, HERR_NOMEM; on failure b may hold part of the string. */
HEARTH_MUST_CHECK herr json_string(struct hbuf *b, const char *s, size_t n);

#endif

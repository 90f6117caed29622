/* form.h - the bounded decoder of what a browser sends in a form.
 *
 * Like Fossil's cgi.c, a request's form is decoded once, here, with every size
 * checked before it is used: at most FORM_MAX_FIELDS fields, names of at most
 * FORM_MAX_NAME bytes, the whole body at most WEB_MAX_BODY (web/web.h). Values are
 * percent-decoded ('+' is a space), must be valid UTF-8 and hold no NUL, and CR LF
 * becomes LF (browsers send CR LF in a textarea; events keep LF). A repeated name
 * keeps its first value. Anything else is malformed: one error, with a reason.
 */
#ifndef HEARTH_WEB_FORM_H
#define HEARTH_WEB_FORM_H

#include <stddef.h>

#include "base/herr.h"

#define FORM_MAX_FIELDS 24
#define FORM_MAX_NAME 32

struct form {
    size_t n;
    const char *name[FORM_MAX_FIELDS];
    const char *value[FORM_MAX_FIELDS];
    char *mem; /* the decoded names and values, owned by the form */
};

/* form_parse - decode an application/x-www-form-urlencoded body[0..len) into f.
 * HERR_MALFORMED (bad escape, bad UTF-8, NUL, a field with no '='), HERR_TOO_LARGE
 * (too many fields, a long name), HERR_NOMEM; *why is a static reason. On failure f
 * holds nothing (form_release is still safe). */
HEARTH_MUST_CHECK herr form_parse(struct form *f, const char *body, size_t len, const char **why);

/* form_get - the value of field `name`, or NULL. Owned by f. */
const char *form_get(const struct form *f, const char *name);

/* form_release - free what form_parse allocated; f is then empty. */
void form_release(struct form *f);

/* form_text_ok - true when s is valid UTF-8 with no C0 control but tab and newline,
 * no DEL and no bidirectional override or isolate (U+202A..U+202E, U+2066..U+2069):
 * what a name, title or reason may hold. */
int form_text_ok(const char *s);

#endif

/* form.c - decoding forms (see form.h). */
#include "web/form.h"

#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/mp.h"
#include "base/utf8.h"

/* decode - percent-decode s[0..n) into out (which has room for n + 1), folding CR LF
 * to LF; returns the decoded length, or -1 on a bad escape or a NUL. */
static long decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hex_digit(s[i + 1]);
            int lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return -1;
        if (c == '\n' && o > 0 && out[o - 1] == '\r')
            o--;
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
}

herr form_parse(struct form *f, const char *body, size_t len, const char **why)
{
    memset(f, 0, sizeof *f);
    if (!(f->mem = malloc(len + FORM_MAX_FIELDS * 2 + 2))) {
        *why = "out of memory";
        return HERR_NOMEM;
    }
    char *o = f->mem;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end == i) { /* an empty field ("a=1&&b=2") is skipped, as browsers do */
            i++;
            continue;
        }
        const char *eq = memchr(body + i, '=', end - i);
        if (!eq) {
            *why = "a form field without '='";
            goto malformed;
        }
        size_t nlen = (size_t)(eq - (body + i));
        if (f->n == FORM_MAX_FIELDS) {
            *why = "too many form fields";
            form_release(f);
            return HERR_TOO_LARGE;
        }
        if (nlen == 0 || nlen > FORM_MAX_NAME * 3) {
            *why = "a form field's name is empty or too long";
            goto malformed;
        }
        long dn = decode(body + i, nlen, o);
        if (dn < 0 || dn > FORM_MAX_NAME || !utf8_valid(o, (size_t)dn)) {
            *why = "a form field's name is not valid";
            goto malformed;
        }
        f->name[f->n] = o;
        o += dn + 1;
        size_t vlen = end - (size_t)(eq + 1 - body);
        long dv = decode(eq + 1, vlen, o);
        if (dv < 0) {
            *why = "a form value has a bad %-escape or a NUL byte";
            goto malformed;
        }
        if (!utf8_valid(o, (size_t)dv)) {
            *why = "a form value is not valid UTF-8";
            goto malformed;
        }
        f->value[f->n++] = o;
        o += dv + 1;
        i = end + 1;
    }
    return HERR_OK;
malformed:
    form_release(f);
    return HERR_MALFORMED;
}

const char *form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->name[i], name))
            return f->value[i];
    return NULL;
}

void form_release(struct form *f)
{
    free(f->mem);
    memset(f, 0, sizeof *f);
}

int form_text_ok(const char *s)
{
    size_t n = strlen(s);
    if (!utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
            return 0;
        /* U+202A..U+202E are E2 80 AA..AE; U+2066..U+2069 are E2 81 A6..A9. */
        if (c == 0xe2 && i + 2 < n) {
            unsigned char c1 = (unsigned char)s[i + 1], c2 = (unsigned char)s[i + 2];
            if ((c1 == 0x80 && c2 >= 0xaa && c2 <= 0xae) ||
                (c1 == 0x81 && c2 >= 0xa6 && c2 <= 0xa9))
                return 0;
        }
    }
    return 1;
}

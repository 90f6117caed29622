/* json.c - JSON strings (base/json.h). */
#include "base/json.h"

#include <stdio.h>
#include <string.h>

#include "base/utf8.h"

/* escape - the escape for ASCII byte c into esc, or NULL when c stands for itself. */
static const char *escape(unsigned char c, char esc[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    default:
        if (c >= 0x20 && c != 0x7f)
            return NULL;
        snprintf(esc, 8, "\\u%04x", c);
        return esc;
    }
}

herr json_string(struct hbuf *b, const char *s, size_t n)
{
    herr e = hbuf_append(b, "\"", 1);
    size_t i = 0, run = 0; /* s[run..i) stands for itself, not yet appended */
    while (!e && i < n) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        const char *sub = NULL;
        size_t len = 1;
        if (c >= 0x80) {
            len = utf8_char_len(s + i, n - i);
            if (len == 0) {
                sub = "\\ufffd";
                len = 1;
            }
        } else {
            sub = escape(c, esc);
        }
        if (sub) {
            e = hbuf_append(b, s + run, i - run);
            if (!e)
                e = hbuf_append(b, sub, strlen(sub));
            run = i + len;
        }
        i += len;
    }
    if (!e)
        e = hbuf_append(b, s + run, i - run);
    return e ? e : hbuf_append(b, "\"", 1);
}

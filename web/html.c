/* html.c - escaping writers for pages (see html.h). */
#include "web/html.h"

#include "web/cache.h"

#include <cmark.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void html_init(struct html *h, size_t max)
{
    hbuf_init(&h->b, max);
    h->err = HERR_OK;
    h->markdown = NULL;
}

void html_release(struct html *h)
{
    hbuf_release(&h->b);
    h->err = HERR_OK;
}

void html_rawn(struct html *h, const char *markup, size_t n)
{
    if (!h->err && n)
        h->err = hbuf_append(&h->b, markup, n);
}

void html_raw(struct html *h, const char *markup)
{
    html_rawn(h, markup, strlen(markup));
}

void html_textn(struct html *h, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep;
        switch (c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            rep = c < 0x20 && c != '\t' && c != '\n' ? "" : NULL;
            break;
        }
        if (!rep)
            continue;
        html_rawn(h, s + start, i - start);
        html_raw(h, rep);
        start = i + 1;
    }
    html_rawn(h, s + start, n - start);
}

void html_text(struct html *h, const char *s)
{
    if (s)
        html_textn(h, s, strlen(s));
}

void html_attr(struct html *h, const char *name, const char *value)
{
    html_raw(h, " ");
    html_raw(h, name);
    html_raw(h, "=\"");
    html_text(h, value);
    html_raw(h, "\"");
}

void html_urlarg(struct html *h, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            html_rawn(h, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            html_rawn(h, e, 3);
        }
    }
}

void html_hex(struct html *h, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char e[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        html_rawn(h, e, 2);
    }
}

void html_uint(struct html *h, uint64_t v)
{
    char n[24];
    html_rawn(h, n, (size_t)snprintf(n, sizeof n, "%" PRIu64, v));
}

void html_markdown(struct html *h, const char *text, size_t n)
{
    if (h->err || !n || (h->markdown && cache_fragment_get(h->markdown, text, n, &h->b)))
        return;
    char *out = cmark_markdown_to_html(text, n, CMARK_OPT_SAFE | CMARK_OPT_HARDBREAKS);
    if (!out) {
        h->err = HERR_NOMEM;
        return;
    }
    size_t len = strlen(out);
    html_rawn(h, out, len);
    if (h->markdown)
        cache_fragment_put(h->markdown, text, n, out, len);
    free(out);
}

void html_time(struct html *h, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char iso[32], shown[32];
    if (!gmtime_r(&t, &tm))
        return;
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%MZ", &tm);
    strftime(shown, sizeof shown, "%Y-%m-%d %H:%M", &tm);
    html_raw(h, "<time datetime=\"");
    html_raw(h, iso);
    html_raw(h, "\">");
    html_raw(h, shown);
    html_raw(h, "</time>");
}

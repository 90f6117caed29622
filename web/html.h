/* html.h - the only writers of HTML: every byte a page sends goes through these.
 *
 * Modelled on cgit's html.c: one small set of writers, each escaping for its own
 * context, so that nothing reaches a page unescaped because nothing else touches the
 * page. A page is a function that appends to one struct hbuf, top to bottom like the
 * HTML it makes. Writers never fail mid-page: the buffer's first error is remembered
 * in `err`, later appends are skipped, and the caller checks `err` once at the end.
 *
 * Text from events, people and requests is hostile: html_text() and html_attr() escape
 * & < > " ' (and drop the C0 controls other than tab and newline); URL arguments are
 * percent-encoded by html_urlarg(). Post bodies are CommonMark rendered by libcmark in
 * its safe mode (raw HTML dropped, javascript:/vbscript:/file:/data: links removed),
 * so html_markdown() is the one place markup that came from a person reaches a page.
 */
#ifndef HEARTH_WEB_HTML_H
#define HEARTH_WEB_HTML_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hbuf.h"
#include "base/herr.h"

struct cache;

struct html {
    struct hbuf b;
    herr err;               /* the first append that failed; later writes are skipped */
    struct cache *markdown; /* renderings of texts already seen (web/cache.h), or NULL */
};

/* html_init - an empty page that may grow to max bytes; html_release frees it. */
void html_init(struct html *h, size_t max);
void html_release(struct html *h);

/* html_raw - append trusted markup written in our source (a literal), unescaped. */
void html_raw(struct html *h, const char *markup);

/* html_rawn - the same for n bytes. */
void html_rawn(struct html *h, const char *markup, size_t n);

/* html_text - append s as text: & < > " ' escaped, C0 controls (but \t \n) dropped.
 * NULL appends nothing. Also right inside a double-quoted attribute value. */
void html_text(struct html *h, const char *s);

/* html_textn - the same for s[0..n). */
void html_textn(struct html *h, const char *s, size_t n);

/* html_attr - append ` name="value"` with value escaped as text. */
void html_attr(struct html *h, const char *name, const char *value);

/* html_urlarg - append s percent-encoded for a URL path segment or query value
 * (everything but A-Z a-z 0-9 - . _ ~), then escaped for the attribute it sits in. */
void html_urlarg(struct html *h, const char *s);

/* html_hex - append the lower-case hex of p[0..n) (safe in any context). */
void html_hex(struct html *h, const uint8_t *p, size_t n);

/* html_uint - append a decimal number. */
void html_uint(struct html *h, uint64_t v);

/* html_markdown - append the CommonMark rendering of text[0..n) in libcmark's safe
 * mode, with hard breaks kept as written (people type line by line on a phone); from
 * h->markdown when it holds that text's rendering, else rendered and kept there. */
void html_markdown(struct html *h, const char *text, size_t n);

/* html_time - append a <time> element for ms since 1970 (UTC, "2026-12-04 13:05"). */
void html_time(struct html *h, uint64_t ms);

#endif

/* test_web.c - the web's small parts: the escapers, the form decoder, sessions, the
 * failure limiter and the caches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/crypto.h"
#include "web/cache.h"
#include "web/form.h"
#include "web/html.h"
#include "web/session.h"

static char *page(void (*fn)(struct html *, const char *), const char *in)
{
    struct html h;
    html_init(&h, 1 << 20);
    fn(&h, in);
    html_raw(&h, "");
    assert_int_equal(h.err, HERR_OK);
    char *s = strndup((const char *)h.b.data, h.b.len);
    html_release(&h);
    return s;
}

static void md(struct html *h, const char *s)
{
    html_markdown(h, s, strlen(s));
}

static void test_text_escapes(void **state)
{
    (void)state;
    char *s = page(html_text, "<script>alert('x')</script> & \"q\"\x01\x1b[31m\tok\n");
    assert_string_equal(s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
                           "&quot;q&quot;[31m\tok\n");
    free(s);
}

static void test_urlarg(void **state)
{
    (void)state;
    char *s = page(html_urlarg, "a b&c=d/\"<é");
    assert_string_equal(s, "a%20b%26c%3Dd%2F%22%3C%C3%A9");
    free(s);
}

static void test_markdown_safe(void **state)
{
    (void)state;
    const char *hostile[] = {
        "<script>alert(1)</script>",    "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))", "[click](JaVaScRiPt:alert(1))",
        "![x](javascript:alert(1))",    "<a href=\"javascript:alert(1)\">x</a>",
        "[x](vbscript:msgbox(1))",      "[x](data:text/html;base64,PHNjcmlwdD4=)",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        char *s = page(md, hostile[i]);
        assert_null(strstr(s, "<script"));
        assert_null(strstr(s, "<img src=x"));
        assert_null(strstr(s, "onerror"));
        assert_null(strcasestr(s, "href=\"javascript"));
        assert_null(strcasestr(s, "src=\"javascript"));
        assert_null(strstr(s, "href=\"vbscript"));
        assert_null(strstr(s, "href=\"data:"));
        free(s);
    }
    char *s = page(md, "Hello *you*\nnext line");
    assert_string_equal(s, "<p>Hello <em>you</em><br />\nnext line</p>\n");
    free(s);
}

static void test_markdown_cache(void **state)
{
    (void)state;
    struct cache *c = cache_new(64, 1 << 20);
    assert_non_null(c);
    struct html h;
    html_init(&h, 1 << 20);
    h.markdown = c;
    html_markdown(&h, "**a**", 5);
    size_t first = h.b.len;
    assert_true(cache_bytes(c) > 0);
    html_markdown(&h, "**a**", 5); /* from the cache: the same bytes again */
    assert_int_equal(h.b.len, 2 * first);
    assert_memory_equal(h.b.data, h.b.data + first, first);
    html_markdown(&h, "**b**", 5); /* other text, other key */
    assert_non_null(memmem(h.b.data + 2 * first, h.b.len - 2 * first, "<strong>b", 9));
    html_release(&h);
    cache_destroy(&c);
    assert_null(c);
}

static void test_page_cache_stamps(void **state)
{
    (void)state;
    struct cache *c = cache_new(8, 1 << 20);
    struct hbuf out;
    hbuf_init(&out, 1 << 20);
    cache_page_put(c, "/t/1", 7, (const uint8_t *)"<p>seven</p>", 12);
    assert_true(cache_page_get(c, "/t/1", 7, false, &out));
    assert_int_equal(out.len, 12);
    hbuf_reset(&out);
    assert_false(cache_page_get(c, "/t/1", 8, false, &out)); /* a newer replica: stale */
    assert_false(cache_page_get(c, "/t/2", 7, false, &out));
    assert_true(cache_page_get(c, "/t/1", 7, true, &out)); /* the gzip form */
    assert_int_equal(out.data[0], 0x1f);
    assert_int_equal(out.data[1], 0x8b);
    /* Bounded: many pages into 8 slots and a small budget keep it under both. */
    struct cache *small = cache_new(8, 4096);
    uint8_t big[900];
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "/p/%d", i);
        cache_page_put(small, key, 1, big, sizeof big);
        assert_true(cache_bytes(small) <= 4096);
    }
    hbuf_release(&out);
    cache_destroy(&c);
    cache_destroy(&small);
}

static void test_form_decodes(void **state)
{
    (void)state;
    struct form f;
    const char *why = NULL;
    const char *body = "csrf=ab12&text=Hello+there%21%0D%0ALine+two&empty=&&cw=%C3%A9t%C3%A9"
                       "&text=second";
    assert_int_equal(form_parse(&f, body, strlen(body), &why), HERR_OK);
    assert_string_equal(form_get(&f, "csrf"), "ab12");
    assert_string_equal(form_get(&f, "text"), "Hello there!\nLine two"); /* the first one */
    assert_string_equal(form_get(&f, "empty"), "");
    assert_string_equal(form_get(&f, "cw"), "été");
    assert_null(form_get(&f, "missing"));
    form_release(&f);
    form_release(&f); /* twice is fine */
}

static void test_form_refuses(void **state)
{
    (void)state;
    static const char *bad[] = {
        "a=%ZZ",       /* bad escape */
        "a=%4",        /* truncated escape */
        "a=%",         /* truncated escape */
        "a=x%00y",     /* NUL */
        "a=%C3%28",    /* invalid UTF-8 */
        "a=%ED%A0%80", /* a surrogate */
        "novalue",     /* no '=' */
        "=x",          /* empty name */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct form f;
        const char *why = NULL;
        assert_int_equal(form_parse(&f, bad[i], strlen(bad[i]), &why), HERR_MALFORMED);
        assert_non_null(why);
        assert_int_equal(f.n, 0);
        form_release(&f);
    }
    char many[2048] = "";
    for (int i = 0; i < FORM_MAX_FIELDS + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "f%d=1&", i);
    struct form f;
    const char *why;
    assert_int_equal(form_parse(&f, many, strlen(many), &why), HERR_TOO_LARGE);
    char longname[200];
    memset(longname, 'n', FORM_MAX_NAME + 1);
    strcpy(longname + FORM_MAX_NAME + 1, "=1");
    assert_int_equal(form_parse(&f, longname, strlen(longname), &why), HERR_MALFORMED);
}

static void test_text_ok(void **state)
{
    (void)state;
    assert_true(form_text_ok("Sam, a carer from the valley"));
    assert_true(form_text_ok("line\nline\ttab"));
    assert_false(form_text_ok("evil\xe2\x80\xae"
                              "gnp.exe"));             /* U+202E */
    assert_false(form_text_ok("iso\xe2\x81\xa6late")); /* U+2066 */
    assert_false(form_text_ok("bell\a"));
    assert_false(form_text_ok("del\x7f"));
    assert_false(form_text_ok("\xc3\x28"));
}

static void test_sessions(void **state)
{
    (void)state;
    assert_int_equal(crypto_start(), HERR_OK);
    struct sessions *s = sessions_new(2, 1000);
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    struct session_info a, b, c, got;
    assert_int_equal(sessions_create(s, seed, "aroha", 100, &a), HERR_OK);
    assert_int_equal(strlen(a.token), SESSION_TOKEN_HEX);
    assert_string_not_equal(a.token, a.csrf);
    assert_true(sessions_find(s, a.token, 200, &got));
    assert_string_equal(got.login, "aroha");
    struct hkey k, want;
    hkey_from_seed(&want, seed);
    assert_true(sessions_sign_key(s, a.token, &k));
    assert_memory_equal(k.pk, want.pk, sizeof k.pk);
    assert_memory_equal(got.pk, want.pk, sizeof got.pk);
    /* A token differing in one digit, a short one, garbage: none. */
    char other[SESSION_TOKEN_HEX + 1];
    strcpy(other, a.token);
    other[5] = other[5] == 'a' ? 'b' : 'a';
    assert_false(sessions_find(s, other, 200, &got));
    assert_false(sessions_find(s, "abc", 200, &got));
    assert_false(sessions_find(s, NULL, 200, &got));
    /* Idle too long: gone. */
    assert_false(sessions_find(s, a.token, 200 + 1001, &got));
    /* Full: the least recently used goes. */
    assert_int_equal(sessions_create(s, seed, "b", 3000, &b), HERR_OK);
    assert_int_equal(sessions_create(s, seed, "c", 3001, &c), HERR_OK);
    assert_true(sessions_find(s, b.token, 3002, &got));
    assert_int_equal(sessions_create(s, seed, "d", 3003, &a), HERR_OK);
    assert_false(sessions_find(s, c.token, 3004, &got));
    assert_true(sessions_find(s, b.token, 3004, &got));
    sessions_end(s, b.token);
    assert_false(sessions_find(s, b.token, 3005, &got));
    assert_false(sessions_sign_key(s, b.token, &k));
    sessions_end_member(s, want.pk);
    assert_int_equal(sessions_count(s), 0);
    sessions_destroy(&s);
    assert_null(s);
}

static void test_limiter(void **state)
{
    (void)state;
    struct limiter *l = limiter_new(4, 3, 1000);
    assert_false(limiter_blocked(l, "login:sam", 10));
    for (int i = 0; i < 3; i++)
        limiter_fail(l, "login:sam", 10 + (uint64_t)i);
    assert_true(limiter_blocked(l, "login:sam", 20));
    assert_false(limiter_blocked(l, "login:kiri", 20));
    assert_false(limiter_blocked(l, "login:sam", 1000 + 20)); /* the next window */
    /* Bounded: many keys do not grow it, the newest are kept. */
    for (int i = 0; i < 100; i++) {
        char key[32];
        snprintf(key, sizeof key, "addr:10.0.0.%d", i);
        limiter_fail(l, key, 2000);
    }
    limiter_destroy(&l);
    assert_null(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_escapes),      cmocka_unit_test(test_urlarg),
        cmocka_unit_test(test_markdown_safe),     cmocka_unit_test(test_markdown_cache),
        cmocka_unit_test(test_page_cache_stamps), cmocka_unit_test(test_form_decodes),
        cmocka_unit_test(test_form_refuses),      cmocka_unit_test(test_text_ok),
        cmocka_unit_test(test_sessions),          cmocka_unit_test(test_limiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

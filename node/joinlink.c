/* joinlink.c - format and strict parse of join links (see joinlink.h). */
#include "node/joinlink.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"

static const char scheme[] = "hearth://";
static const char lower_hex[] = "0123456789abcdef";

/* lower_hex_at - n bytes of lower-case hex at s into out. */
static bool lower_hex_at(const char *s, uint8_t *out, size_t n)
{
    char buf[2 * HEARTH_ID_LEN + 1];
    if (2 * n >= sizeof buf || strspn(s, lower_hex) < 2 * n)
        return false;
    memcpy(buf, s, 2 * n);
    buf[2 * n] = '\0';
    return hex_decode(out, n, buf) == HERR_OK;
}

/* host_ok - s[0..n) is a dotted IPv4 address, a bracketed IPv6 address or a DNS name. */
static bool host_ok(const char *s, size_t n)
{
    char buf[JOINLINK_MAX_HOSTPORT];
    if (n == 0 || n >= sizeof buf)
        return false;
    if (s[0] == '[') {
        struct in6_addr a6;
        if (n < 3 || s[n - 1] != ']')
            return false;
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = '\0';
        return inet_pton(AF_INET6, buf, &a6) == 1;
    }
    /* A DNS name (an IPv4 address is one too, as far as the characters go). */
    if (s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && ch != '-' && ch != '.')
            return false;
        if (ch == '.' && s[i + 1] == '.')
            return false;
    }
    return true;
}

/* port_ok - s[0..n) is a port 1..65535, decimal, without a leading zero. */
static bool port_ok(const char *s, size_t n)
{
    unsigned long v = 0;
    if (n == 0 || n > 5 || s[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v <= 65535;
}

/* hostport_ok - "HOST:PORT" in s[0..n). */
static bool hostport_ok(const char *s, size_t n)
{
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':')
            colon = s + i;
    if (!colon)
        return false;
    size_t hl = (size_t)(colon - s);
    /* An IPv6 host holds colons itself: then the port's colon follows its ']'. */
    if (s[0] == '[' && (hl == 0 || s[hl - 1] != ']'))
        return false;
    return host_ok(s, hl) && port_ok(colon + 1, n - hl - 1);
}

static bool code_ok(const char *s)
{
    return strlen(s) == STORE_INVITE_CODE_LEN &&
           strspn(s, STORE_INVITE_ALPHABET) == STORE_INVITE_CODE_LEN;
}

herr joinlink_format(const struct joinlink *l, char *out, size_t n)
{
    char hex[2 * HEARTH_ID_LEN + 1];
    if (l->naddrs < 1 || l->naddrs > JOINLINK_MAX_ADDRS || (l->invite[0] && !code_ok(l->invite)))
        return HERR_USAGE;
    hex_encode(hex, l->node, HEARTH_PK_LEN);
    size_t at = 0;
    int w = snprintf(out, n, "%s%s@", scheme, hex);
    for (size_t i = 0; w >= 0 && (size_t)w < n - at && i < l->naddrs; i++) {
        at += (size_t)w;
        if (!hostport_ok(l->addrs[i], strnlen(l->addrs[i], JOINLINK_MAX_HOSTPORT)))
            return HERR_USAGE;
        w = snprintf(out + at, n - at, "%s%s", i ? "," : "", l->addrs[i]);
    }
    if (w >= 0 && (size_t)w < n - at && l->has_forum) {
        at += (size_t)w;
        hex_encode(hex, l->forum, HEARTH_ID_LEN);
        w = snprintf(out + at, n - at, "/%s", hex);
    }
    if (w >= 0 && (size_t)w < n - at && l->invite[0]) {
        at += (size_t)w;
        w = snprintf(out + at, n - at, "?invite=%s", l->invite);
    }
    if (w < 0 || (size_t)w >= n - at)
        return HERR_TOO_LARGE;
    return HERR_OK;
}

/* parse_places - the comma-separated HOST:PORT list in s[0..n). */
static herr parse_places(const char *s, size_t n, struct joinlink *l, const char **why)
{
    l->naddrs = 0;
    const char *p = s, *end = s + n;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        size_t len = (size_t)(stop - p);
        if (l->naddrs == JOINLINK_MAX_ADDRS) {
            *why = "more than 4 HOST:PORT places";
            return HERR_USAGE;
        }
        if (len == 0 || len >= JOINLINK_MAX_HOSTPORT || !hostport_ok(p, len)) {
            *why = "a place is not HOST:PORT (a port from 1 to 65535)";
            return HERR_USAGE;
        }
        memcpy(l->addrs[l->naddrs], p, len);
        l->addrs[l->naddrs++][len] = '\0';
        if (!comma)
            return HERR_OK;
        p = comma + 1;
    }
}

herr joinlink_parse(const char *text, struct joinlink *l, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    memset(l, 0, sizeof *l);
    size_t n = strnlen(text, JOINLINK_MAX + 1);
    *why = "not a hearth link";
    if (n > JOINLINK_MAX) {
        *why = "longer than a link can be";
        return HERR_USAGE;
    }
    if (strncmp(text, scheme, sizeof scheme - 1) != 0) {
        *why = "a link starts with hearth://";
        return HERR_USAGE;
    }
    const char *p = text + sizeof scheme - 1;
    if (!lower_hex_at(p, l->node, HEARTH_PK_LEN) || p[2 * HEARTH_PK_LEN] != '@') {
        *why = "the node key (64 lower-case hex digits, then '@') is missing or cut short";
        return HERR_USAGE;
    }
    p += 2 * HEARTH_PK_LEN + 1;
    size_t places = strcspn(p, "/?");
    herr e = parse_places(p, places, l, why);
    if (e)
        return e;
    p += places;
    if (*p == '/') {
        p++;
        if (!lower_hex_at(p, l->forum, HEARTH_ID_LEN) ||
            (p[2 * HEARTH_ID_LEN] != '\0' && p[2 * HEARTH_ID_LEN] != '?')) {
            *why = "the forum id after '/' is not 64 lower-case hex digits";
            return HERR_USAGE;
        }
        l->has_forum = true;
        p += 2 * HEARTH_ID_LEN;
    }
    if (*p == '?') {
        static const char key[] = "?invite=";
        if (!l->has_forum || strncmp(p, key, sizeof key - 1) != 0 || !code_ok(p + sizeof key - 1)) {
            *why = "after the forum id only ?invite= and a 16-symbol invite code may follow";
            return HERR_USAGE;
        }
        memcpy(l->invite, p + sizeof key - 1, STORE_INVITE_CODE_LEN + 1);
        return HERR_OK;
    }
    if (*p != '\0') {
        *why = "unexpected characters after the places";
        return HERR_USAGE;
    }
    return HERR_OK;
}

void joinlink_address(const struct joinlink *l, size_t i, char *out, size_t n)
{
    char hex[2 * HEARTH_PK_LEN + 1];
    hex_encode(hex, l->node, HEARTH_PK_LEN);
    snprintf(out, n, "%s%s@%s", scheme, hex, l->addrs[i]);
}

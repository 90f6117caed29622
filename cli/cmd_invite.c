/* cmd_invite.c - `hearth invite [--expires DAYS] [--poster FILE.svg] | --list |
 * --revoke CODE`: the join link (with a single-use code for the web pages where they
 * need one) as text, a QR code and a poster; and the codes made so far. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/node_key.h"
#include "node/qr.h"
#include "store/members.h"

#define DAY_MS (24ULL * 3600 * 1000)
#define MAX_DAYS 3650

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static const char *invite_state(const struct store_invite *v, uint64_t now)
{
    return v->used ? "used" : v->revoked ? "revoked" : v->expires <= now ? "expired" : "open";
}

static void json_invite(struct cli *c, const struct store_invite *v, uint64_t now)
{
    json_object_open(&c->out, NULL);
    json_str(&c->out, "code", v->code);
    json_hex(&c->out, "creator", v->creator, HEARTH_PK_LEN);
    json_u64(&c->out, "created", v->created);
    json_u64(&c->out, "expires", v->expires);
    json_str(&c->out, "state", invite_state(v, now));
    if (v->used)
        json_hex(&c->out, "used_by", v->used_by, HEARTH_PK_LEN);
    else
        json_null(&c->out, "used_by");
    json_object_close(&c->out);
}

static int list(struct cli *c)
{
    struct store_invite *v;
    size_t n;
    char when[96];
    uint64_t now = now_ms();
    herr e = store_invites(c->store, &v, &n);
    if (e)
        return cli_store_error(c, e, "cannot list invites");
    if (c->json)
        json_array_open(&c->out, NULL);
    for (size_t i = 0; i < n; i++) {
        if (c->json) {
            json_invite(c, &v[i], now);
            continue;
        }
        printf("%s  %-7s  expires %s", v[i].code, invite_state(&v[i], now),
               cli_format_time(when, sizeof when, v[i].expires));
        if (v[i].used) {
            printf("  used by ");
            cli_print_person(c, stdout, v[i].used_by);
        }
        printf("\n");
    }
    free(v);
    if (c->json) {
        json_array_close(&c->out);
        return cli_json_flush(c);
    }
    if (n == 0)
        printf("no invites yet: make one with 'hearth invite'\n");
    return CLI_OK;
}

static int revoke_code(struct cli *c, const char *code)
{
    herr e = store_invite_revoke(c->store, code);
    if (e)
        return cli_store_error(c, e, NULL);
    if (!c->json) {
        printf("revoked %s\n", code);
        return CLI_OK;
    }
    json_object_open(&c->out, NULL);
    json_str(&c->out, "code", code);
    json_bool(&c->out, "revoked", true);
    json_object_close(&c->out);
    return cli_json_flush(c);
}

/* What one invitation holds, for the terminal and the poster. */
struct invitation {
    struct joinlink link;
    bool running; /* the places come from the running node, not hearth.conf */
    struct cli_web web;
    char urls[JOINLINK_MAX_ADDRS][CONFIG_MAX_STR + 16]; /* the web pages, for phones */
    size_t nurls;
    char phone[CONFIG_MAX_STR + 64]; /* what a phone opens: urls[0], with the code */
    char text[JOINLINK_MAX + 1];     /* the link */
    uint64_t expires;                /* of the code; 0: no code */
    char *forum_name, *resources;
};

/* ---- the poster ---- */

/* svg_text - s with XML's special characters escaped, and terminal control
 * characters dropped. */
static void svg_text(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '&')
            fputs("&amp;", f);
        else if (ch == '<')
            fputs("&lt;", f);
        else if (ch == '>')
            fputs("&gt;", f);
        else if (ch == '"')
            fputs("&quot;", f);
        else if (ch >= 0x20 && ch != 0x7f)
            fputc(ch, f);
    }
}

/* svg_line - one line of text at (x, y) in mm. */
static void svg_line(FILE *f, double x, double y, double size, const char *weight, const char *s,
                     size_t n)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" font-weight=\"%s\">", x, y, size,
            weight);
    svg_text(f, s, n);
    fputs("</text>\n", f);
}

/* svg_say - svg_line for a whole string. */
static void svg_say(FILE *f, double x, double y, double size, const char *weight, const char *s)
{
    svg_line(f, x, y, size, weight, s, strlen(s));
}

/* svg_wrapped - s in lines of at most `width` bytes (broken at spaces where it can,
 * never inside a UTF-8 sequence), from y down, at most max_lines; returns the next y. */
static double svg_wrapped(FILE *f, double x, double y, double size, const char *s, size_t width,
                          int max_lines)
{
    for (int line = 0; *s && line < max_lines; line++) {
        size_t nl = strcspn(s, "\n"), n = nl < width ? nl : width;
        if (n < nl) {
            size_t cut = n;
            while (cut > width / 2 && s[cut] != ' ')
                cut--;
            n = s[cut] == ' ' ? cut : n;
            while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
                n--;
        }
        svg_line(f, x, y, size, "normal", s, n);
        y += size * 1.35;
        s += n;
        while (*s == ' ' || *s == '\n')
            s++;
    }
    return y;
}

/* svg_qr - the QR symbol of text, side mm wide with its quiet zone, at (x, y). */
static bool svg_qr(FILE *f, const char *id, const char *text, double x, double y, double side)
{
    struct qr q;
    if (!qr_make(&q, text))
        return false;
    int all = q.width + 2 * QR_QUIET;
    double unit = side / all;
    fprintf(f,
            "<g id=\"%s\" data-modules=\"%d\" transform=\"translate(%.2f %.2f) scale(%.4f)\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
            "<path transform=\"translate(%d %d)\" fill=\"#000\" d=\"",
            id, q.width, x, y, unit, all, all, QR_QUIET, QR_QUIET);
    struct hbuf d;
    hbuf_init(&d, 1u << 20);
    bool ok = qr_svg_path(&q, &d) == HERR_OK;
    if (ok && d.len)
        fwrite(d.data, 1, d.len, f);
    hbuf_release(&d);
    fputs("\"/>\n</g>\n", f);
    qr_release(&q);
    return ok;
}

/* poster - the printable A4 page (SVG, 210 x 297 mm): the forum's name, the QR for
 * phones (the web pages, with the code) when the hub serves them, the QR for laptops
 * (the join link), and the crisis resources. */
static bool poster(FILE *f, const struct invitation *v)
{
    const char *name = v->forum_name ? v->forum_name : "our forum";
    bool ok = true;
    double y = 28;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"297mm\" "
          "viewBox=\"0 0 210 297\" font-family=\"sans-serif\" fill=\"#000\">\n"
          "<rect width=\"210\" height=\"297\" fill=\"#fff\"/>\n",
          f);
    fprintf(f, "<title>Join ");
    svg_text(f, name, strlen(name));
    fputs("</title>\n", f);
    svg_line(f, 15, y, 12, "bold", name, strlen(name));
    y += 9;
    svg_say(f, 15, y, 5.5, "normal", "A peer-support forum that works without the internet.");
    y += 8;
    if (v->phone[0]) {
        ok = ok && svg_qr(f, "qr-phone", v->phone, 15, y, 80);
        svg_say(f, 100, y + 12, 6, "bold", "On a phone");
        svg_say(f, 100, y + 21, 4.5, "normal", "Join this hub's Wi-Fi, then scan");
        svg_say(f, 100, y + 27, 4.5, "normal", "the code or open:");
        y = svg_wrapped(f, 100, y + 35, 4.5, v->phone, 36, 3);
        if (v->link.invite[0]) {
            svg_say(f, 100, y + 3, 4.5, "normal", "invite code (works once):");
            svg_line(f, 100, y + 10, 5.5, "bold", v->link.invite, STORE_INVITE_CODE_LEN);
        }
        y = 37 + 8 + 85;
    }
    ok = ok && svg_qr(f, "qr-link", v->text, 15, y, 60);
    svg_say(f, 80, y + 10, 6, "bold", "On a laptop with hearth");
    svg_say(f, 80, y + 18, 4.2, "normal", "Scan, or type: hearth init --join LINK");
    y = svg_wrapped(f, 80, y + 25, 3.2, v->text, 52, 6);
    y = (y > 37 + 8 + 85 + 65 ? y : (v->phone[0] ? 37 + 8 + 85 + 65 : 37 + 8 + 65)) + 6;
    fprintf(f,
            "<rect x=\"12\" y=\"%.1f\" width=\"186\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#000\" stroke-width=\"0.6\"/>\n",
            y - 7, 297 - y - 2);
    svg_say(f, 15, y, 5.5, "bold", "If you need help now");
    y += 8;
    if (!v->resources || !cli_contains_nocase(v->resources, CLI_NOT_A_CRISIS_SERVICE)) {
        svg_say(f, 15, y, 4.2, "normal", CLI_NOT_A_CRISIS_SERVICE);
        y += 6;
    }
    svg_wrapped(f, 15, y, 4.2, v->resources ? v->resources : "", 80, (int)((292 - y) / 5.7));
    fputs("</svg>\n", f);
    return ok;
}

/* write_poster - the poster into path, through a temporary file renamed over it. */
static int write_poster(struct cli *c, const char *path, const struct invitation *v)
{
    size_t n = strlen(path);
    if (n < 5 || strcmp(path + n - 4, ".svg") != 0)
        return cli_error(c, HERR_USAGE, "--poster: give a file name ending in .svg, not '%s'",
                         path);
    char *tmp = malloc(n + 8);
    if (!tmp)
        return cli_error(c, HERR_NOMEM, "out of memory");
    snprintf(tmp, n + 8, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        int rc = cli_error(c, HERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    bool ok = poster(f, v);
    /* Close the file whatever went wrong before (one unlink follows). */
    ok = fflush(f) == 0 && !ferror(f) && ok;
    ok = fclose(f) == 0 && ok;
    int rc = CLI_OK;
    if (!ok || rename(tmp, path) != 0) {
        rc = cli_error(c, HERR_IO, "cannot write the poster '%s'%s", path,
                       ok ? "" : " (the link is too long for a QR code?)");
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* ---- the link ---- */

static int parse_days(struct cli *c, const char *arg, unsigned long *days)
{
    char *end;
    *days = 7;
    if (!arg)
        return CLI_OK;
    *days = strtoul(arg, &end, 10);
    if (end == arg || *end || *days < 1 || *days > MAX_DAYS || arg[0] == '-')
        return cli_error(c, HERR_USAGE, "--expires: give whole days from 1 to %d, not '%s'",
                         MAX_DAYS, arg);
    return CLI_OK;
}

/* invitation - the link to this node, with a new code when the web pages need one. */
static int invitation(struct cli *c, struct invitation *v, unsigned long days)
{
    struct config cfg;
    int rc = cli_config(c, &cfg);
    if (rc || (rc = cli_join_places(c, &cfg, &v->link, &v->running)))
        return rc;
    memcpy(v->link.forum, c->forum, HEARTH_ID_LEN);
    v->link.has_forum = true;
    cli_web_place(c, &cfg, &v->web);
    v->nurls = cli_web_urls(&v->web, v->urls, JOINLINK_MAX_ADDRS);
    if (v->web.enabled && !v->web.open_join) {
        uint64_t now = now_ms();
        v->expires = now + days * DAY_MS;
        herr e = store_invite_create(c->store, c->key.pk, now, v->expires, v->link.invite);
        if (e)
            return cli_store_error(c, e, NULL);
    }
    if (v->nurls)
        snprintf(v->phone, sizeof v->phone, "%s%s%s", v->urls[0],
                 v->link.invite[0] ? "join?code=" : "", v->link.invite);
    herr e = joinlink_format(&v->link, v->text, sizeof v->text);
    if (e)
        return cli_error(c, e, "cannot make the link: %s", herr_str(e));
    v->forum_name = cli_forum_name(c);
    char *about = NULL;
    if (store_resources(c->store, &v->resources, &about) != HERR_OK)
        v->resources = NULL;
    free(about);
    return CLI_OK;
}

/* loopback_only - whether every place of l is on this machine's loopback. */
static bool loopback_only(const struct joinlink *l)
{
    for (size_t i = 0; i < l->naddrs; i++)
        if (strncmp(l->addrs[i], "127.", 4) != 0 && strncmp(l->addrs[i], "[::1]:", 6) != 0 &&
            strncmp(l->addrs[i], "localhost:", 10) != 0)
            return false;
    return true;
}

static void print_invitation(struct cli *c, const struct invitation *v)
{
    char when[96];
    struct qr q;
    if (v->expires) {
        printf("%s\n", v->link.invite);
        printf("expires %s\n", cli_format_time(when, sizeof when, v->expires));
    }
    printf("join link: %s\n", v->text);
    if (!cli_flag(c, "no-qr") && qr_make(&q, v->text)) {
        printf("\n");
        qr_print(&q, stdout, isatty(STDOUT_FILENO));
        printf("\n");
        qr_release(&q);
    }
    printf("a laptop joins with: hearth init --join '%s'\n", v->text);
    if (v->phone[0])
        printf("a phone on this network opens: %s\n", v->phone);
    for (size_t i = 1; i < v->nurls; i++)
        printf("  (or %s)\n", v->urls[i]);
    if (!v->running)
        printf("no node is running here: the link names where 'hearth serve' will listen\n");
    if (loopback_only(&v->link))
        printf("the node listens on this machine's loopback only: other machines cannot reach "
               "it ([node] listen = tcp://0.0.0.0:7437)\n");
}

static void json_invitation(struct cli *c, const struct invitation *v, const char *poster_path)
{
    json_object_open(&c->out, NULL);
    json_str(&c->out, "code", v->link.invite[0] ? v->link.invite : NULL);
    if (v->expires)
        json_u64(&c->out, "expires", v->expires);
    else
        json_null(&c->out, "expires");
    json_str(&c->out, "link", v->text);
    json_array_open(&c->out, "places");
    for (size_t i = 0; i < v->link.naddrs; i++)
        json_str(&c->out, NULL, v->link.addrs[i]);
    json_array_close(&c->out);
    json_bool(&c->out, "running", v->running);
    json_str(&c->out, "phone", v->phone[0] ? v->phone : NULL);
    json_str(&c->out, "poster", poster_path);
    json_object_close(&c->out);
}

static int make(struct cli *c, const char *days_arg, const char *poster_path)
{
    unsigned long days;
    struct invitation v;
    memset(&v, 0, sizeof v);
    int rc = parse_days(c, days_arg, &days);
    if (!rc)
        rc = invitation(c, &v, days);
    if (!rc && poster_path)
        rc = write_poster(c, poster_path, &v);
    if (!rc && c->json) {
        json_invitation(c, &v, poster_path);
        rc = cli_json_flush(c);
    } else if (!rc) {
        print_invitation(c, &v);
        if (poster_path)
            printf("poster: %s\n", poster_path);
    }
    free(v.forum_name);
    free(v.resources);
    return rc;
}

static int run(struct cli *c)
{
    const char *expires = cli_opt(c, "expires"), *code = cli_opt(c, "revoke");
    const char *poster_path = cli_opt(c, "poster");
    bool listing = cli_flag(c, "list");
    if ((listing && code) || ((listing || code) && (expires || poster_path)))
        return cli_error(c, HERR_USAGE, "give one of --expires/--poster, --list and --revoke");
    if (listing)
        return list(c);
    if (code)
        return revoke_code(c, code);
    return make(c, expires, poster_path);
}

static const struct cli_option options[] = {
    {"expires", 'e', "DAYS", "the new code works for DAYS days (default 7)"},
    {"poster", 'p', "FILE.svg", "also write a printable A4 poster with the QR codes"},
    {"no-qr", 0, NULL, "do not draw the QR code in the terminal"},
    {"list", 'l', NULL, "list this hub's invites, newest first"},
    {"revoke", 0, "CODE", "make an unused code unusable"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_invite = {
    .name = "invite",
    .run = run,
    .group = "care",
    .summary = "make a join link (and QR code, poster); list or revoke invite codes",
    .synopsis = "[--expires DAYS] [--poster FILE.svg] [--no-qr] | --list | --revoke CODE",
    .details =
        "Prints a join link, hearth://NODEKEY@HOST:PORT[,HOST:PORT]/FORUM_ID[?invite=CODE],\n"
        "with the places the running node listens on (else those hearth.conf gives),\n"
        "as text and as a QR code; another node joins with 'hearth init --join LINK'.\n"
        "When this hub's web pages need an invite, the link carries a new single-use\n"
        "code of 16 letters and digits (printed first) with which one person opens an\n"
        "account there; making one takes the founder's, an admin's or a moderator's\n"
        "author key. Codes live on this hub only: never synced or exported.",
    .options = options,
    .min_args = 0,
    .max_args = 0,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_KEY,
};

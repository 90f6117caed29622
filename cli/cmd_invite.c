/* cmd_invite.c - `hearth invite [--expires DAYS] [--list] [--revoke CODE]`: the
 * single-use codes with which people open an account on this hub's web pages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
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

static int revoke(struct cli *c, const char *code)
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

static int make(struct cli *c, const char *days_arg)
{
    char code[STORE_INVITE_CODE_LEN + 1], when[96], *end;
    unsigned long days = 7;
    if (days_arg) {
        days = strtoul(days_arg, &end, 10);
        if (end == days_arg || *end || days < 1 || days > MAX_DAYS || days_arg[0] == '-')
            return cli_error(c, HERR_USAGE, "--expires: give whole days from 1 to %d, not '%s'",
                             MAX_DAYS, days_arg);
    }
    uint64_t now = now_ms(), expires = now + days * DAY_MS;
    herr e = store_invite_create(c->store, c->key.pk, now, expires, code);
    if (e)
        return cli_store_error(c, e, NULL);
    if (!c->json) {
        printf("%s\n", code);
        printf("expires %s\n", cli_format_time(when, sizeof when, expires));
        return CLI_OK;
    }
    json_object_open(&c->out, NULL);
    json_str(&c->out, "code", code);
    json_u64(&c->out, "expires", expires);
    json_object_close(&c->out);
    return cli_json_flush(c);
}

static int run(struct cli *c)
{
    const char *expires = cli_opt(c, "expires"), *code = cli_opt(c, "revoke");
    bool listing = cli_flag(c, "list");
    if ((listing && code) || ((listing || code) && expires))
        return cli_error(c, HERR_USAGE, "give one of --expires, --list and --revoke");
    if (listing)
        return list(c);
    if (code)
        return revoke(c, code);
    return make(c, expires);
}

static const struct cli_option options[] = {
    {"expires", 'e', "DAYS", "the new code works for DAYS days (default 7)"},
    {"list", 'l', NULL, "list this hub's invites, newest first"},
    {"revoke", 0, "CODE", "make an unused code unusable"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_invite = {
    .name = "invite",
    .run = run,
    .group = "care",
    .summary = "make, list or revoke invite codes for this hub's web pages",
    .synopsis = "[--expires DAYS] | --list | --revoke CODE",
    .details = "An invite is a single-use code of 16 letters and digits with which one\n"
               "person opens an account on this hub's web pages. Making one takes the\n"
               "founder's, an admin's or a moderator's author key. Codes live on this hub\n"
               "only: they are never synced or exported.",
    .options = options,
    .min_args = 0,
    .max_args = 0,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_KEY,
};

/* cmd_settings.c - `hearth settings`: the forum's settings, and this node's muted
 * warnings.
 *
 * --hold and --flags change the forum for everyone, by a signed settings event that
 * only the founder and admins may publish. --mute and --unmute are this node's own
 * choice (not replicated): a post whose content warning matches a muted warning is
 * shown as "[muted: WARNING]" instead of its words.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "cli/cli.h"

#define MAX_SETTING 1000 /* docs/EVENTS.md: hold and flags are 0..1000 */

/* parse_count - a whole number from 0 to MAX_SETTING. */
static int parse_count(const struct cli *c, const char *opt, const char *arg, uint64_t *out)
{
    char *end;
    if (!isdigit((unsigned char)arg[0]))
        goto bad;
    unsigned long long v = strtoull(arg, &end, 10);
    if (*end || v > MAX_SETTING)
        goto bad;
    *out = v;
    return CLI_OK;
bad:
    return cli_error(c, HERR_USAGE, "--%s: '%s' is not a whole number from 0 to %d", opt, arg,
                     MAX_SETTING);
}

static herr list_add(void *ctx, const char *key, const char *value)
{
    (void)value;
    json_str(ctx, NULL, key + strlen(CLI_MUTE_PREFIX));
    return HERR_OK;
}

static herr list_print(void *ctx, const char *key, const char *value)
{
    size_t *count = ctx;
    (void)value;
    ++*count;
    fputs("  ", stdout);
    cli_print_text(stdout, key + strlen(CLI_MUTE_PREFIX), NULL);
    fputs("\n", stdout);
    return HERR_OK;
}

/* show_muted - the muted warnings, as a JSON array member or lines. */
static int show_muted(struct cli *c)
{
    herr e;
    if (c->json) {
        json_array_open(&c->out, "muted");
        e = store_meta_each(c->store, CLI_MUTE_PREFIX, list_add, &c->out);
        json_array_close(&c->out);
    } else {
        size_t count = 0;
        e = store_meta_each(c->store, CLI_MUTE_PREFIX, list_print, &count);
        if (!e && !count)
            fputs("  (none)\n", stdout);
    }
    return e ? cli_store_error(c, e, NULL) : CLI_OK;
}

/* mute_key - "mute:" + the warning in lower case; caller frees. */
static char *mute_key(const char *warning)
{
    size_t n = strlen(warning), p = strlen(CLI_MUTE_PREFIX);
    char *k = malloc(p + n + 1);
    if (!k)
        return NULL;
    memcpy(k, CLI_MUTE_PREFIX, p);
    for (size_t i = 0; i <= n; i++)
        k[p + i] = (char)tolower((unsigned char)warning[i]);
    return k;
}

static int mute(struct cli *c, const char *warning, bool on)
{
    int rc = cli_check_text(c, "warning", warning, strlen(warning), HEARTH_MAX_SHORT, false);
    if (rc || (rc = cli_open(c, true, false)))
        return rc;
    char *key = mute_key(warning);
    if (!key)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    herr e = on ? store_meta_set(c->store, key, "1") : store_meta_delete(c->store, key);
    free(key);
    if (e == HERR_NOT_FOUND)
        return cli_error(c, e, "'%s': not muted here (see 'hearth settings')", warning);
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->json) {
        json_object_open(&c->out, NULL);
        if ((rc = show_muted(c)))
            return rc;
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    fputs(on ? "muted '" : "unmuted '", stdout);
    cli_print_text(stdout, warning, NULL);
    fputs(on ? "': posts with that warning show as [muted] on this node\n"
             : "': posts with that warning show their words again on this node\n",
          stdout);
    return CLI_OK;
}

static int publish(struct cli *c, const char *hold, const char *flags)
{
    struct event_draft d = {.kind = EK_SETTINGS};
    uint8_t id[HEARTH_ID_LEN];
    char sid[13];
    int rc;
    if ((hold && (rc = parse_count(c, "hold", hold, &d.b.hold))) ||
        (flags && (rc = parse_count(c, "flags", flags, &d.b.flags))))
        return rc;
    d.b.has_hold = hold != NULL;
    d.b.has_flags = flags != NULL;
    if ((rc = cli_open(c, true, true)) || (rc = cli_publish(c, &d, id)))
        return rc;
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_hex(&c->out, "event", id, HEARTH_ID_LEN);
        json_str(&c->out, "kind", "settings");
        if (hold)
            json_u64(&c->out, "hold", d.b.hold);
        else
            json_null(&c->out, "hold");
        if (flags)
            json_u64(&c->out, "flags", d.b.flags);
        else
            json_null(&c->out, "flags");
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    if (hold)
        printf("hold: a new member's first %llu posts wait for a moderator's approval\n",
               (unsigned long long)d.b.hold);
    if (flags)
        printf("flags: a post flagged by %llu members is hidden until a moderator looks%s\n",
               (unsigned long long)d.b.flags, d.b.flags ? "" : " (0: never)");
    printf("settings event %s\n", cli_short_id(sid, id));
    return CLI_OK;
}

static int show(struct cli *c)
{
    uint64_t hold, flags;
    int rc = cli_open(c, false, false);
    if (rc)
        return rc;
    herr e = store_settings(c->store, &hold, &flags);
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_u64(&c->out, "hold", hold);
        json_u64(&c->out, "flags", flags);
        if ((rc = show_muted(c)))
            return rc;
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    printf("the forum's settings (the founder and admins change them):\n");
    if (hold)
        printf("  hold:  %llu (a new member's first %llu posts wait for a moderator's approval)\n",
               (unsigned long long)hold, (unsigned long long)hold);
    else
        printf("  hold:  0 (new members' posts are not held for approval)\n");
    if (flags)
        printf("  flags: %llu (a post flagged by %llu members is hidden until a moderator looks)\n",
               (unsigned long long)flags, (unsigned long long)flags);
    else
        printf("  flags: 0 (flags never hide a post)\n");
    printf("muted warnings on this node (hearth settings --mute WARNING):\n");
    return show_muted(c);
}

static int run(struct cli *c)
{
    const char *hold = cli_opt(c, "hold"), *flags = cli_opt(c, "flags");
    const char *on = cli_opt(c, "mute"), *off = cli_opt(c, "unmute");
    if ((on || off) && (hold || flags || (on && off)))
        return cli_error(c, HERR_USAGE,
                         "--mute and --unmute go alone: they change this node, --hold and "
                         "--flags the forum");
    if (on || off)
        return mute(c, on ? on : off, on != NULL);
    if (hold || flags)
        return publish(c, hold, flags);
    return show(c);
}

static const struct cli_option options[] = {
    {"hold", 0, "N", "hold a new member's first N posts for a moderator's approval (0: none)"},
    {"flags", 0, "N", "hide a post flagged by N members until a moderator looks (0: never)"},
    {"mute", 0, "WARNING", "on this node, show posts with this content warning as [muted]"},
    {"unmute", 0, "WARNING", "show them again"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_settings = {
    .name = "settings",
    .run = run,
    .group = "care",
    .summary = "show or change the forum's settings and this node's muted warnings",
    .synopsis = "[--hold N] [--flags N] | --mute WARNING | --unmute WARNING",
    .details = "--hold and --flags change the forum on every node (founder and admins only).\n"
               "--mute and --unmute are for this node only: a muted warning matches every\n"
               "content warning that holds it as whole words, in any case (muting \"ill\"\n"
               "mutes \"ill-health\" but not \"will\").",
    .options = options,
};

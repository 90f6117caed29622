/* cmd_resources.c - `hearth resources`: the forum's crisis resources, and setting them.
 *
 * The resources (helplines, that this forum is not a crisis service, when moderators
 * are on duty) are a signed event from the founder or an admin, held on every node like
 * everything else, so they are there offline. `threads` and `read` show them in a short
 * box at the top; this command shows them in full.
 */
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "cli/cli.h"

static int set(struct cli *c)
{
    const char *duty = cli_opt(c, "on-duty");
    struct event_draft d = {.kind = EK_RESOURCES};
    uint8_t id[HEARTH_ID_LEN];
    char *text = NULL, sid[13];
    int rc;
    if (duty && (rc = cli_check_text(c, "on-duty", duty, strlen(duty), HEARTH_MAX_SHORT, false)))
        return rc;
    if ((rc = cli_open(c, true, true)) || (rc = cli_body(c, cli_opt(c, "text"), &text)))
        return rc;
    d.b.text = cli_hstr(text);
    d.b.about = cli_hstr(duty);
    d.forum = c->forum;
    herr e = store_publish(c->store, &c->key, &d, id);
    free(text);
    /* The store's refusal speaks of settings; say what was refused. */
    if (e == HERR_DENIED)
        return cli_error(c, e, "only the founder or an admin can set the crisis resources");
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_hex(&c->out, "event", id, HEARTH_ID_LEN);
        json_str(&c->out, "kind", "resources");
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    printf("crisis resources set (event %s): every node shows them once this reaches it\n",
           cli_short_id(sid, id));
    return CLI_OK;
}

static int show(struct cli *c)
{
    char *text = NULL, *duty = NULL, *name = NULL;
    int rc = cli_open(c, false, false);
    if (rc)
        return rc;
    herr e = store_resources(c->store, &text, &duty);
    if (e && e != HERR_NOT_FOUND)
        return cli_store_error(c, e, NULL);
    name = cli_forum_name(c);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "forum_name", name);
        json_str(&c->out, "not_a_crisis_service", CLI_NOT_A_CRISIS_SERVICE);
        json_str(&c->out, "text", text);
        json_str(&c->out, "on_duty", duty);
        json_object_close(&c->out);
        rc = cli_json_flush(c);
    } else {
        fputs("Crisis resources", stdout);
        if (name) {
            fputs(" of ", stdout);
            cli_print_text(stdout, name, NULL);
        }
        fputs("\n\n", stdout);
        if (!text || !cli_contains_nocase(text, "not a crisis service"))
            printf("%s\n", CLI_NOT_A_CRISIS_SERVICE);
        if (text) {
            cli_print_text(stdout, text, "");
            fputs("\n", stdout);
        } else {
            printf("If you are in danger, call your local emergency number.\n"
                   "(This node has not received the forum's resources yet.)\n");
        }
        if (duty) {
            fputs("\nModerators on duty: ", stdout);
            cli_print_text(stdout, duty, NULL);
            fputs("\n", stdout);
        }
    }
    free(text);
    free(duty);
    free(name);
    return rc;
}

static int run(struct cli *c)
{
    if (!cli_flag(c, "set") && (cli_opt(c, "text") || cli_opt(c, "on-duty")))
        return cli_error(c, HERR_USAGE, "--text and --on-duty go with --set");
    if (cli_flag(c, "set"))
        return set(c);
    return show(c);
}

static const struct cli_option options[] = {
    {"set", 0, NULL, "publish new resources (founder and admins)"},
    {"text", 't', "TEXT", "with --set: the helplines and advice (else read from standard input)"},
    {"on-duty", 0, "TEXT", "with --set: when moderators are on duty, e.g. 'weekdays 9-5'"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_resources = {
    .name = "resources",
    .run = run,
    .group = "care",
    .summary = "show the crisis resources (helplines), or set them",
    .synopsis = "[--set [--text TEXT] [--on-duty TEXT]]",
    .details = "The resources are shown at the top of 'threads' and 'read' on every node,\n"
               "offline too. Only the forum's founder and its admins can set them; the\n"
               "newest set replaces the last.",
    .options = options,
};

/* cmd_profile.c - `hearth profile`: show or set your pseudonym. */
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "cli/cli.h"

static int show(struct cli *c, const char *name, const char *about, const uint8_t *event)
{
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_hex(&c->out, "author", c->key.pk, HEARTH_PK_LEN);
        json_str(&c->out, "name", name);
        json_str(&c->out, "about", about);
        if (event)
            json_hex(&c->out, "event", event, HEARTH_ID_LEN);
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    if (!name) {
        printf(
            "no pseudonym yet: others see your key; set one with 'hearth profile --name NAME'\n");
        return CLI_OK;
    }
    fputs("name:  ", stdout);
    cli_print_text(stdout, name, NULL);
    if (about) {
        fputs("\nabout: ", stdout);
        cli_print_text(stdout, about, "       ");
    }
    fputs("\n", stdout);
    return CLI_OK;
}

static int set(struct cli *c, const char *name, const char *about)
{
    struct event_draft d = {.kind = EK_PROFILE};
    uint8_t id[HEARTH_ID_LEN];
    int rc;
    if (!name)
        return cli_error(c, HERR_USAGE, "a profile needs a name: give --name NAME");
    if ((rc = cli_check_text(c, "name", name, strlen(name), HEARTH_MAX_NAME, false)))
        return rc;
    if (about && (rc = cli_check_text(c, "about", about, strlen(about), HEARTH_MAX_SHORT, true)))
        return rc;
    d.b.name = cli_hstr(name);
    d.b.about = cli_hstr(about);
    if ((rc = cli_publish(c, &d, id)))
        return rc;
    return show(c, name, about, id);
}

static int run(struct cli *c)
{
    const char *new_name = cli_opt(c, "name"), *new_about = cli_opt(c, "about");
    bool setting = new_name || new_about || cli_flag(c, "no-about");
    char *name = NULL, *about = NULL;
    int rc = cli_open(c, setting, true);
    if (rc)
        return rc;
    herr e = store_profile(c->store, c->key.pk, &name, &about);
    if (e && e != HERR_NOT_FOUND)
        return cli_store_error(c, e, NULL);
    if (!setting) {
        rc = show(c, name, about, NULL);
    } else {
        /* A profile event states the whole profile: keep what is not being changed. */
        if (cli_flag(c, "no-about"))
            new_about = NULL;
        else if (!new_about)
            new_about = about;
        rc = set(c, new_name ? new_name : name, new_about);
    }
    free(name);
    free(about);
    return rc;
}

static const struct cli_option options[] = {
    {"name", 0, "NAME", "your pseudonym (up to 64 bytes, one line)"},
    {"about", 0, "TEXT", "a few words about you"},
    {"no-about", 0, NULL, "remove the about text"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_profile = {
    .name = "profile",
    .run = run,
    .group = "start",
    .summary = "show or set your pseudonym",
    .synopsis = "[--name NAME] [--about TEXT | --no-about]",
    .details = "Others see your pseudonym beside your posts, with the first digits of your\n"
               "key, so two people who choose one name can still be told apart.",
    .options = options,
};

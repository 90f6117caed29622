/* cmd_edit.c - `hearth edit ID`: change the words of your own post or reply. */
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "cli/cli.h"

static bool same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* check - the post may be edited by us, and the options fit it. */
static int check(struct cli *c, const struct store_post *p)
{
    const char *title = cli_opt(c, "title"), *cw = cli_opt(c, "cw");
    int rc;
    if (memcmp(p->author, c->key.pk, HEARTH_PK_LEN) != 0)
        return cli_error(c, HERR_DENIED, "'%s': you can only edit your own posts", c->args[0]);
    if (p->status == POST_RETRACTED || p->status == POST_REMOVED)
        return cli_error(c, HERR_STATE, "'%s': %s, there is nothing to edit", c->args[0],
                         p->status == POST_RETRACTED ? "retracted" : "removed");
    if (title && p->kind != EK_POST)
        return cli_error(c, HERR_USAGE, "'%s': a reply has no title", c->args[0]);
    if (cw && cli_flag(c, "no-cw"))
        return cli_error(c, HERR_USAGE, "--cw and --no-cw do not go together");
    if (title && (rc = cli_check_text(c, "title", title, strlen(title), HEARTH_MAX_TITLE, false)))
        return rc;
    if (cw && (rc = cli_check_text(c, "content warning", cw, strlen(cw), HEARTH_MAX_SHORT, false)))
        return rc;
    return CLI_OK;
}

/* new_text - the body to publish: --body, else the current words when only the title
 * or warning changes, else standard input. Caller frees. */
static int new_text(struct cli *c, const struct store_post *p, char **out)
{
    const char *body = cli_opt(c, "body");
    if (!body && (cli_opt(c, "title") || cli_opt(c, "cw") || cli_flag(c, "no-cw"))) {
        if (!p->text)
            return cli_error(c, HERR_STATE, "'%s': its words are not on this node", c->args[0]);
        body = p->text;
    }
    return cli_body(c, body, out);
}

static int publish(struct cli *c, const struct store_post *p, const char *text)
{
    /* An edit states the post's whole new form, so what is not being changed is
     * carried over. */
    const char *title = cli_opt(c, "title") ? cli_opt(c, "title") : p->title;
    const char *cw = cli_flag(c, "no-cw") ? NULL : cli_opt(c, "cw") ? cli_opt(c, "cw") : p->cw;
    uint8_t id[HEARTH_ID_LEN];
    int rc;
    if (same(text, p->text) && same(title, p->title) && same(cw, p->cw))
        return cli_error(c, HERR_USAGE, "'%s': nothing to change", c->args[0]);
    struct event_draft d = {.kind = EK_EDIT, .ref = p->id};
    d.b.text = cli_hstr(text);
    d.b.title = cli_hstr(p->kind == EK_POST ? title : NULL);
    d.b.cw = cli_hstr(cw);
    if ((rc = cli_publish(c, &d, id)))
        return rc;
    if (c->json)
        return cli_json_published(c, EK_EDIT, id, p->id, p->id);
    char sid[13];
    printf("edited %s\n", cli_short_id(sid, p->id));
    return CLI_OK;
}

static int run(struct cli *c)
{
    struct store_post p;
    char *text = NULL;
    int rc = cli_get_post(c, c->args[0], &p);
    if (rc)
        return rc;
    if (!(rc = check(c, &p)) && !(rc = new_text(c, &p, &text)))
        rc = publish(c, &p, text);
    free(text);
    store_posts_free(&p, 1);
    return rc;
}

static const struct cli_option options[] = {
    {"body", 'b', "TEXT", "the new words (else read from standard input)"},
    {"title", 't', "TITLE", "a new title (a thread's first post only)"},
    {"cw", 0, "WARNING", "a new content warning"},
    {"no-cw", 0, NULL, "remove the content warning"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_edit = {
    .name = "edit",
    .run = run,
    .group = "write",
    .summary = "change the words of your own post or reply",
    .synopsis = "ID [--body TEXT] [--title TITLE] [--cw WARNING | --no-cw]",
    .details = "With only --title or --cw the words stay as they are; with none of the\n"
               "options the new words are read from standard input.",
    .options = options,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_KEY,
};

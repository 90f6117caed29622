/* cmd_read.c - `hearth read THREAD`: a thread with its replies. */
#include <string.h>

#include "cli/cli.h"

#define INDENT_MAX 16 /* deeper replies are indented no further */

/* print_reactions - "support 2 · hug 1", in the order of event_reactions. */
static void print_reactions(const struct store_post *p, const char *indent)
{
    bool any = false;
    for (const char *const *r = event_reactions; *r; r++) {
        for (uint32_t i = 0; i < p->n_reactions && i < STORE_MAX_REACTIONS; i++) {
            if (strcmp(p->reactions[i].name, *r) != 0 || !p->reactions[i].count)
                continue;
            printf("%s%s %u", any ? " · " : indent, *r, p->reactions[i].count);
            any = true;
        }
    }
    if (any)
        fputs("\n", stdout);
}

/* print_state - what happened to a post that not everyone sees, or that a moderator
 * removed, with the moderator's reason when the viewer may read it (its author and
 * the moderators). */
static void print_state(const struct store_post *p, const char *indent)
{
    const char *label = NULL;
    if (p->status == POST_HELD) {
        printf("%s[waiting for a moderator's approval]\n", indent);
        return;
    }
    if (p->status == POST_HIDDEN && p->hidden_by == HIDDEN_BY_FLAGS) {
        printf("%s[hidden until a moderator reviews it (flagged by %u member%s)]\n", indent,
               p->flags, p->flags == 1 ? "" : "s");
        return;
    }
    if (p->status == POST_HIDDEN)
        label = p->hidden_by == HIDDEN_BY_BAN ? "hidden: its author is banned"
                                              : "hidden by a moderator";
    else if (p->status == POST_REMOVED && p->mod_reason)
        label = "removed by a moderator";
    if (!label)
        return;
    printf("%s[%s", indent, label);
    if (p->mod_reason) {
        fputs(": ", stdout);
        cli_print_text(stdout, p->mod_reason, NULL);
    }
    fputs("]\n", stdout);
}

static void print_post(struct cli *c, const struct store_post *p)
{
    const char *muted = cli_muted(c, p->cw);
    char indent[4 * INDENT_MAX + 1], id[13], when[64];
    uint32_t depth = p->depth < INDENT_MAX ? p->depth : INDENT_MAX;
    memset(indent, ' ', 4 * depth);
    indent[4 * depth] = '\0';

    fputs("\n", stdout);
    fputs(indent, stdout);
    cli_print_author(stdout, p);
    printf(" · %s", cli_format_time(when, sizeof when, p->created));
    if (p->edited)
        fputs(" · edited", stdout);
    printf(" · %s\n", cli_short_id(id, p->id));
    print_state(p, indent);
    if (p->cw) {
        printf("%s[content warning: ", indent);
        cli_print_text(stdout, p->cw, NULL);
        fputs("]\n", stdout);
    }
    fputs(indent, stdout);
    if (cli_placeholder(p)) {
        fputs(cli_placeholder(p), stdout);
    } else if (muted) {
        cli_print_muted(stdout, muted);
    } else if (p->cw && !cli_flag(c, "show")) {
        cli_print_folded(stdout, p->id);
    } else {
        cli_print_text(stdout, p->text, indent);
    }
    fputs("\n", stdout);
    print_reactions(p, indent);
}

static void print_head(struct cli *c, const struct store_post *p)
{
    char id[13];
    const char *board = cli_board_name(c, p->board), *muted = cli_muted(c, p->cw);
    if (cli_placeholder(p)) {
        fputs(cli_placeholder(p), stdout);
    } else if (muted) {
        cli_print_muted(stdout, muted);
    } else {
        cli_print_text(stdout, p->title ? p->title : "(untitled)", NULL);
    }
    fputs("\nin ", stdout);
    cli_print_text(stdout, board ? board : "?", NULL);
    printf(" · thread %s", cli_short_id(id, p->id));
    if (p->pinned)
        fputs(" · pinned", stdout);
    if (p->locked)
        fputs(" · locked: no new replies", stdout);
    printf(" · %u repl%s\n", p->replies, p->replies == 1 ? "y" : "ies");
}

static int run(struct cli *c)
{
    struct store_post one, *p;
    size_t n, limit;
    char next[STORE_CURSOR_MAX];
    const char *before = cli_opt(c, "before");
    int rc = cli_page_limit(c, &limit);
    if (!rc)
        rc = cli_get_post(c, c->args[0], &one);
    if (rc)
        return rc;
    /* A reply's id opens its whole thread. */
    herr e = store_thread_before(c->store, one.root, before, limit, &p, &n, next);
    store_posts_free(&one, 1);
    if (e == HERR_NOT_FOUND)
        return cli_error(c, e, "'%s': no such thread", c->args[0]);
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->json) {
        json_array_open(&c->out, NULL);
        for (size_t i = 0; i < n; i++)
            cli_json_post(c, NULL, &p[i]);
        json_array_close(&c->out);
    } else if (n > 0) {
        cli_print_resources_box(c, stdout);
        if (before && *before)
            printf("thread %.12s, continued\n", c->args[0]);
        else
            print_head(c, &p[0]);
        for (size_t i = 0; i < n; i++)
            print_post(c, &p[i]);
        char cmd[256];
        snprintf(cmd, sizeof cmd, "read %s%s%s%s", c->args[0], cli_flag(c, "show") ? " --show" : "",
                 cli_opt(c, "limit") ? " --limit " : "",
                 cli_opt(c, "limit") ? cli_opt(c, "limit") : "");
        if (next[0])
            fputs("\n", stdout);
        cli_page_next(c, cmd, next);
    }
    store_posts_free(p, n);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

static const struct cli_option options[] = {
    {"show", 0, NULL, "show the words of posts with a content warning"},
    CLI_PAGE_OPTIONS,
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_read = {
    .name = "read",
    .run = run,
    .group = "read",
    .summary = "read a thread with its replies, a page at a time",
    .synopsis = "ID [--show] [--limit N] [--before CURSOR]",
    .details = "ID is the first digits (at least 4) of the thread's id, or of any reply in it.\n"
               "The words of a post with a content warning stay folded under the warning\n"
               "until --show opens them; a post whose warning this node has muted\n"
               "(hearth settings --mute) shows [muted: WARNING] even then. A page shows 50\n"
               "posts (--limit N); when the thread goes on, the last line says how to see\n"
               "the next page (--before CURSOR).",
    .options = options,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_STORE,
};

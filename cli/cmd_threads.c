/* cmd_threads.c - `hearth threads BOARD`: a board's threads, pinned first, then by
 * latest activity. */
#include "cli/cli.h"

static void print_thread(struct cli *c, const struct store_post *p)
{
    const char *muted = cli_muted(c, p->cw);
    char id[13], when[64];
    printf("%s  ", cli_short_id(id, p->id));
    if (p->pinned)
        fputs("[pinned] ", stdout);
    if (p->locked)
        fputs("[locked] ", stdout);
    if (p->status == POST_HIDDEN)
        fputs("[hidden] ", stdout);
    if (p->status == POST_HELD)
        fputs("[waiting for approval] ", stdout);
    if (p->cw) {
        fputs("[content warning: ", stdout);
        cli_print_text(stdout, p->cw, NULL);
        fputs("] ", stdout);
    }
    if (cli_placeholder(p)) {
        fputs(cli_placeholder(p), stdout);
    } else if (muted) {
        cli_print_muted(stdout, muted);
    } else {
        cli_print_text(stdout, p->title ? p->title : "(untitled)", NULL);
    }
    fputs("\n              ", stdout);
    cli_print_author(stdout, p);
    printf(" · %u repl%s · %s\n", p->replies, p->replies == 1 ? "y" : "ies",
           cli_format_time(when, sizeof when, p->last_activity ? p->last_activity : p->created));
}

static int run(struct cli *c)
{
    uint8_t board[HEARTH_ID_LEN];
    struct store_post *p;
    size_t n, limit;
    char next[STORE_CURSOR_MAX];
    int rc = cli_page_limit(c, &limit);
    if (!rc)
        rc = cli_find_board(c, c->args[0], board);
    if (rc)
        return rc;
    herr e = store_threads_before(c->store, board, cli_opt(c, "before"), limit, &p, &n, next);
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_array_open(&c->out, "threads");
        for (size_t i = 0; i < n; i++)
            cli_json_post(c, NULL, &p[i]);
        json_array_close(&c->out);
        cli_page_next(c, NULL, next);
        json_object_close(&c->out);
    } else {
        const char *name = cli_board_name(c, board);
        cli_print_resources_box(c, stdout);
        cli_print_text(stdout, name ? name : c->args[0], NULL);
        printf(": %zu thread%s%s\n", n, n == 1 ? "" : "s", next[0] ? " on this page" : "");
        for (size_t i = 0; i < n; i++)
            print_thread(c, &p[i]);
        char cmd[256];
        snprintf(cmd, sizeof cmd, "threads %s%s%s", c->args[0],
                 cli_opt(c, "limit") ? " --limit " : "",
                 cli_opt(c, "limit") ? cli_opt(c, "limit") : "");
        cli_page_next(c, cmd, next);
    }
    store_posts_free(p, n);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

static const struct cli_option options[] = {
    CLI_PAGE_OPTIONS,
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_threads = {
    .name = "threads",
    .run = run,
    .group = "read",
    .summary = "list the threads of a board, a page at a time",
    .synopsis = "BOARD [--limit N] [--before CURSOR]",
    .details = "BOARD is a board's name or the first digits of its id (see 'hearth boards').\n"
               "A page shows 50 threads (--limit N); when there are more, the last line says\n"
               "how to see the next page (--before CURSOR; \"next\" in --json, null at the end).",
    .options = options,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_STORE,
};

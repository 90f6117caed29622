/* cmd_search.c - `hearth search WORDS...`: the posts and replies, visible to you, that
 * hold every word.
 *
 * The store keeps a full-text index (SQLite FTS5) of what everyone may read: hidden,
 * held, removed and retracted text is never in it, so a search cannot find words a
 * moderator or their author took away.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_QUERY 1000 /* bytes of the words searched for */

static void print_hit(struct cli *c, const struct store_post *p)
{
    const char *board = cli_board_name(c, p->board), *muted = cli_muted(c, p->cw);
    char id[13], when[64];
    printf("\n%s  %s in ", cli_short_id(id, p->id), p->kind == EK_POST ? "thread" : "reply");
    cli_print_text(stdout, board ? board : "?", NULL);
    fputs(" · ", stdout);
    cli_print_author(stdout, p);
    printf(" · %s\n              ", cli_format_time(when, sizeof when, p->created));
    if (p->cw) {
        fputs("[content warning: ", stdout);
        cli_print_text(stdout, p->cw, NULL);
        fputs("] ", stdout);
    }
    if (muted) {
        cli_print_muted(stdout, muted);
        fputs("\n", stdout);
        return;
    }
    if (p->title) {
        cli_print_excerpt(stdout, p->title, 100);
        fputs("\n              ", stdout);
    }
    if (p->cw)
        cli_print_folded(stdout, p->id);
    else
        cli_print_excerpt(stdout, p->text ? p->text : "", 160);
    fputs("\n", stdout);
}

/* join_words - the arguments as one query, separated by spaces; caller frees. */
static char *join_words(const struct cli *c)
{
    size_t n = 0, at = 0;
    for (int i = 0; i < c->nargs; i++)
        n += strlen(c->args[i]) + 1;
    char *q = malloc(n + 1);
    if (!q)
        return NULL;
    for (int i = 0; i < c->nargs; i++) {
        size_t k = strlen(c->args[i]);
        if (i)
            q[at++] = ' ';
        memcpy(q + at, c->args[i], k);
        at += k;
    }
    q[at] = '\0';
    return q;
}

static int run(struct cli *c)
{
    struct store_post *p = NULL;
    size_t n = 0, limit;
    char next[STORE_CURSOR_MAX];
    int rc = cli_page_limit(c, &limit);
    if (rc)
        return rc;
    char *query = join_words(c);
    if (!query)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    if ((rc = cli_check_text(c, "search", query, strlen(query), MAX_QUERY, false)) ||
        (rc = cli_resolve_dir(c)) || (rc = cli_open(c, !cli_dir_readonly(c), false))) {
        free(query);
        return rc;
    }
    herr e = store_search_before(c->store, query, cli_opt(c, "before"), limit, &p, &n, next);
    if (e == HERR_USAGE && strstr(store_errmsg(c->store), "nothing to search"))
        rc = cli_error(c, e, "'%s': nothing to search for (give words)", query);
    else if (e)
        rc = cli_store_error(c, e, NULL);
    char cmd[MAX_QUERY + 64];
    snprintf(cmd, sizeof cmd, "search%s%s %s", cli_opt(c, "limit") ? " --limit " : "",
             cli_opt(c, "limit") ? cli_opt(c, "limit") : "", query);
    free(query);
    if (rc)
        return rc;
    if (c->json) {
        json_array_open(&c->out, NULL);
        for (size_t i = 0; i < n; i++)
            cli_json_post(c, NULL, &p[i]);
        json_array_close(&c->out);
    } else {
        bool newest = next[0] == '0';
        printf("%zu found%s\n", n,
               !next[0] ? ""
               : newest ? " on this page (a common word: the newest first)"
                        : " on this page (the best first)");
        for (size_t i = 0; i < n; i++)
            print_hit(c, &p[i]);
        cli_page_next(c, cmd, next);
    }
    store_posts_free(p, n);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

static const struct cli_option options[] = {
    CLI_PAGE_OPTIONS,
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_search = {
    .name = "search",
    .run = run,
    .group = "read",
    .summary = "find the posts and replies that hold every word",
    .synopsis = "WORDS... [--limit N] [--before CURSOR]",
    .details = "Searches what you may read, best match first, 50 a page (--limit N; the last\n"
               "line says how to see the next page). When more than 2,000 posts match (a\n"
               "common word), the newest come first instead. Every word must be there,\n"
               "whole, in any case. Hidden, held, removed and retracted posts are never found.",
    .options = options,
    .min_args = 1,
    .max_args = CLI_MAX_ARGS,
};

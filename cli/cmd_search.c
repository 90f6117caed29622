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
    cli_print_cw(stdout, p->cw);
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
    size_t n = 0;
    char *query = join_words(c);
    int rc;
    if (!query)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    if ((rc = cli_check_text(c, "search", query, strlen(query), MAX_QUERY, false)) ||
        (rc = cli_resolve_dir(c)) || (rc = cli_open(c, !cli_dir_readonly(c), false))) {
        free(query);
        return rc;
    }
    herr e = store_search(c->store, query, 0, &p, &n);
    if (e == HERR_USAGE)
        rc = cli_error(c, e, "'%s': nothing to search for (give words)", query);
    else if (e)
        rc = cli_store_error(c, e, NULL);
    free(query);
    if (rc)
        return rc;
    if (c->json) {
        cli_json_posts(c, p, n);
    } else {
        printf("%zu found%s\n", n, n == 50 ? " (the best 50)" : "");
        for (size_t i = 0; i < n; i++)
            print_hit(c, &p[i]);
    }
    store_posts_free(p, n);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

const struct cli_command cmd_search = {
    .name = "search",
    .run = run,
    .group = "read",
    .summary = "find the posts and replies that hold every word",
    .synopsis = "WORDS...",
    .details = "Searches what you may read, best match first (at most 50). Every word must\n"
               "be there, whole, in any case. Hidden, held, removed and retracted posts are\n"
               "never found.",
    .min_args = 1,
    .max_args = CLI_MAX_ARGS,
};

/* cmd_boards.c - `hearth boards`: the forum's boards; `boards add NAME` and `boards
 * rename BOARD NAME` (the founder and admins). */
#include <string.h>

#include "base/limits.h"
#include "cli/cli.h"

/* change - add a board (target NULL) or rename one, with --about. */
static int change(struct cli *c, const char *board, const char *name)
{
    uint8_t target[HEARTH_ID_LEN], id[HEARTH_ID_LEN];
    const char *about = cli_opt(c, "about");
    char sid[13];
    int rc = cli_open(c, true, true);
    if (!rc && board)
        rc = cli_find_board(c, board, target);
    if (!rc)
        rc = cli_check_text(c, "name", name, strlen(name), HEARTH_MAX_NAME, false);
    if (!rc && about)
        rc = cli_check_text(c, "about", about, strlen(about), HEARTH_MAX_SHORT, false);
    if (rc)
        return rc;
    struct event_draft d = {.kind = EK_BOARD, .ref = board ? target : NULL};
    d.b.name = cli_hstr(name);
    if (about)
        d.b.about = cli_hstr(about);
    if ((rc = cli_publish(c, &d, id)))
        return rc;
    if (c->json)
        return cli_json_published(c, EK_BOARD, id, board ? target : NULL, NULL);
    if (board)
        printf("renamed board %s to ", cli_short_id(sid, target));
    else
        printf("added board %s, ", cli_short_id(sid, id));
    cli_print_text(stdout, name, NULL);
    printf("\n");
    return CLI_OK;
}

static int run(struct cli *c)
{
    int rc;
    if (c->nargs >= 1 && !strcmp(c->args[0], "add"))
        return c->nargs == 2
                   ? change(c, NULL, c->args[1])
                   : cli_error(c, HERR_USAGE, "give the new board's name: boards add NAME");
    if (c->nargs >= 1 && !strcmp(c->args[0], "rename"))
        return c->nargs == 3
                   ? change(c, c->args[1], c->args[2])
                   : cli_error(c, HERR_USAGE,
                               "give the board and its new name: boards rename BOARD NAME");
    if (c->nargs > 0)
        return cli_error(
            c, HERR_USAGE,
            "unexpected argument '%s' (boards, boards add NAME, boards rename BOARD NAME)",
            c->args[0]);
    if ((rc = cli_open(c, false, false)))
        return rc;
    struct store_board *b;
    size_t n;
    herr e = store_boards(c->store, &b, &n);
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->json) {
        json_array_open(&c->out, NULL);
        for (size_t i = 0; i < n; i++) {
            json_object_open(&c->out, NULL);
            json_hex(&c->out, "id", b[i].id, HEARTH_ID_LEN);
            json_str(&c->out, "name", b[i].name);
            json_str(&c->out, "about", b[i].about);
            json_u64(&c->out, "created", b[i].created);
            json_u64(&c->out, "threads", b[i].threads);
            json_object_close(&c->out);
        }
        json_array_close(&c->out);
    } else if (n == 0) {
        printf("no boards yet: this node has not fetched its forum (import a bundle or sync)\n");
    }
    for (size_t i = 0; !c->json && i < n; i++) {
        char id[13];
        printf("%s  ", cli_short_id(id, b[i].id));
        cli_print_text(stdout, b[i].name, NULL);
        printf("  (%u thread%s)\n", b[i].threads, b[i].threads == 1 ? "" : "s");
        if (b[i].about) {
            fputs("    ", stdout);
            cli_print_text(stdout, b[i].about, "    ");
            fputs("\n", stdout);
        }
    }
    store_boards_free(b, n);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

static const struct cli_option options[] = {
    {"about", 0, "TEXT", "what the board is for (add, rename)"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_boards = {
    .name = "boards",
    .run = run,
    .group = "read",
    .summary = "list the boards; add or rename one (founder, admins)",
    .synopsis = "[add NAME | rename BOARD NAME] [--about TEXT]",
    .details = "A rename keeps the board's threads and its id; every node shows the newest\n"
               "rename (by its time) made by the founder or an admin.",
    .options = options,
    .min_args = 0,
    .max_args = 3,
};

/* cmd_post.c - `hearth post BOARD --title T`: start a thread. */
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "cli/cli.h"

static int run(struct cli *c)
{
    const char *title = cli_opt(c, "title"), *cw = cli_opt(c, "cw");
    uint8_t board[HEARTH_ID_LEN], id[HEARTH_ID_LEN];
    char *body = NULL;
    int rc;
    if (!title)
        return cli_error(c, HERR_USAGE, "a thread needs a title: give --title TITLE");
    if ((rc = cli_check_text(c, "title", title, strlen(title), HEARTH_MAX_TITLE, false)))
        return rc;
    if (cw && (rc = cli_check_text(c, "content warning", cw, strlen(cw), HEARTH_MAX_SHORT, false)))
        return rc;
    /* The board first, so that nobody types a whole post into a board that is not there. */
    if ((rc = cli_find_board(c, c->args[0], board)) ||
        (rc = cli_body(c, cli_opt(c, "body"), &body)))
        return rc;
    struct event_draft d = {.kind = EK_POST, .ref = board};
    d.b.title = cli_hstr(title);
    d.b.text = cli_hstr(body);
    d.b.cw = cli_hstr(cw);
    rc = cli_publish(c, &d, id);
    free(body);
    if (rc)
        return rc;
    if (c->json)
        return cli_json_published(c, EK_POST, id, board, id);
    char sid[13];
    const char *name = cli_board_name(c, board);
    printf("posted %s in ", cli_short_id(sid, id));
    cli_print_text(stdout, name ? name : c->args[0], NULL);
    fputs("\n", stdout);
    cli_note_held(c, id);
    return CLI_OK;
}

static const struct cli_option options[] = {
    {"title", 't', "TITLE", "the thread's title (one line)"},
    {"body", 'b', "TEXT", "the post itself (else read from standard input)"},
    {"cw", 0, "WARNING", "a content warning shown before the post, e.g. 'self-harm'"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_post = {
    .name = "post",
    .run = run,
    .group = "write",
    .summary = "start a thread on a board",
    .synopsis = "BOARD --title TITLE [--cw WARNING] [--body TEXT]",
    .details = "Without --body the post is read from standard input. BOARD is a board's name\n"
               "or the first digits of its id.",
    .options = options,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_KEY,
};

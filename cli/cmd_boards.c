/* cmd_boards.c - `hearth boards`: the forum's boards. */
#include "cli/cli.h"

static int run(struct cli *c)
{
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

const struct cli_command cmd_boards = {
    .name = "boards",
    .run = run,
    .group = "read",
    .summary = "list the boards",
    .synopsis = "",
    .needs = CLI_NEEDS_STORE,
};

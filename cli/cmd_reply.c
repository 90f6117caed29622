/* cmd_reply.c - `hearth reply ID`: answer a post or a reply. */
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "cli/cli.h"

static int run(struct cli *c)
{
    const char *cw = cli_opt(c, "cw");
    struct store_post parent;
    uint8_t id[HEARTH_ID_LEN];
    char *body = NULL;
    int rc;
    if (cw && (rc = cli_check_text(c, "content warning", cw, strlen(cw), HEARTH_MAX_SHORT, false)))
        return rc;
    if ((rc = cli_get_post(c, c->args[0], &parent)))
        return rc;
    /* The store refuses a reply in a locked thread; asking first spares a person
     * typing a whole reply on standard input for nothing. */
    bool locked = parent.locked;
    struct store_post root;
    if (parent.kind == EK_REPLY && store_post_get(c->store, parent.root, &root) == HERR_OK) {
        locked = root.locked;
        store_posts_free(&root, 1);
    }
    if (locked)
        rc = cli_error(c, HERR_DENIED, "'%s': the thread is locked", c->args[0]);
    if (!rc)
        rc = cli_body(c, cli_opt(c, "body"), &body);
    if (!rc) {
        struct event_draft d = {.kind = EK_REPLY, .root = parent.root, .ref = parent.id};
        d.b.text = cli_hstr(body);
        d.b.cw = cli_hstr(cw);
        rc = cli_publish(c, &d, id);
    }
    free(body);
    if (!rc && c->json) {
        rc = cli_json_published(c, EK_REPLY, id, parent.id, id);
    } else if (!rc) {
        char sid[13], pid[13];
        printf("replied %s to %s\n", cli_short_id(sid, id), cli_short_id(pid, parent.id));
        cli_note_held(c, id);
    }
    store_posts_free(&parent, 1);
    return rc;
}

static const struct cli_option options[] = {
    {"body", 'b', "TEXT", "the reply (else read from standard input)"},
    {"cw", 0, "WARNING", "a content warning shown before the reply"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_reply = {
    .name = "reply",
    .run = run,
    .group = "write",
    .summary = "reply to a post or to a reply",
    .synopsis = "ID [--cw WARNING] [--body TEXT]",
    .details = "ID is the first digits (at least 4) of the post or reply you answer. Without\n"
               "--body the reply is read from standard input.",
    .options = options,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_KEY,
};

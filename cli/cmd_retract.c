/* cmd_retract.c - `hearth retract ID`: take back something you posted. */
#include <string.h>

#include "cli/cli.h"

static int run(struct cli *c)
{
    uint8_t target[HEARTH_ID_LEN], id[HEARTH_ID_LEN];
    struct store_post p;
    int rc = cli_resolve(c, c->args[0], target);
    if (rc)
        return rc;
    /* The store has the last word; these checks only give posts a clearer message. */
    herr e = store_post_get(c->store, target, &p);
    if (e == HERR_OK) {
        if (memcmp(p.author, c->key.pk, HEARTH_PK_LEN) != 0)
            rc = cli_error(c, HERR_DENIED, "'%s': you can only retract your own posts", c->args[0]);
        else if (p.status == POST_RETRACTED)
            rc = cli_error(c, HERR_STATE, "'%s': already retracted", c->args[0]);
        store_posts_free(&p, 1);
        if (rc)
            return rc;
    } else if (e != HERR_NOT_FOUND) {
        return cli_store_error(c, e, NULL);
    }
    struct event_draft d = {.kind = EK_RETRACT, .ref = target};
    if ((rc = cli_publish(c, &d, id)))
        return rc;
    if (c->json)
        return cli_json_published(c, EK_RETRACT, id, target, e == HERR_OK ? target : NULL);
    char sid[13];
    printf("retracted %s: its words are deleted here and on every node this reaches\n",
           cli_short_id(sid, target));
    return CLI_OK;
}

const struct cli_command cmd_retract = {
    .name = "retract",
    .run = run,
    .group = "write",
    .summary = "take back your post, reply, reaction or flag",
    .synopsis = "ID",
    .details = "The words are deleted from this node at once, and from every node the\n"
               "retraction reaches; what stays is a signed note that something was taken back.",
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_KEY,
};

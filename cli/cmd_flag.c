/* cmd_flag.c - `hearth flag ID --reason TEXT`: ask the moderators to look at a post. */
#include <string.h>

#include "base/limits.h"
#include "cli/cli.h"

static int run(struct cli *c)
{
    const char *reason = cli_opt(c, "reason");
    struct store_post p;
    uint8_t id[HEARTH_ID_LEN];
    char sid[13];
    int rc;
    if (!reason)
        return cli_error(c, HERR_USAGE, "say why for the moderators: give --reason TEXT");
    if ((rc = cli_check_text(c, "reason", reason, strlen(reason), HEARTH_MAX_SHORT, true)))
        return rc;
    if ((rc = cli_get_post(c, c->args[0], &p)))
        return rc;
    struct event_draft d = {.kind = EK_FLAG, .ref = p.id};
    d.b.reason = cli_hstr(reason);
    rc = cli_publish(c, &d, id);
    if (!rc && c->json)
        rc = cli_json_published(c, EK_FLAG, id, p.id, NULL);
    else if (!rc)
        printf("flagged %s for the moderators\n", cli_short_id(sid, p.id));
    store_posts_free(&p, 1);
    return rc;
}

static const struct cli_option options[] = {
    {"reason", 'r', "TEXT", "what the moderators should know"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_flag = {
    .name = "flag",
    .run = run,
    .group = "write",
    .summary = "ask the moderators to look at a post or reply",
    .synopsis = "ID --reason TEXT",
    .options = options,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_KEY,
};

/* cmd_react.c - `hearth react ID KIND`: a supportive reaction (not a like). */
#include <ctype.h>
#include <string.h>

#include "cli/cli.h"

/* normalise - "Thinking of you" and "thinking_of_you" both mean "thinking-of-you". */
static const char *normalise(const char *in, char *buf, size_t size)
{
    size_t n = 0;
    for (; in[n] && n + 1 < size; n++)
        buf[n] = in[n] == ' ' || in[n] == '_' ? '-' : (char)tolower((unsigned char)in[n]);
    buf[n] = '\0';
    for (const char *const *r = event_reactions; *r; r++)
        if (strcmp(*r, buf) == 0)
            return *r;
    return NULL;
}

static int list(struct cli *c)
{
    if (c->json)
        json_array_open(&c->out, NULL);
    for (const char *const *r = event_reactions; *r; r++) {
        if (c->json)
            json_str(&c->out, NULL, *r);
        else
            printf("%s\n", *r);
    }
    if (c->json)
        json_array_close(&c->out);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

static int react(struct cli *c)
{
    char buf[64], sid[13];
    struct store_post p;
    uint8_t id[HEARTH_ID_LEN];
    const char *kind = normalise(c->args[1], buf, sizeof buf);
    if (!kind)
        return cli_error(c, HERR_USAGE,
                         "'%s' is not a reaction (choose support, thinking-of-you, this-helped, "
                         "me-too or hug)",
                         c->args[1]);
    int rc = cli_open(c, true, true);
    if (rc || (rc = cli_get_post(c, c->args[0], &p)))
        return rc;
    struct event_draft d = {.kind = EK_REACT, .ref = p.id};
    d.b.reaction = cli_hstr(kind);
    rc = cli_publish(c, &d, id);
    if (!rc && c->json)
        rc = cli_json_published(c, EK_REACT, id, p.id, p.id);
    else if (!rc)
        printf("sent %s to %s\n", kind, cli_short_id(sid, p.id));
    store_posts_free(&p, 1);
    return rc;
}

static int run(struct cli *c)
{
    if (cli_flag(c, "list"))
        return list(c);
    if (c->nargs != 2)
        return cli_error(c, HERR_USAGE,
                         "give the post's id and a reaction (see 'hearth react "
                         "--list')");
    return react(c);
}

static const struct cli_option options[] = {
    {"list", 'l', NULL, "list the reactions"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_react = {
    .name = "react",
    .run = run,
    .group = "write",
    .summary = "send support to a post: support, thinking-of-you, this-helped, me-too, hug",
    .synopsis = "ID KIND | --list",
    .options = options,
    .max_args = 2,
};

/* cmd_mod.c - `hearth mod ACTION TARGET --reason TEXT`, `hearth mod queue` and
 * `hearth mod log`: moderation by signed events.
 *
 * A moderation event counts only from a key that holds the moderator role in the view;
 * the store refuses one from anyone else before it is signed (exit 6), and gives no
 * effect to one that arrives from elsewhere. Every action carries a reason, which the
 * moderators of every node can read.
 */
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "cli/cli.h"

enum acts_on {
    ON_POST,   /* a post or reply */
    ON_THREAD, /* a thread, named by its post (or any reply in it) */
    ON_AUTHOR, /* an author key */
};

static const struct action {
    const char *name;
    enum acts_on on;
    const char *done; /* what the human output says after the target */
} actions[] = {
    {"hide", ON_POST, "is hidden: only moderators see it now"},
    {"unhide", ON_POST, "is shown again"},
    {"remove", ON_POST, "is removed: its words are deleted here and on every node this reaches"},
    {"lock", ON_THREAD, "is locked: no new replies"},
    {"unlock", ON_THREAD, "is open for replies again"},
    {"pin", ON_THREAD, "is pinned to the top of its board"},
    {"unpin", ON_THREAD, "is no longer pinned"},
    {"approve", ON_POST, "is approved: everyone sees it now"},
    {"ban", ON_AUTHOR, "is banned from posting"},
    {"unban", ON_AUTHOR, "may post again"},
};

#define N_ACTIONS (sizeof actions / sizeof actions[0])

static const struct action *action_find(const char *name)
{
    for (size_t i = 0; i < N_ACTIONS; i++)
        if (strcmp(actions[i].name, name) == 0)
            return &actions[i];
    return NULL;
}

static int report(struct cli *c, const struct action *a, const char *reason,
                  const uint8_t event[HEARTH_ID_LEN], const uint8_t *target, const uint8_t *subject)
{
    char sid[13];
    if (c->json) {
        struct store_post p;
        herr e = target ? store_post_get(c->store, target, &p) : HERR_NOT_FOUND;
        if (e && e != HERR_NOT_FOUND)
            return cli_store_error(c, e, NULL);
        struct json *j = &c->out;
        json_object_open(j, NULL);
        json_hex(j, "event", event, HEARTH_ID_LEN);
        json_str(j, "kind", "mod");
        json_str(j, "action", a->name);
        json_str(j, "reason", reason);
        if (target)
            json_hex(j, "target", target, HEARTH_ID_LEN);
        else
            json_null(j, "target");
        if (subject)
            json_hex(j, "subject", subject, HEARTH_PK_LEN);
        else
            json_null(j, "subject");
        if (e == HERR_OK) {
            cli_json_post(c, "post", &p);
            store_posts_free(&p, 1);
        } else {
            json_null(j, "post");
        }
        json_object_close(j);
        return cli_json_flush(c);
    }
    if (subject) {
        cli_print_person(c, stdout, subject);
    } else {
        printf("%s %s", a->on == ON_THREAD ? "thread" : "post", cli_short_id(sid, target));
    }
    printf(" %s (event %s)\n", a->done, cli_short_id(sid, event));
    return CLI_OK;
}

/* may_moderate - refuse at once a key that holds no moderating role, before the
 * target is looked up (a moderator sees posts that others cannot). The store judges
 * again when the event is published. */
static int may_moderate(struct cli *c)
{
    char *roles = NULL;
    herr e = store_roles(c->store, c->key.pk, &roles);
    if (e)
        return cli_store_error(c, e, NULL);
    bool ok = false;
    for (const char *p = roles; p && *p;) {
        size_t n = strcspn(p, ",");
        if ((n == 7 && !memcmp(p, "founder", 7)) || (n == 5 && !memcmp(p, "admin", 5)) ||
            (n == 9 && !memcmp(p, "moderator", 9)))
            ok = true;
        p += n + (p[n] == ',');
    }
    free(roles);
    return ok ? CLI_OK : cli_error(c, HERR_DENIED, "you are not a moderator of this forum");
}

static int act(struct cli *c, const struct action *a)
{
    const char *reason = cli_opt(c, "reason");
    uint8_t target[HEARTH_ID_LEN], subject[HEARTH_PK_LEN], id[HEARTH_ID_LEN];
    struct store_post p;
    int rc;
    if (c->nargs != 2)
        return cli_error(c, HERR_USAGE, "usage: hearth mod %s %s --reason TEXT", a->name,
                         a->on == ON_AUTHOR ? "AUTHOR_KEY" : "ID");
    if (!reason)
        return cli_error(c, HERR_USAGE, "say why, for the other moderators: give --reason TEXT");
    if ((rc = cli_check_text(c, "reason", reason, strlen(reason), HEARTH_MAX_SHORT, true)))
        return rc;
    if ((rc = cli_open(c, true, true)) || (rc = may_moderate(c)))
        return rc;
    struct event_draft d = {.kind = EK_MOD};
    d.b.action = cli_hstr(a->name);
    d.b.reason = cli_hstr(reason);
    if (a->on == ON_AUTHOR) {
        if ((rc = cli_resolve_author(c, c->args[1], subject)))
            return rc;
        d.b.subject = subject;
    } else {
        if ((rc = cli_get_post(c, c->args[1], &p)))
            return rc;
        /* A thread is named by its post; any reply in it names it too. */
        memcpy(target, a->on == ON_THREAD ? p.root : p.id, HEARTH_ID_LEN);
        store_posts_free(&p, 1);
        d.ref = target;
    }
    if ((rc = cli_publish(c, &d, id)))
        return rc;
    return report(c, a, reason, id, d.ref ? target : NULL, d.b.subject ? subject : NULL);
}

/* ---- the queue ---- */

/* The queue as the store gives it: each post with its flags' reasons. */
struct queue {
    struct store_post *p;
    size_t n;
};

static void queue_json(struct cli *c, const struct queue *q)
{
    struct json *j = &c->out;
    json_array_open(j, NULL);
    for (size_t i = 0; i < q->n; i++) {
        json_object_open(j, NULL);
        json_str(j, "why", q->p[i].status == POST_HELD ? "held" : "flagged");
        json_u64(j, "flags", q->p[i].flags);
        json_array_open(j, "flag_reasons");
        for (size_t k = 0; k < q->p[i].n_flag_reasons; k++)
            json_str(j, NULL, q->p[i].flag_reasons[k]);
        json_array_close(j);
        cli_json_post(c, "post", &q->p[i]);
        json_object_close(j);
    }
    json_array_close(j);
}

static void queue_item(struct cli *c, const struct queue *q, size_t i)
{
    const struct store_post *p = &q->p[i];
    const char *board = cli_board_name(c, p->board), *muted = cli_muted(c, p->cw);
    char id[13], when[64];
    printf("\n%s  ", cli_short_id(id, p->id));
    if (p->status == POST_HELD)
        fputs("held: waiting for approval", stdout);
    else
        printf("flagged by %u member%s%s", p->flags, p->flags == 1 ? "" : "s",
               p->status == POST_HIDDEN ? " (hidden until a moderator looks)" : "");
    printf(" · %s in ", p->kind == EK_POST ? "thread" : "reply");
    cli_print_text(stdout, board ? board : "?", NULL);
    fputs("\n              ", stdout);
    cli_print_author(stdout, p);
    printf(" · %s\n              ", cli_format_time(when, sizeof when, p->created));
    cli_print_cw(stdout, p->cw);
    if (cli_placeholder(p)) {
        fputs(cli_placeholder(p), stdout);
    } else if (muted) {
        cli_print_muted(stdout, muted);
    } else if (!p->title && p->cw) {
        cli_print_folded(stdout, p->id);
    } else {
        cli_print_excerpt(stdout, p->title ? p->title : p->text, 100);
    }
    fputs("\n", stdout);
    for (size_t k = 0; k < p->n_flag_reasons; k++) {
        fputs("              flag: ", stdout);
        cli_print_excerpt(stdout, p->flag_reasons[k], 200);
        fputs("\n", stdout);
    }
}

static int queue(struct cli *c)
{
    struct queue q = {0};
    int rc;
    if (c->nargs != 1)
        return cli_error(c, HERR_USAGE, "usage: hearth mod queue");
    if ((rc = cli_open(c, false, true)))
        return rc;
    herr e = store_mod_queue(c->store, &q.p, &q.n);
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->json) {
        queue_json(c, &q);
        rc = cli_json_flush(c);
    } else {
        printf("%zu waiting for a moderator\n", q.n);
        for (size_t i = 0; i < q.n; i++)
            queue_item(c, &q, i);
        if (q.n)
            printf("\nhearth read ID shows one in its thread; then hearth mod approve, hide,\n"
                   "unhide or remove ID --reason TEXT\n");
    }
    store_posts_free(q.p, q.n);
    return rc;
}

/* ---- the log ---- */

/* A moderation event, as signed. */
static void log_print(struct cli *c, const struct store_mod_entry *x)
{
    char when[64], sid[13];
    printf("%s  ", cli_format_time(when, sizeof when, x->created));
    cli_print_person(c, stdout, x->author);
    printf(" %s ", x->action);
    if (x->has_subject)
        cli_print_person(c, stdout, x->subject);
    else
        printf("%s", cli_short_id(sid, x->target));
    printf(" (event %s)\n    reason: ", cli_short_id(sid, x->id));
    cli_print_text(stdout, x->reason, "            ");
    fputs("\n", stdout);
}

static void log_json(struct cli *c, const struct store_mod_entry *x)
{
    struct json *j = &c->out;
    json_object_open(j, NULL);
    json_hex(j, "event", x->id, HEARTH_ID_LEN);
    json_hex(j, "author", x->author, HEARTH_PK_LEN);
    json_u64(j, "created", x->created);
    json_str(j, "action", x->action);
    if (x->has_target)
        json_hex(j, "target", x->target, HEARTH_ID_LEN);
    else
        json_null(j, "target");
    if (x->has_subject)
        json_hex(j, "subject", x->subject, HEARTH_PK_LEN);
    else
        json_null(j, "subject");
    json_str(j, "reason", x->reason);
    json_object_close(j);
}

/* modlog - every moderation event (or those on one post), oldest first: the store
 * answers newest first. */
static int modlog(struct cli *c)
{
    uint8_t target[HEARTH_ID_LEN];
    struct store_mod_entry *v = NULL;
    size_t n = 0;
    int rc;
    if ((rc = cli_open(c, false, true)) || (rc = may_moderate(c)) ||
        (c->nargs == 2 && (rc = cli_resolve(c, c->args[1], target))))
        return rc;
    herr e = store_mod_log(c->store, c->nargs == 2 ? target : NULL, SIZE_MAX, &v, &n);
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->json) {
        json_array_open(&c->out, NULL);
        for (size_t i = n; i-- > 0;)
            log_json(c, &v[i]);
        json_array_close(&c->out);
        rc = cli_json_flush(c);
    } else {
        printf("%zu moderation action%s\n", n, n == 1 ? "" : "s");
        for (size_t i = n; i-- > 0;)
            log_print(c, &v[i]);
    }
    store_mod_log_free(v, n);
    return rc;
}

static int run(struct cli *c)
{
    bool listing = strcmp(c->args[0], "queue") == 0 || strcmp(c->args[0], "log") == 0;
    if (listing && cli_opt(c, "reason"))
        return cli_error(c, HERR_USAGE, "--reason goes with an action, not with '%s'", c->args[0]);
    if (strcmp(c->args[0], "queue") == 0)
        return queue(c);
    if (strcmp(c->args[0], "log") == 0)
        return modlog(c);
    const struct action *a = action_find(c->args[0]);
    if (!a)
        return cli_error(c, HERR_USAGE,
                         "'%s' is not a moderation action (choose hide, unhide, remove, lock, "
                         "unlock, pin, unpin, approve, ban, unban, queue or log)",
                         c->args[0]);
    return act(c, a);
}

static const struct cli_option options[] = {
    {"reason", 'r', "TEXT", "why: the other moderators see it"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_mod = {
    .name = "mod",
    .run = run,
    .group = "care",
    .summary = "moderate: hide, remove, lock, pin, approve, ban... and the review queue",
    .synopsis = "ACTION ID --reason TEXT | (ban|unban) AUTHOR_KEY --reason TEXT | queue | log [ID]",
    .details = "Actions on a post or reply: hide, unhide, remove (its words are deleted on\n"
               "every node), approve (a held post). On a thread (its id or any reply's): lock,\n"
               "unlock, pin, unpin. On an author (a key or at least 4 of its first digits):\n"
               "ban, unban. Only a moderator of the forum can moderate; every action carries\n"
               "a reason that the moderators see. 'hearth mod queue' lists the posts waiting\n"
               "for approval and those flagged for review; 'hearth mod log [ID]' the actions\n"
               "taken (on ID), who took them, and why.",
    .options = options,
    .min_args = 1,
    .max_args = 2,
};

/* rules.c - what a person may publish, judged against the view.
 *
 * A peer's event that breaks one of these rules is still stored (the set decides
 * and the view gives it no effect); a person's own new event is refused before it
 * is signed into existence, with a message that says why.
 */
#include <string.h>

#include "store/store_int.h"

/* A post or reply of the view, as the rules need it. */
struct ptarget {
    bool held, is_post_or_reply;
    uint32_t kind;
    int state, status;
    uint8_t author[HEARTH_PK_LEN], root[HEARTH_ID_LEN];
};

static herr ptarget_find(struct store *s, const uint8_t id[HEARTH_ID_LEN], struct ptarget *t)
{
    herr e = HERR_OK;
    memset(t, 0, sizeof *t);
    sqlite3_stmt *q = sq(s, Q_RULE_TARGET);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, id);
    int n = sq_step(s, q, &e, "cannot read an event");
    if (n <= 0)
        return n < 0 ? e : HERR_OK;
    t->held = true;
    t->kind = (uint32_t)sqlite3_column_int(q, 0);
    memcpy(t->author, sqlite3_column_blob(q, 1), HEARTH_PK_LEN);
    t->is_post_or_reply = sqlite3_column_type(q, 2) != SQLITE_NULL;
    if (t->is_post_or_reply) {
        t->state = sqlite3_column_int(q, 2);
        t->status = sqlite3_column_int(q, 3);
        memcpy(t->root, sqlite3_column_blob(q, 4), HEARTH_ID_LEN);
    }
    sqlite3_reset(q);
    return HERR_OK;
}

static bool is_founder(const struct store *s, const uint8_t *author)
{
    return s->has_founder && memcmp(author, s->founder, HEARTH_PK_LEN) == 0;
}

static herr check_board(struct store *s, const struct event *ev)
{
    if (!is_founder(s, ev->author))
        return store_fail(s, HERR_DENIED, "only the forum's founder can create boards");
    return HERR_OK;
}

static herr check_post(struct store *s, const struct event *ev)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_BOARD_BY_ID);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, ev->ref);
    int n = sq_step(s, q, &e, "cannot read a board");
    if (n < 0)
        return e;
    bool ok = n > 0 && sqlite3_column_int(q, 1) == PS_OK;
    if (n > 0)
        sqlite3_reset(q);
    return ok ? HERR_OK : store_fail(s, HERR_NOT_FOUND, "no such board");
}

/* live - a post or reply people can answer, react to or flag. */
static herr live(struct store *s, const uint8_t *id, struct ptarget *t, const char *what)
{
    herr e = ptarget_find(s, id, t);
    if (e)
        return e;
    if (!t->held || !t->is_post_or_reply || t->state != PS_OK)
        return store_fail(s, HERR_NOT_FOUND, "no such %s", what);
    return HERR_OK;
}

static herr check_reply(struct store *s, const struct event *ev)
{
    struct ptarget root, parent;
    herr e = live(s, ev->root, &root, "thread");
    if (!e && root.kind != EK_POST)
        e = store_fail(s, HERR_NOT_FOUND, "no such thread");
    if (!e && memcmp(ev->ref, ev->root, HEARTH_ID_LEN) != 0) {
        e = live(s, ev->ref, &parent, "post to reply to");
        if (!e && (parent.kind != EK_REPLY || memcmp(parent.root, ev->root, HEARTH_ID_LEN)))
            e = store_fail(s, HERR_NOT_FOUND, "the parent is not in this thread");
    }
    return e;
}

static herr check_own(struct store *s, const struct event *ev, const char *verb)
{
    struct ptarget t;
    herr e = ptarget_find(s, ev->ref, &t);
    if (e)
        return e;
    if (!t.held)
        return store_fail(s, HERR_NOT_FOUND, "no such event to %s", verb);
    if (memcmp(t.author, ev->author, HEARTH_PK_LEN) != 0)
        return store_fail(s, HERR_DENIED, "you can only %s your own events", verb);
    if (ev->kind == EK_EDIT && (!t.is_post_or_reply || t.state != PS_OK))
        return store_fail(s, HERR_NOT_FOUND, "no such post to edit");
    if (ev->kind == EK_EDIT && t.status == POST_RETRACTED)
        return store_fail(s, HERR_DENIED, "cannot edit a retracted post");
    if (ev->kind == EK_EDIT && ev->b.title.p && t.kind != EK_POST)
        return store_fail(s, HERR_USAGE, "only a thread's post has a title");
    return HERR_OK;
}

herr rules_check_publish(struct store *s, const struct event *ev)
{
    struct ptarget t;
    switch (ev->kind) {
    case EK_BOARD: return check_board(s, ev);
    case EK_POST: return check_post(s, ev);
    case EK_REPLY: return check_reply(s, ev);
    case EK_EDIT: return check_own(s, ev, "edit");
    case EK_RETRACT: return check_own(s, ev, "retract");
    case EK_REACT: return live(s, ev->ref, &t, "post to react to");
    case EK_FLAG: return live(s, ev->ref, &t, "post to flag");
    default: return HERR_OK;
    }
}

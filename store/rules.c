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
    bool held, is_post_or_reply, locked;
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
        memcpy(t->root, t->kind == EK_POST ? id : sqlite3_column_blob(q, 4), HEARTH_ID_LEN);
        t->locked = sqlite3_column_int(q, 5) != 0;
    }
    sqlite3_reset(q);
    return HERR_OK;
}

/* need_role - ev's author must hold a role <= upto, judged at ev's seq as a peer
 * will judge it. */
static herr need_role(struct store *s, const struct event *ev, int upto, const char *refusal)
{
    bool ok;
    herr e = care_valid(s, ev->author, ev->seq, upto, &ok);
    if (!e && !ok)
        e = store_fail(s, HERR_DENIED, "%s", refusal);
    return e;
}

/* board_state - whether the board `id` is held (*held) and its validity (*state). */
static herr board_state(struct store *s, const uint8_t *id, bool *held, int *state)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_BOARD_BY_ID);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, id);
    int n = sq_step(s, q, &e, "cannot read a board");
    *held = n > 0;
    *state = n > 0 ? sqlite3_column_int(q, 1) : PS_INVALID;
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : HERR_OK;
}

static herr check_board(struct store *s, const struct event *ev)
{
    herr e = need_role(s, ev, ROLE_ADMIN,
                       ev->has_ref ? "only the founder or an admin can rename boards"
                                   : "only the founder or an admin can create boards");
    bool held;
    int state;
    if (e || !ev->has_ref || (e = board_state(s, ev->ref, &held, &state)))
        return e;
    return held ? HERR_OK : store_fail(s, HERR_NOT_FOUND, "no such board to rename");
}

static herr check_not_banned(struct store *s, const struct event *ev)
{
    bool banned;
    herr e = care_banned(s, ev->author, &banned);
    if (!e && banned)
        e = store_fail(s, HERR_DENIED, "you are banned from this forum");
    return e;
}

static herr check_post(struct store *s, const struct event *ev)
{
    bool held;
    int state;
    herr e = check_not_banned(s, ev);
    if (!e)
        e = board_state(s, ev->ref, &held, &state);
    if (!e && (!held || state != PS_OK))
        e = store_fail(s, HERR_NOT_FOUND, "no such board");
    return e;
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
    struct ptarget root = {0}, parent = {0};
    herr e = check_not_banned(s, ev);
    if (!e)
        e = live(s, ev->root, &root, "thread");
    if (!e && root.kind != EK_POST)
        e = store_fail(s, HERR_NOT_FOUND, "no such thread");
    if (!e && root.locked)
        e = store_fail(s, HERR_DENIED, "this thread is locked");
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

/* check_role - grants and revocations: an admin grant or its revocation is the
 * founder's alone; other roles are the founder's or an admin's to give and take. */
static herr check_role(struct store *s, const struct event *ev)
{
    int role = care_role_of(ev->b.role);
    if (ev->b.grant)
        return need_role(s, ev, role == ROLE_ADMIN ? 0 : ROLE_ADMIN,
                         role == ROLE_ADMIN ? "only the founder can make admins"
                                            : "only the founder or an admin can grant roles");
    struct event g;
    herr e = stored_event_get(s, ev->ref, &g);
    if (e == HERR_NOT_FOUND)
        return store_fail(s, HERR_NOT_FOUND, "no such role grant to revoke");
    if (e)
        return e;
    if (g.kind != EK_ROLE || !g.b.grant || care_role_of(g.b.role) != role ||
        memcmp(g.b.subject, ev->b.subject, HEARTH_PK_LEN))
        return store_fail(s, HERR_USAGE,
                          "a revocation names the grant it revokes, its subject "
                          "and its role");
    return need_role(s, ev, role == ROLE_ADMIN ? 0 : ROLE_ADMIN,
                     role == ROLE_ADMIN ? "only the founder can revoke an admin"
                                        : "only the founder or an admin can revoke roles");
}

/* standing - q (binding ?1 the target's id, ?2 a key, ?3 a text when given) finds a
 * row. */
static herr standing(struct store *s, enum q which, const uint8_t *target, const uint8_t *key,
                     struct hstr text, bool *yes)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, which);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, target);
    sqlite3_bind_blob(q, 2, key, HEARTH_PK_LEN, SQLITE_STATIC);
    if (text.p)
        sqlite3_bind_text(q, 3, text.p, (int)text.n, SQLITE_STATIC);
    int n = sq_step(s, q, &e, "cannot read reactions and flags");
    *yes = n > 0;
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : HERR_OK;
}

/* check_flag - a flag asks the moderators to look at someone else's post; the view
 * counts one standing flag per member and none from the author. */
static herr check_flag(struct store *s, const struct event *ev)
{
    struct ptarget t;
    bool again;
    herr e = live(s, ev->ref, &t, "post to flag");
    if (!e && !memcmp(t.author, ev->author, HEARTH_PK_LEN))
        return store_fail(s, HERR_NOOP,
                          "you cannot flag your own post (retract or edit it instead)");
    if (!e)
        e = standing(s, Q_RULE_MY_FLAG, ev->ref, ev->author, (struct hstr){0}, &again);
    if (!e && again)
        e = store_fail(s, HERR_NOOP, "you have already flagged this post for the moderators");
    return e;
}

/* check_react - the view counts one standing reaction of each kind per member. */
static herr check_react(struct store *s, const struct event *ev)
{
    struct ptarget t;
    bool again;
    herr e = live(s, ev->ref, &t, "post to react to");
    if (!e)
        e = standing(s, Q_RULE_MY_REACT, ev->ref, ev->author, ev->b.reaction, &again);
    if (!e && again)
        e = store_fail(s, HERR_NOOP, "you have already sent %.*s to this post",
                       (int)ev->b.reaction.n, ev->b.reaction.p);
    return e;
}

/* check_approve - an approval shows a held post, or closes the review of a flagged
 * one; on a post that is neither it does nothing. */
static herr check_approve(struct store *s, const struct event *ev, const struct ptarget *t)
{
    bool flagged;
    if (t->status == POST_HELD)
        return HERR_OK;
    herr e = standing(s, Q_RULE_FLAGGERS, ev->ref, t->author, (struct hstr){0}, &flagged);
    if (!e && !flagged)
        e = store_fail(s, HERR_NOOP,
                       "the post is not waiting for approval: it is neither held nor flagged");
    return e;
}

static herr check_mod(struct store *s, const struct event *ev)
{
    struct ptarget t;
    int action = care_action_of(ev->b.action);
    herr e = need_role(s, ev, ROLE_MODERATOR, "you are not a moderator of this forum");
    if (e || ev->b.subject)
        return e;
    e = ptarget_find(s, ev->ref, &t);
    if (!e && (!t.held || !t.is_post_or_reply))
        e = store_fail(s, HERR_NOT_FOUND, "no such post to moderate");
    bool thread_only =
        action == MA_LOCK || action == MA_UNLOCK || action == MA_PIN || action == MA_UNPIN;
    if (!e && thread_only && t.kind != EK_POST)
        e = store_fail(s, HERR_USAGE, "only a thread can be locked or pinned");
    if (!e && action == MA_APPROVE)
        e = check_approve(s, ev, &t);
    return e;
}

/* check_message - a member writes to the moderators; only a moderator writes to a
 * member; what it is about must be held here. */
static herr check_message(struct store *s, const struct event *ev)
{
    if (memcmp(ev->author, ev->b.subject, HEARTH_PK_LEN) != 0) {
        herr e = need_role(s, ev, ROLE_MODERATOR,
                           "only a moderator writes to a member (members write to the moderators)");
        if (e)
            return e;
    }
    struct ptarget t;
    herr e = ev->has_ref ? ptarget_find(s, ev->ref, &t) : HERR_OK;
    if (!e && ev->has_ref && (!t.held || !t.is_post_or_reply))
        e = store_fail(s, HERR_NOT_FOUND, "no such post for the message to be about");
    return e;
}

/* name_char_bad - a code point that can make a name read as something else: C0 and
 * C1 controls, DEL, and the bidirectional marks, embeddings, overrides and isolates. */
static bool name_char_bad(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
           cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* utf8_next - the code point at s (well-formed UTF-8: event_parse checked it) and its
 * length. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (len > n)
        len = n;
    *cp = len == 1 ? s[0] : (uint32_t)(s[0] & (0x7f >> len));
    for (size_t i = 1; i < len; i++)
        *cp = (*cp << 6) | (s[i] & 0x3fu);
    return len;
}

size_t rules_name_clean(struct hstr in, char *out, size_t *len)
{
    size_t bad = 0, o = 0;
    const unsigned char *p = (const unsigned char *)in.p;
    for (size_t i = 0; i < in.n;) {
        uint32_t cp;
        size_t k = utf8_next(p + i, in.n - i, &cp);
        if (name_char_bad(cp)) {
            memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
            o += 3;
            bad++;
        } else {
            memcpy(out + o, p + i, k);
            o += k;
        }
        i += k;
    }
    out[o] = '\0';
    *len = o;
    return bad;
}

/* check_name - names (a pseudonym, a board's, the forum's) are shown beside posts and
 * roles: no character in them may change how the text around them reads. */
static herr check_name(struct store *s, const struct event *ev)
{
    char clean[3 * HEARTH_MAX_NAME + 1];
    size_t n;
    if (!ev->b.name.p || ev->b.name.n > HEARTH_MAX_NAME || !rules_name_clean(ev->b.name, clean, &n))
        return HERR_OK;
    return store_fail(s, HERR_INVALID,
                      "a name cannot hold control or bidirectional-override characters");
}

herr rules_check_publish(struct store *s, const struct event *ev)
{
    herr e = check_name(s, ev);
    if (e)
        return e;
    switch (ev->kind) {
    case EK_BOARD:
        return check_board(s, ev);
    case EK_POST:
        return check_post(s, ev);
    case EK_REPLY:
        return check_reply(s, ev);
    case EK_EDIT:
        return check_own(s, ev, "edit");
    case EK_RETRACT:
        return check_own(s, ev, "retract");
    case EK_REACT:
        return check_react(s, ev);
    case EK_FLAG:
        return check_flag(s, ev);
    case EK_ROLE:
        return check_role(s, ev);
    case EK_MOD:
        return check_mod(s, ev);
    case EK_SETTINGS:
    case EK_RESOURCES:
        return need_role(s, ev, ROLE_ADMIN, "only the founder or an admin can change settings");
    case EK_MESSAGE:
        return check_message(s, ev);
    default:
        return HERR_OK;
    }
}

/* check_unhide - an unhide that leaves its target hidden did nothing: say what the
 * view says instead (the event is not kept: the transaction rolls back). */
static herr check_unhide(struct store *s, const struct event *ev)
{
    struct ptarget t;
    herr e = ptarget_find(s, ev->ref, &t);
    if (e || !t.held || !t.is_post_or_reply || t.status != POST_HIDDEN)
        return e;
    bool banned;
    e = care_banned(s, t.author, &banned);
    if (e)
        return e;
    if (banned)
        return store_fail(s, HERR_NOOP,
                          "the post stays hidden: its author is banned (unban them to show it)");
    return store_fail(s, HERR_NOOP,
                      "the post stays hidden: a hide dated later than this clock is in force");
}

herr rules_check_effect(struct store *s, const struct event *ev)
{
    if (ev->kind == EK_MOD && care_action_of(ev->b.action) == MA_UNHIDE)
        return check_unhide(s, ev);
    return HERR_OK;
}

/* rules_prepare - complete a draft before it is signed: a message is sealed to its
 * readers; a revocation without `until`
 * keeps everything its subject did so far, as this replica knows it. */
herr rules_prepare(struct store *s, const uint8_t author[HEARTH_PK_LEN], struct event_draft *d)
{
    herr e = HERR_OK;
    if (d->kind == EK_MESSAGE)
        return messages_seal(s, author, d);
    if (d->kind != EK_ROLE || d->b.grant || d->b.has_until || !d->b.subject)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, Q_EV_MAX_SEQ);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, d->b.subject, HEARTH_PK_LEN, SQLITE_STATIC);
    int n = sq_step(s, q, &e, "cannot read the subject's events");
    d->b.has_until = true;
    d->b.until = n > 0 ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : HERR_OK;
}

/* messages.c - the private channel between a member and the moderators: sealing a
 * message to its readers when it is published, and reading conversations back.
 *
 * Messages are few next to posts, so they get no table of their own: a conversation
 * is read from the events of kind 14 (the events_kind index), each parsed for its
 * subject, and judged as the view judges (a message to a member counts when its
 * author was a moderator at its seq). A retracted message is purged like a post and
 * leaves nothing to show, not even whose conversation it was in.
 */
#include <stdlib.h>
#include <string.h>

#include "base/mp.h"
#include "base/utf8.h"
#include "store/store.h"
#include "store/store_int.h"

/* add_reader - r into readers[0..*n) unless there already; false when full. */
static bool add_reader(uint8_t (*readers)[HEARTH_PK_LEN], size_t *n, const uint8_t *r)
{
    for (size_t i = 0; i < *n; i++)
        if (memcmp(readers[i], r, HEARTH_PK_LEN) == 0)
            return true;
    if (*n == HEARTH_MSG_MAX_READERS)
        return false;
    memcpy(readers[(*n)++], r, HEARTH_PK_LEN);
    return true;
}

static void message_ad(uint8_t ad[96], const uint8_t *forum, const uint8_t *author,
                       const uint8_t *subject)
{
    memcpy(ad, forum, HEARTH_ID_LEN);
    memcpy(ad + 32, author, HEARTH_PK_LEN);
    memcpy(ad + 64, subject, HEARTH_PK_LEN);
}

herr messages_seal(struct store *s, const uint8_t author[HEARTH_PK_LEN], struct event_draft *d)
{
    const char *text = d->message_text;
    size_t len = text ? strlen(text) : 0;
    if (!d->b.subject)
        return store_fail(s, HERR_USAGE, "a message names the member it is with");
    if (len == 0)
        return store_fail(s, HERR_USAGE, "the message is empty");
    if (len > HEARTH_MSG_MAX_TEXT)
        return store_fail(s, HERR_USAGE, "a message holds at most %d bytes", HEARTH_MSG_MAX_TEXT);
    if (!utf8_valid(text, len))
        return store_fail(s, HERR_USAGE, "the message is not valid UTF-8");
    uint8_t readers[HEARTH_MSG_MAX_READERS][HEARTH_PK_LEN];
    size_t n = 0;
    bool room = add_reader(readers, &n, d->b.subject) && add_reader(readers, &n, author) &&
                (!s->has_founder || add_reader(readers, &n, s->founder));
    herr e = HERR_OK;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT DISTINCT subject FROM roles WHERE role <= 2 AND valid = 1 "
                                "AND revoked = 0 ORDER BY subject",
                                -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, "cannot prepare a query");
    while (room && (rc = sqlite3_step(q)) == SQLITE_ROW)
        if (sqlite3_column_bytes(q, 0) == HEARTH_PK_LEN)
            room = add_reader(readers, &n, sqlite3_column_blob(q, 0));
    if (room && rc != SQLITE_DONE)
        e = store_sqlerr(s, rc, "cannot read the moderators");
    sqlite3_finalize(q);
    if (!e && !room)
        e = store_fail(s, HERR_INVALID,
                       "a message can be sealed to at most %d readers, and this forum has more "
                       "moderators",
                       HEARTH_MSG_MAX_READERS);
    if (e)
        return e;
    uint8_t ad[96];
    size_t used;
    message_ad(ad, s->forum, author, d->b.subject);
    e = msg_seal(s->sealed, &used, ad, (const uint8_t(*)[HEARTH_PK_LEN])readers, n, text, len);
    if (e)
        return store_fail(s, e, "a reader's key cannot receive a sealed message");
    d->b.sealed = s->sealed;
    d->b.sealed_len = (uint32_t)used;
    return HERR_OK;
}

/* ---- reading ---- */

herr store_moderates(struct store *s, const uint8_t author[HEARTH_PK_LEN], bool *yes)
{
    s->err[0] = '\0';
    *yes = false;
    herr e = store_read_begin(s);
    if (!e)
        e = care_current(s, author, ROLE_MODERATOR, yes);
    store_read_end(s);
    return e;
}

/* One counted message as the scan sees it (borrowing s->scratch until the next). */
struct seen_message {
    const struct event *ev;
    int64_t arrival;
    bool from_mod;
    const char *name; /* borrowed from the statement */
};

typedef herr (*message_fn)(struct store *s, const struct seen_message *m, void *ctx);

/* each_message - every counted message (by created, id), to fn. */
static herr each_message(struct store *s, message_fn fn, void *ctx)
{
    sqlite3_stmt *q = NULL;
    herr e = store_read_begin(s);
    if (e || !s->has_forum) {
        store_read_end(s);
        return e;
    }
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT e.header, e.sig, e.body, e.arrival, p.name FROM events e "
                                "LEFT JOIN profiles p ON p.author = e.author WHERE e.kind = 14 "
                                "AND e.body IS NOT NULL ORDER BY e.created, e.id",
                                -1, &q, NULL);
    if (rc != SQLITE_OK)
        e = store_sqlerr(s, rc, "cannot prepare a query");
    while (!e && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct event ev;
        if ((e = stored_event_parse(s, q, 0, &ev)))
            break;
        if (ev.kind != EK_MESSAGE || !ev.b.subject)
            continue;
        bool own = memcmp(ev.author, ev.b.subject, HEARTH_PK_LEN) == 0, mod = false;
        if (!own && (e = care_valid(s, ev.author, ev.seq, ROLE_MODERATOR, &mod)))
            break;
        if (!own && !mod)
            continue; /* a non-moderator's message to someone else: no effect */
        struct seen_message m = {&ev, sqlite3_column_int64(q, 3), !own,
                                 (const char *)sqlite3_column_text(q, 4)};
        e = fn(s, &m, ctx);
    }
    if (!e && rc != SQLITE_DONE && rc != SQLITE_ROW)
        e = store_sqlerr(s, rc, "cannot read messages");
    sqlite3_finalize(q);
    store_read_end(s);
    return e;
}

struct conversation {
    const struct hkey *reader;
    const uint8_t *member;
    struct store_message *v;
    size_t n, cap;
};

static herr take_message(struct store *s, const struct seen_message *m, void *ctx)
{
    struct conversation *c = ctx;
    const struct event *ev = m->ev;
    if (memcmp(ev->b.subject, c->member, HEARTH_PK_LEN) != 0)
        return HERR_OK;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct store_message *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return store_fail(s, HERR_NOMEM, "out of memory");
        c->v = v, c->cap = cap;
    }
    struct store_message *x = &c->v[c->n];
    memset(x, 0, sizeof *x);
    memcpy(x->id, ev->id, HEARTH_ID_LEN);
    memcpy(x->author, ev->author, HEARTH_PK_LEN);
    x->from_mod = m->from_mod;
    x->created = ev->created;
    x->arrival = (uint64_t)m->arrival;
    x->has_about = ev->has_ref;
    if (ev->has_ref)
        memcpy(x->about, ev->ref, HEARTH_ID_LEN);
    c->n++;
    if (m->name && !(x->author_name = strdup(m->name)))
        return store_fail(s, HERR_NOMEM, "out of memory");
    if (!c->reader || !msg_is_reader(ev->b.sealed, ev->b.sealed_len, c->reader->pk))
        return HERR_OK;
    uint8_t ad[96];
    message_ad(ad, s->forum, ev->author, ev->b.subject);
    herr e = msg_open(c->reader, ad, ev->b.sealed, ev->b.sealed_len, &x->text);
    if (e == HERR_NOMEM)
        return store_fail(s, e, "out of memory");
    /* A text that does not open, or opens to what is not UTF-8 (its author sealed
     * nonsense), is shown as unreadable. */
    if (x->text && !utf8_valid(x->text, strlen(x->text))) {
        free(x->text);
        x->text = NULL;
    }
    return HERR_OK;
}

herr store_conversation(struct store *s, const struct hkey *reader,
                        const uint8_t member[HEARTH_PK_LEN], struct store_message **out, size_t *n)
{
    struct conversation c = {reader, member, NULL, 0, 0};
    s->err[0] = '\0';
    *out = NULL;
    *n = 0;
    herr e = each_message(s, take_message, &c);
    if (e) {
        store_messages_free(c.v, c.n);
        return e;
    }
    *out = c.v;
    *n = c.n;
    return HERR_OK;
}

void store_messages_free(struct store_message *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].author_name);
        if (v[i].text) {
            secret_wipe(v[i].text, strlen(v[i].text));
            free(v[i].text);
        }
    }
    free(v);
}

struct conversations {
    struct store_conversation_info *v;
    size_t n, cap;
};

static herr count_message(struct store *s, const struct seen_message *m, void *ctx)
{
    struct conversations *c = ctx;
    const struct event *ev = m->ev;
    struct store_conversation_info *x = NULL;
    for (size_t i = 0; i < c->n && !x; i++)
        if (memcmp(c->v[i].member, ev->b.subject, HEARTH_PK_LEN) == 0)
            x = &c->v[i];
    if (!x) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 16;
            struct store_conversation_info *v = realloc(c->v, cap * sizeof *v);
            if (!v)
                return store_fail(s, HERR_NOMEM, "out of memory");
            c->v = v, c->cap = cap;
        }
        x = &c->v[c->n++];
        memset(x, 0, sizeof *x);
        memcpy(x->member, ev->b.subject, HEARTH_PK_LEN);
    }
    x->messages++;
    x->last_created = ev->created; /* the scan runs by (created, id) */
    if ((uint64_t)m->arrival > x->last_arrival)
        x->last_arrival = (uint64_t)m->arrival;
    if (!m->from_mod && (uint64_t)m->arrival > x->member_arrival)
        x->member_arrival = (uint64_t)m->arrival;
    return HERR_OK;
}

static int newest_first(const void *a, const void *b)
{
    const struct store_conversation_info *x = a, *y = b;
    if (x->last_created != y->last_created)
        return x->last_created > y->last_created ? -1 : 1;
    return memcmp(x->member, y->member, HEARTH_PK_LEN);
}

herr store_conversations(struct store *s, struct store_conversation_info **out, size_t *n)
{
    struct conversations c = {NULL, 0, 0};
    s->err[0] = '\0';
    *out = NULL;
    *n = 0;
    herr e = each_message(s, count_message, &c);
    if (e) {
        store_conversations_free(c.v, c.n);
        return e;
    }
    if (c.n > 1)
        qsort(c.v, c.n, sizeof *c.v, newest_first);
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT name FROM profiles WHERE author = ?1", -1, &q, NULL);
    if (rc != SQLITE_OK)
        e = store_sqlerr(s, rc, "cannot prepare a query");
    for (size_t i = 0; i < c.n && !e; i++) {
        sqlite3_bind_blob(q, 1, c.v[i].member, HEARTH_PK_LEN, SQLITE_STATIC);
        const unsigned char *name =
            sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_text(q, 0) : NULL;
        if (name && !(c.v[i].member_name = strdup((const char *)name)))
            e = store_fail(s, HERR_NOMEM, "out of memory");
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    if (e) {
        store_conversations_free(c.v, c.n);
        return e;
    }
    *out = c.v;
    *n = c.n;
    return HERR_OK;
}

void store_conversations_free(struct store_conversation_info *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].member_name);
    free(v);
}

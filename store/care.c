/* care.c - community care: roles, bans, forum settings and crisis resources,
 * evaluated from the set of events alone (docs/EVENTS.md, "Roles and moderation").
 *
 * Roles. The founder (the genesis author) is always admin and moderator. Admins are
 * the subjects of role=admin grants by the founder. Moderators, professionals and
 * peer workers are the subjects of grants by the founder or by an admin whose power
 * was valid at the grant's seq. A revocation is a role event with grant=false whose
 * ref is the grant it revokes, with the grant's subject and role; the founder may
 * revoke any grant, a valid admin any grant but an admin one. `until` is the last seq
 * of the subject whose actions under the grant stay valid; a revocation without it
 * keeps nothing (hearth always writes it: store_publish fills in the subject's last
 * seq it holds, so "everything they did so far stays"). Several revocations of one
 * grant: the smallest until counts.
 *
 * An action of A at seq q is valid for a role when A is the founder, or holds a grant
 * of that role (admins count as moderators) that is valid and either unrevoked or
 * revoked with q <= until. Timestamps never decide validity: they only order the
 * valid toggles (hide/unhide, ban/unban...) and the settings, by (created, id).
 *
 * Everything here is recomputed whole when its inputs change (role events are few);
 * the callers compare before and after and recompute what depends on it.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static const char *const role_names[] = {NULL, "admin", "moderator", "professional", "peer-worker"};
static const char *const action_names[] = {NULL,  "hide",  "unhide", "remove", "lock",   "unlock",
                                           "ban", "unban", "pin",    "unpin",  "approve"};

static int name_index(struct hstr h, const char *const *names, int n)
{
    for (int i = 1; i < n; i++)
        if (h.p && strlen(names[i]) == h.n && memcmp(names[i], h.p, h.n) == 0)
            return i;
    return 0;
}

int care_role_of(struct hstr h)
{
    return name_index(h, role_names, ROLE_PEER + 1);
}

int care_action_of(struct hstr h)
{
    return name_index(h, action_names, MA_APPROVE + 1);
}

const char *care_role_name(int role)
{
    return role >= ROLE_ADMIN && role <= ROLE_PEER ? role_names[role] : "unknown";
}

static bool is_founder(const struct store *s, const uint8_t *author)
{
    return s->has_founder && memcmp(author, s->founder, HEARTH_PK_LEN) == 0;
}

/* ---- role checks against the roles table ---- */

/* role_check - a grant of a role <= upto to author that passes `how`. */
static herr role_check(struct store *s, enum q which, const uint8_t *author, int upto, uint64_t seq,
                       bool *yes)
{
    herr e = HERR_OK;
    *yes = is_founder(s, author);
    if (*yes)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, which);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, upto);
    if (which == Q_ROLE_VALID)
        sqlite3_bind_int64(q, 3, (int64_t)seq);
    int n = sq_step(s, q, &e, "cannot read roles");
    *yes = n > 0;
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : HERR_OK;
}

herr care_valid(struct store *s, const uint8_t *author, uint64_t seq, int upto, bool *yes)
{
    return role_check(s, Q_ROLE_VALID, author, upto, seq, yes);
}

herr care_ever(struct store *s, const uint8_t *author, int upto, bool *yes)
{
    return role_check(s, Q_ROLE_EVER, author, upto, 0, yes);
}

herr care_current(struct store *s, const uint8_t *author, int upto, bool *yes)
{
    return role_check(s, Q_ROLE_CURRENT, author, upto, 0, yes);
}

/* ---- reading care events ---- */

/* care_parse - the stored event at ev, parsed (borrowing s->scratch). */
static herr care_parse(struct store *s, int64_t ev, struct event *x, int64_t *ref_ev)
{
    herr e = stored_event_at(s, ev, x, ref_ev);
    if (e == HERR_NOT_FOUND)
        return store_fail(s, HERR_CORRUPT, "a care event is missing");
    /* care reads an event as its person's (store/devices.c) */
    return e ? e : dev_person(s, x->author, x->seq, x->author);
}

static herr care_list(struct store *s, uint32_t kind, struct i64vec *out)
{
    sqlite3_stmt *q = sq(s, Q_CARE_LIST);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int(q, 1, (int)kind);
    return sq_collect(s, q, out, "cannot list care events");
}

/* ---- roles ---- */

struct rolev {
    int64_t ev, ref_ev;
    uint8_t author[HEARTH_PK_LEN], subject[HEARTH_PK_LEN];
    uint64_t seq, until;
    bool grant, has_until;
    int role;
};

struct grant {
    int64_t ev;
    uint8_t subject[HEARTH_PK_LEN];
    int role;
    bool valid, revoked;
    uint64_t until;
};

struct roleset {
    struct rolev *ev;
    size_t nev;
    struct grant *g;
    size_t ng;
};

static void roleset_release(struct roleset *r)
{
    free(r->ev);
    free(r->g);
    memset(r, 0, sizeof *r);
}

static herr roles_load_events(struct store *s, struct roleset *r)
{
    struct i64vec evs = {0};
    herr e = care_list(s, EK_ROLE, &evs);
    if (!e && evs.n) {
        r->ev = calloc(evs.n, sizeof *r->ev);
        r->g = calloc(evs.n, sizeof *r->g);
        if (!r->ev || !r->g)
            e = store_fail(s, HERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < evs.n && !e; i++) {
        struct event x;
        struct rolev *v = &r->ev[r->nev];
        e = care_parse(s, evs.v[i], &x, &v->ref_ev);
        if (e || !x.b.subject || !(v->role = care_role_of(x.b.role)))
            continue;
        v->ev = evs.v[i];
        memcpy(v->author, x.author, HEARTH_PK_LEN);
        e = dev_subject(s, x.b.subject, v->subject);
        if (e)
            break;
        v->seq = x.seq;
        v->grant = x.b.grant;
        v->has_until = x.b.has_until;
        v->until = x.b.until;
        r->nev++;
    }
    i64vec_release(&evs);
    return e;
}

/* admin_power - a's admin power at seq q: founder, or an admin grant that is
 * unrevoked or revoked with q <= until. `ever` ignores revocations. */
static bool admin_power(const struct store *s, const struct roleset *r, const uint8_t *a,
                        uint64_t q, bool ever)
{
    if (is_founder(s, a))
        return true;
    for (size_t i = 0; i < r->ng; i++) {
        const struct grant *g = &r->g[i];
        if (g->role == ROLE_ADMIN && !memcmp(g->subject, a, HEARTH_PK_LEN) &&
            (ever || !g->revoked || q <= g->until))
            return true;
    }
    return false;
}

static void grant_add(struct roleset *r, const struct rolev *v, bool valid)
{
    struct grant *g = &r->g[r->ng++];
    g->ev = v->ev;
    memcpy(g->subject, v->subject, HEARTH_PK_LEN);
    g->role = v->role;
    g->valid = valid;
    g->revoked = false;
    g->until = 0;
}

/* revoke - apply revocation v to the grant it names, when it matches. `admin_grants`
 * picks which grants this pass may revoke. */
static void revoke(struct roleset *r, const struct rolev *v, bool admin_grants)
{
    for (size_t i = 0; i < r->ng; i++) {
        struct grant *g = &r->g[i];
        if (g->ev != v->ref_ev || (g->role == ROLE_ADMIN) != admin_grants || g->role != v->role ||
            memcmp(g->subject, v->subject, HEARTH_PK_LEN))
            continue;
        uint64_t until = v->has_until ? v->until : 0;
        if (!g->revoked || until < g->until)
            g->until = until;
        g->revoked = true;
    }
}

/* roles_compute - the grants that count, from the role events in r->ev. */
static void roles_compute(const struct store *s, struct roleset *r)
{
    if (!s->has_founder)
        return;
    for (size_t i = 0; i < r->nev; i++)
        if (r->ev[i].grant && r->ev[i].role == ROLE_ADMIN && is_founder(s, r->ev[i].author))
            grant_add(r, &r->ev[i], true);
    for (size_t i = 0; i < r->nev; i++)
        if (!r->ev[i].grant && is_founder(s, r->ev[i].author))
            revoke(r, &r->ev[i], true);
    size_t admins = r->ng;
    for (size_t i = 0; i < r->nev; i++) {
        const struct rolev *v = &r->ev[i];
        if (v->grant && v->role != ROLE_ADMIN && admin_power(s, r, v->author, 0, true))
            grant_add(r, v, admin_power(s, r, v->author, v->seq, false));
    }
    (void)admins;
    for (size_t i = 0; i < r->nev; i++)
        if (!r->ev[i].grant && admin_power(s, r, r->ev[i].author, r->ev[i].seq, false))
            revoke(r, &r->ev[i], false);
}

static int grant_cmp(const void *a, const void *b)
{
    const struct grant *x = a, *y = b;
    return x->ev < y->ev ? -1 : x->ev > y->ev;
}

/* roles_same - the roles table already holds exactly r's grants. */
static herr roles_same(struct store *s, const struct roleset *r, bool *same)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_ROLE_ALL);
    if (!q)
        return HERR_IO;
    size_t i = 0;
    int n;
    *same = true;
    while ((n = sq_step(s, q, &e, "cannot read roles")) > 0) {
        const struct grant *g = i < r->ng ? &r->g[i] : NULL;
        i++;
        if (!g || g->ev != sqlite3_column_int64(q, 0) || g->role != sqlite3_column_int(q, 2) ||
            g->valid != (sqlite3_column_int(q, 3) != 0) ||
            g->revoked != (sqlite3_column_int(q, 4) != 0) ||
            g->until != (uint64_t)sqlite3_column_int64(q, 5) ||
            memcmp(g->subject, sqlite3_column_blob(q, 1), HEARTH_PK_LEN))
            *same = false;
    }
    if (i != r->ng)
        *same = false;
    return n < 0 ? e : HERR_OK;
}

static herr roles_write(struct store *s, const struct roleset *r)
{
    sqlite3_stmt *q = sq(s, Q_ROLE_CLEAR);
    herr e = q ? sq_exec(s, q, "cannot update roles") : HERR_IO;
    for (size_t i = 0; i < r->ng && !e; i++) {
        const struct grant *g = &r->g[i];
        if (!(q = sq(s, Q_ROLE_PUT)))
            return HERR_IO;
        sqlite3_bind_int64(q, 1, g->ev);
        sqlite3_bind_blob(q, 2, g->subject, HEARTH_PK_LEN, SQLITE_STATIC);
        sqlite3_bind_int(q, 3, g->role);
        sqlite3_bind_int(q, 4, g->valid);
        sqlite3_bind_int(q, 5, g->revoked);
        sqlite3_bind_int64(q, 6, (int64_t)g->until);
        e = sq_exec(s, q, "cannot update roles");
    }
    return e;
}

herr care_roles_recompute(struct store *s, bool *changed)
{
    struct roleset r = {0};
    bool same = true;
    herr e = roles_load_events(s, &r);
    if (!e) {
        roles_compute(s, &r);
        if (r.ng > 1)
            qsort(r.g, r.ng, sizeof *r.g, grant_cmp);
        e = roles_same(s, &r, &same);
    }
    if (!e && !same)
        e = roles_write(s, &r);
    *changed = !same;
    roleset_release(&r);
    return e;
}

herr care_role_notes(struct store *s, const uint8_t *author, char *notes[5])
{
    int64_t grant[5] = {0};
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_ROLE_NOTES);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
    int n;
    while ((n = sq_step(s, q, &e, "cannot read roles")) > 0) {
        int role = sqlite3_column_int(q, 0);
        if (role >= 1 && role <= 4 && !grant[role])
            grant[role] = sqlite3_column_int64(q, 1);
    }
    if (n < 0)
        return e;
    for (int role = 1; role <= 4 && !e; role++) {
        struct event x;
        int64_t ref_ev;
        if (!grant[role] || (e = care_parse(s, grant[role], &x, &ref_ev)) != HERR_OK ||
            !x.b.about.p || !x.b.about.n)
            continue;
        if (!(notes[role] = strndup(x.b.about.p, x.b.about.n)))
            e = store_fail(s, HERR_NOMEM, "out of memory");
    }
    return e;
}

/* ---- settings and resources ---- */

/* The winners among valid settings and resources events, by (created, id). */
struct pick {
    bool has;
    uint64_t created, value;
    uint8_t id[HEARTH_ID_LEN];
    int64_t ev;
};

static bool later(const struct pick *p, const struct event *x)
{
    if (!p->has || x->created != p->created)
        return !p->has || x->created > p->created;
    return memcmp(x->id, p->id, HEARTH_ID_LEN) > 0;
}

static void take(struct pick *p, const struct event *x, int64_t ev, uint64_t value)
{
    p->has = true;
    p->created = x->created;
    p->value = value;
    p->ev = ev;
    memcpy(p->id, x->id, HEARTH_ID_LEN);
}

/* hold_push - one valid settings event that sets hold, onto the timeline. */
static herr hold_push(struct store *s, struct hold_steps *h, const struct event *x)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 4;
        struct hold_step *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return store_fail(s, HERR_NOMEM, "out of memory");
        h->v = v, h->cap = cap;
    }
    struct hold_step *t = &h->v[h->n++];
    t->created = x->created;
    t->value = x->b.hold;
    memcpy(t->id, x->id, HEARTH_ID_LEN);
    return HERR_OK;
}

static int hold_step_cmp(const void *a, const void *b)
{
    const struct hold_step *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return memcmp(x->id, y->id, HEARTH_ID_LEN);
}

/* config_event - fold one settings or resources event into the picks, and a valid
 * hold setting into the timeline h. */
static herr config_event(struct store *s, int64_t ev, struct pick *hold, struct pick *flags,
                         struct pick *res, struct hold_steps *h)
{
    struct event x;
    int64_t ref_ev;
    bool ok = false;
    herr e = care_parse(s, ev, &x, &ref_ev);
    if (!e)
        e = care_valid(s, x.author, x.seq, ROLE_ADMIN, &ok);
    if (e || !ok)
        return e;
    if (x.kind == EK_RESOURCES && later(res, &x))
        take(res, &x, ev, 0);
    if (x.kind == EK_SETTINGS && x.b.has_hold && later(hold, &x))
        take(hold, &x, ev, x.b.hold);
    if (x.kind == EK_SETTINGS && x.b.has_flags && later(flags, &x))
        take(flags, &x, ev, x.b.flags);
    return x.kind == EK_SETTINGS && x.b.has_hold ? hold_push(s, h, &x) : HERR_OK;
}

/* genesis_defaults - the hold and flags the genesis set (0 when none). */
static herr genesis_defaults(struct store *s, uint64_t *hold, uint64_t *flags)
{
    *hold = *flags = 0;
    if (!s->has_forum)
        return HERR_OK;
    struct event g;
    herr e = stored_event_get(s, s->forum, &g);
    if (e == HERR_NOT_FOUND)
        return HERR_OK;
    *hold = !e && g.b.has_hold ? g.b.hold : 0;
    *flags = !e && g.b.has_flags ? g.b.flags : 0;
    return e;
}

static herr config_write(struct store *s, uint64_t hold, uint64_t flags, int64_t res)
{
    sqlite3_stmt *q = sq(s, Q_CONFIG_SET);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, (int64_t)hold);
    sqlite3_bind_int64(q, 2, (int64_t)flags);
    if (res)
        sqlite3_bind_int64(q, 3, res);
    return sq_exec(s, q, "cannot update the settings");
}

/* config_read - the settings in force (hold and flags: the genesis's unless a valid
 * settings event set them), the resources event in force, and the hold timeline. */
static herr config_read(struct store *s, uint64_t *h, uint64_t *f, int64_t *res_ev,
                        struct hold_steps *steps)
{
    struct pick hold = {0}, flags = {0}, res = {0};
    struct i64vec evs = {0};
    herr e = genesis_defaults(s, &steps->genesis, f);
    if (!e)
        e = care_list(s, EK_SETTINGS, &evs);
    if (!e)
        e = care_list(s, EK_RESOURCES, &evs);
    for (size_t i = 0; i < evs.n && !e; i++)
        e = config_event(s, evs.v[i], &hold, &flags, &res, steps);
    i64vec_release(&evs);
    if (!e && steps->n > 1)
        qsort(steps->v, steps->n, sizeof *steps->v, hold_step_cmp);
    *h = hold.has ? hold.value : steps->genesis;
    *f = flags.has ? flags.value : *f;
    *res_ev = res.has ? res.ev : 0;
    return e;
}

static void holds_take(struct store *s, struct hold_steps *steps)
{
    free(s->holds.v);
    s->holds = *steps;
    s->holds_loaded = true;
    memset(steps, 0, sizeof *steps);
}

herr care_config_recompute(struct store *s, bool *changed)
{
    struct hold_steps steps = {0};
    uint64_t h, f;
    int64_t res;
    *changed = false;
    herr e = config_read(s, &h, &f, &res, &steps);
    if (!e)
        e = config_write(s, h, f, res);
    if (!e) {
        *changed = h != s->hold || f != s->flag_limit;
        s->hold = h;
        s->flag_limit = f;
        holds_take(s, &steps);
    }
    free(steps.v);
    return e;
}

herr care_hold_at(struct store *s, uint64_t t, uint64_t *hold)
{
    if (!s->holds_loaded) {
        struct hold_steps steps = {0};
        uint64_t h, f;
        int64_t res;
        herr e = config_read(s, &h, &f, &res, &steps);
        if (!e)
            holds_take(s, &steps);
        free(steps.v);
        if (e)
            return e;
    }
    *hold = s->holds.genesis;
    for (size_t i = 0; i < s->holds.n && s->holds.v[i].created <= t; i++)
        *hold = s->holds.v[i].value;
    return HERR_OK;
}

/* ---- bans ---- */

void care_toggle(struct toggle_state *t, bool on, uint64_t created, const uint8_t *id)
{
    if (t->has &&
        (created < t->created || (created == t->created && memcmp(id, t->id, HEARTH_ID_LEN) <= 0)))
        return;
    t->has = true;
    t->on = on;
    t->created = created;
    memcpy(t->id, id, HEARTH_ID_LEN);
}

/* ban_toggle - the valid ban or unban of subject with the greatest (created, id):
 * it decides whether subject is banned. */
static herr ban_toggle(struct store *s, const uint8_t *subject, struct toggle_state *out)
{
    herr e = HERR_OK;
    struct toggle_state t = {0};
    sqlite3_stmt *q = sq(s, Q_BAN_ACTIONS);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, subject, HEARTH_PK_LEN, SQLITE_STATIC);
    /* Collect first: the validity check uses other statements. */
    struct banrow {
        int action;
        uint8_t author[HEARTH_PK_LEN], id[HEARTH_ID_LEN];
        uint64_t seq, created;
    } *rows = NULL;
    size_t n = 0, cap = 0;
    int r;
    while ((r = sq_step(s, q, &e, "cannot read bans")) > 0) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct banrow *v = realloc(rows, cap * sizeof *v);
            if (!v) {
                sqlite3_reset(q);
                free(rows);
                return store_fail(s, HERR_NOMEM, "out of memory");
            }
            rows = v;
        }
        struct banrow *b = &rows[n++];
        b->action = sqlite3_column_int(q, 0);
        memcpy(b->author, sqlite3_column_blob(q, 1), HEARTH_PK_LEN);
        b->seq = (uint64_t)sqlite3_column_int64(q, 2);
        b->created = (uint64_t)sqlite3_column_int64(q, 3);
        memcpy(b->id, sqlite3_column_blob(q, 4), HEARTH_ID_LEN);
    }
    for (size_t i = 0; i < n && r == 0 && !e; i++) {
        bool ok;
        e = care_valid(s, rows[i].author, rows[i].seq, ROLE_MODERATOR, &ok);
        if (!e && ok)
            care_toggle(&t, rows[i].action == MA_BAN, rows[i].created, rows[i].id);
    }
    free(rows);
    *out = t;
    return e;
}

static herr ban_state(struct store *s, const uint8_t *subject, bool *banned)
{
    struct toggle_state t;
    herr e = ban_toggle(s, subject, &t);
    *banned = !e && t.has && t.on;
    return e;
}

herr care_ban_event(struct store *s, const uint8_t *subject, uint8_t id[HEARTH_ID_LEN], bool *has)
{
    struct toggle_state t;
    herr e = ban_toggle(s, subject, &t);
    *has = !e && t.has;
    if (*has)
        memcpy(id, t.id, HEARTH_ID_LEN);
    return e;
}

herr care_banned(struct store *s, const uint8_t *author, bool *yes)
{
    *yes = false;
    /* a revoked device's events past its revocation count as its own: hidden */
    for (int pass = 0; pass < 2 && !*yes; pass++) {
        herr e = HERR_OK;
        if (!(pass ? s->any_revoked : s->any_banned))
            continue;
        sqlite3_stmt *q = sq(s, pass ? Q_DEV_REVOKED : Q_BANNED_GET);
        if (!q)
            return HERR_IO;
        sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
        int n = sq_step(s, q, &e, "cannot read bans");
        *yes = n > 0;
        if (n > 0)
            sqlite3_reset(q);
        if (n < 0)
            return e;
    }
    return HERR_OK;
}

herr care_ban_recompute(struct store *s, const uint8_t *subject, bool *changed)
{
    bool now = false, was = false;
    bool any = s->any_banned, revoked = s->any_revoked;
    s->any_banned = true; /* read the table itself */
    s->any_revoked = false;
    herr e = care_banned(s, subject, &was);
    s->any_banned = any;
    s->any_revoked = revoked;
    if (!e)
        e = ban_state(s, subject, &now);
    *changed = !e && now != was;
    if (e || !*changed)
        return e;
    sqlite3_stmt *q = sq(s, now ? Q_BANNED_ADD : Q_BANNED_DEL);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, subject, HEARTH_PK_LEN, SQLITE_STATIC);
    e = sq_exec(s, q, "cannot update bans");
    if (!e && now)
        s->any_banned = true;
    return e;
}

/* care_bans_recompute_all - every subject of a ban or unban (after roles changed).
 * *changed lists nothing: the caller refreshes every post anyway. */
herr care_bans_recompute_all(struct store *s)
{
    herr e = HERR_OK;
    uint8_t(*subjects)[HEARTH_PK_LEN] = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *q = sq(s, Q_MOD_SUBJECTS);
    if (!q)
        return HERR_IO;
    int r;
    while ((r = sq_step(s, q, &e, "cannot read bans")) > 0) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            void *v = realloc(subjects, cap * HEARTH_PK_LEN);
            if (!v) {
                sqlite3_reset(q);
                free(subjects);
                return store_fail(s, HERR_NOMEM, "out of memory");
            }
            subjects = v;
        }
        memcpy(subjects[n++], sqlite3_column_blob(q, 0), HEARTH_PK_LEN);
    }
    for (size_t i = 0; i < n && r == 0 && !e; i++) {
        bool changed;
        e = care_ban_recompute(s, subjects[i], &changed);
    }
    free(subjects);
    return e;
}

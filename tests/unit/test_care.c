/* test_care.c - community care: roles and their revocation, moderation (hide,
 * remove, lock, pin, ban, approve), held first posts, flags, resources, what each
 * viewer sees, search, the moderation queue, and every refusal of store_publish. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/limits.h"
#include "store/event.h"
#include "store/store.h"
#include "tests/unit/fixture.h"
#include "tests/unit/testutil.h"

static struct hkey F, A, B, C; /* founder; alice, bob, carol */

/* ---- fixtures ---- */

static void post(struct fx *f, const struct hkey *k, const char *text, uint8_t *id)
{
    struct event_draft d = {.kind = EK_POST, .ref = f->board};
    d.b.title = S("A thread");
    d.b.text = S(text);
    fx_publish(f, k, d, id);
}

static struct event_draft reply_draft(const uint8_t *root, const char *text)
{
    struct event_draft d = {.kind = EK_REPLY, .root = root, .ref = root};
    d.b.text = S(text);
    return d;
}

static uint8_t *grant(struct fx *f, const struct hkey *by, const struct hkey *to, const char *role,
                      uint8_t *id)
{
    struct event_draft d = {.kind = EK_ROLE};
    d.b.subject = to->pk;
    d.b.role = S(role);
    d.b.has_grant = true, d.b.grant = true;
    fx_publish(f, by, d, id);
    return id;
}

static herr revoke_role(struct fx *f, const struct hkey *by, const struct hkey *to,
                        const char *role, const uint8_t *grant_id, bool has_until, uint64_t until)
{
    struct event_draft d = {.kind = EK_ROLE, .ref = grant_id};
    d.b.subject = to->pk;
    d.b.role = S(role);
    d.b.has_grant = true, d.b.grant = false;
    d.b.has_until = has_until, d.b.until = until;
    return fx_try_publish(f, by, d, NULL);
}

static herr mod(struct fx *f, const struct hkey *by, const char *action, const uint8_t *target)
{
    struct event_draft d = {.kind = EK_MOD, .ref = target};
    d.b.action = S(action);
    d.b.reason = S("care");
    return fx_try_publish(f, by, d, NULL);
}

static herr ban(struct fx *f, const struct hkey *by, const char *action, const struct hkey *who)
{
    struct event_draft d = {.kind = EK_MOD};
    d.b.action = S(action);
    d.b.reason = S("care");
    d.b.subject = who->pk;
    return fx_try_publish(f, by, d, NULL);
}

/* status - the status of a post as `viewer` sees it; -1 when they cannot see it. */
static int status(struct fx *f, const struct hkey *viewer, const uint8_t *id)
{
    struct store_post p;
    store_set_viewer(f->s, viewer ? viewer->pk : NULL);
    herr e = store_post_get(f->s, id, &p);
    store_set_viewer(f->s, NULL);
    if (e == HERR_NOT_FOUND)
        return -1;
    assert_int_equal(e, HERR_OK);
    int st = (int)p.status;
    store_posts_free(&p, 1);
    return st;
}

static struct store_post get(struct fx *f, const struct hkey *viewer, const uint8_t *id)
{
    struct store_post p;
    store_set_viewer(f->s, viewer ? viewer->pk : NULL);
    herr e = store_post_get(f->s, id, &p);
    store_set_viewer(f->s, NULL);
    if (e)
        fail_msg("store_post_get: %s", store_errmsg(f->s));
    return p;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, fp);
    fclose(fp);
    bool found = memmem(buf, got, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

/* ingest_draft - a peer's event, with its own seq and clock, into f's replica. */
static void ingest_draft(struct fx *f, const struct hkey *k, struct event_draft d, uint8_t *id)
{
    struct hbuf env;
    uint8_t dummy[HEARTH_ID_LEN];
    hbuf_init(&env, HEARTH_MAX_EVENT);
    d.forum = f->forum;
    assert_int_equal(event_build(&d, k, &env, id ? id : dummy, NULL), HERR_OK);
    struct store_blob blob = {env.data, env.len};
    struct ingest_result r;
    assert_int_equal(store_ingest(f->s, &blob, 1, &r, NULL), HERR_OK);
    assert_int_equal(r.err, HERR_OK);
    hbuf_release(&env);
}

static herr mod_why(struct fx *f, const struct hkey *by, const char *action, const uint8_t *target,
                    const char *reason)
{
    struct event_draft d = {.kind = EK_MOD, .ref = target};
    d.b.action = S(action);
    d.b.reason = S(reason);
    return fx_try_publish(f, by, d, NULL);
}

/* ---- roles ---- */

static void test_roles_and_refusals(void **state)
{
    struct fx *f = fx_forum("care_roles", &F, 0, 0);
    uint8_t ga[HEARTH_ID_LEN], gb[HEARTH_ID_LEN], p[HEARTH_ID_LEN];
    post(f, &C, "carol's words", p);
    /* Without a role: every care event is refused, with a reason. */
    assert_int_equal(mod(f, &B, "hide", p), HERR_DENIED);
    assert_true(strstr(store_errmsg(f->s), "not a moderator") != NULL);
    struct event_draft d = {.kind = EK_ROLE};
    d.b.subject = C.pk, d.b.role = S("moderator"), d.b.has_grant = true, d.b.grant = true;
    assert_int_equal(fx_try_publish(f, &B, d, NULL), HERR_DENIED);
    struct event_draft st = {.kind = EK_SETTINGS};
    st.b.has_hold = true, st.b.hold = 2;
    assert_int_equal(fx_try_publish(f, &B, st, NULL), HERR_DENIED);
    struct event_draft bo = {.kind = EK_BOARD};
    bo.b.name = S("Carers");
    assert_int_equal(fx_try_publish(f, &A, bo, NULL), HERR_DENIED);
    /* The founder makes A admin; A may make boards and moderators, not admins. */
    grant(f, &F, &A, "admin", ga);
    fx_publish(f, &A, bo, NULL);
    d.b.role = S("admin");
    assert_int_equal(fx_try_publish(f, &A, d, NULL), HERR_DENIED);
    assert_true(strstr(store_errmsg(f->s), "only the founder") != NULL);
    grant(f, &A, &B, "moderator", gb);
    assert_int_equal(mod(f, &B, "hide", p), HERR_OK);
    assert_int_equal(status(f, NULL, p), -1);
    assert_int_equal(status(f, &B, p), POST_HIDDEN);
    char *roles;
    assert_int_equal(store_roles(f->s, B.pk, &roles), HERR_OK);
    assert_string_equal(roles, "moderator");
    free(roles);
    assert_int_equal(store_roles(f->s, F.pk, &roles), HERR_OK);
    assert_string_equal(roles, "founder");
    free(roles);
    assert_int_equal(store_roles(f->s, C.pk, &roles), HERR_OK);
    assert_null(roles);
    /* An admin cannot revoke an admin; the founder can. */
    assert_int_equal(revoke_role(f, &A, &A, "admin", ga, true, 0), HERR_DENIED);
    /* until 0: nothing A did as admin stays valid, so B's grant and hide go. */
    assert_int_equal(revoke_role(f, &F, &A, "admin", ga, true, 0), HERR_OK);
    assert_int_equal(status(f, NULL, p), POST_VISIBLE);
    assert_int_equal(store_roles(f->s, B.pk, &roles), HERR_OK);
    assert_null(roles);
    assert_int_equal(mod(f, &B, "hide", p), HERR_DENIED);
    fx_free(f);
}

/* A revocation without until keeps what the subject did before it: store_publish
 * fills in their last seq. Actions after it have no effect, from any replica. */
static void test_revocation_keeps_the_past(void **state)
{
    struct fx *f = fx_forum("care_until", &F, 0, 0);
    uint8_t g[HEARTH_ID_LEN], p[HEARTH_ID_LEN], q[HEARTH_ID_LEN];
    post(f, &C, "first", p);
    post(f, &C, "second", q);
    grant(f, &F, &B, "moderator", g);
    assert_int_equal(mod(f, &B, "hide", p), HERR_OK);
    assert_int_equal(revoke_role(f, &F, &B, "moderator", g, false, 0), HERR_OK);
    assert_int_equal(status(f, NULL, p), -1); /* still hidden: before the revocation */
    /* B's node did not know yet and hides the second post: no effect here. */
    struct event_draft d = {.kind = EK_MOD, .forum = f->forum, .seq = 3, .created = 1, .ref = q};
    d.b.action = S("hide");
    d.b.reason = S("late");
    struct hbuf env;
    uint8_t id[HEARTH_ID_LEN];
    hbuf_init(&env, HEARTH_MAX_EVENT);
    assert_int_equal(event_build(&d, &B, &env, id, NULL), HERR_OK);
    struct store_blob blob = {env.data, env.len};
    struct ingest_result r;
    assert_int_equal(store_ingest(f->s, &blob, 1, &r, NULL), HERR_OK);
    assert_int_equal(r.err, HERR_OK);
    assert_int_equal(status(f, NULL, q), POST_VISIBLE);
    hbuf_release(&env);
    fx_free(f);
}

/* ---- moderation ---- */

static void test_hide_unhide_by_time(void **state)
{
    struct fx *f = fx_forum("care_hide", &F, 0, 0);
    uint8_t g[HEARTH_ID_LEN], p[HEARTH_ID_LEN];
    post(f, &C, "words", p);
    grant(f, &F, &B, "moderator", g);
    assert_int_equal(mod(f, &B, "hide", p), HERR_OK);
    assert_int_equal(mod(f, &F, "unhide", p), HERR_OK);
    assert_int_equal(status(f, NULL, p), POST_VISIBLE);
    assert_int_equal(mod(f, &B, "hide", p), HERR_OK);
    assert_int_equal(status(f, NULL, p), -1);
    assert_int_equal(status(f, &F, p), POST_HIDDEN);
    assert_int_equal(status(f, &C, p), POST_HIDDEN); /* its author sees what happened */
    assert_int_equal(status(f, &A, p), -1);          /* other members do not */
    fx_free(f);
}

static void test_remove_purges(void **state)
{
    struct fx *f = fx_forum("care_remove", &F, 0, 0);
    const char *secret = "removed-words-that-must-go-99";
    uint8_t g[HEARTH_ID_LEN], p[HEARTH_ID_LEN], id[HEARTH_ID_LEN];
    post(f, &C, secret, p);
    struct event_draft ed = {.kind = EK_EDIT, .ref = p};
    ed.b.text = S("edited-removed-words-98");
    fx_publish(f, &C, ed, NULL);
    grant(f, &F, &B, "moderator", g);
    assert_int_equal(mod(f, &B, "remove", p), HERR_OK);
    struct store_post x = get(f, NULL, p);
    assert_int_equal(x.status, POST_REMOVED);
    assert_null(x.text);
    store_posts_free(&x, 1);
    /* Unhiding does not bring a removal back; nor does editing. */
    assert_int_equal(mod(f, &B, "unhide", p), HERR_OK);
    assert_int_equal(status(f, NULL, p), POST_REMOVED);
    assert_int_equal(fx_try_publish(f, &C, ed, id), HERR_OK);
    x = get(f, NULL, p);
    assert_null(x.text);
    store_posts_free(&x, 1);
    store_destroy(&f->s);
    assert_false(file_contains(f->path, secret));
    assert_false(file_contains(f->path, "edited-removed-words-98"));
    assert_int_equal(store_open(&f->s, f->path, 0), HERR_OK);
    fx_free(f);
}

static void test_lock_and_pin(void **state)
{
    struct fx *f = fx_forum("care_lock", &F, 0, 0);
    uint8_t p[HEARTH_ID_LEN], q[HEARTH_ID_LEN], r[HEARTH_ID_LEN];
    post(f, &C, "older thread", p);
    post(f, &C, "newer thread", q);
    fx_publish(f, &A, reply_draft(p, "a reply"), r);
    assert_int_equal(mod(f, &F, "lock", r), HERR_USAGE); /* replies are not threads */
    assert_int_equal(mod(f, &F, "lock", p), HERR_OK);
    assert_int_equal(fx_try_publish(f, &A, reply_draft(p, "too late"), NULL), HERR_DENIED);
    assert_true(strstr(store_errmsg(f->s), "locked") != NULL);
    /* From a peer, a reply in a locked thread is still kept and shown. */
    struct event_draft d = {
        .kind = EK_REPLY, .forum = f->forum, .seq = 90, .created = 5, .root = p, .ref = p};
    d.b.text = S("offline reply");
    struct hbuf env;
    uint8_t id[HEARTH_ID_LEN];
    hbuf_init(&env, HEARTH_MAX_EVENT);
    assert_int_equal(event_build(&d, &B, &env, id, NULL), HERR_OK);
    struct store_blob blob = {env.data, env.len};
    struct ingest_result res;
    assert_int_equal(store_ingest(f->s, &blob, 1, &res, NULL), HERR_OK);
    assert_int_equal(status(f, NULL, id), POST_VISIBLE);
    hbuf_release(&env);
    struct store_post x = get(f, NULL, p);
    assert_true(x.locked);
    store_posts_free(&x, 1);
    /* Pinned first, whatever the activity. */
    assert_int_equal(mod(f, &F, "pin", p), HERR_OK);
    struct store_post *t;
    size_t n;
    assert_int_equal(store_threads(f->s, f->board, &t, &n), HERR_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(t[0].id, p, HEARTH_ID_LEN);
    assert_true(t[0].pinned);
    store_posts_free(t, n);
    assert_int_equal(mod(f, &F, "unlock", p), HERR_OK);
    fx_publish(f, &A, reply_draft(p, "open again"), NULL);
    fx_free(f);
}

static void test_ban(void **state)
{
    struct fx *f = fx_forum("care_ban", &F, 0, 0);
    uint8_t g[HEARTH_ID_LEN], p[HEARTH_ID_LEN], r[HEARTH_ID_LEN], q[HEARTH_ID_LEN];
    post(f, &C, "carol's thread", q);
    post(f, &A, "alice's thread", p);
    fx_publish(f, &A, reply_draft(q, "alice replies"), r);
    grant(f, &F, &B, "moderator", g);
    assert_int_equal(ban(f, &B, "ban", &A), HERR_OK); /* after alice's posts */
    assert_int_equal(status(f, NULL, p), -1);
    assert_int_equal(status(f, NULL, r), -1);
    assert_int_equal(status(f, &B, p), POST_HIDDEN);
    assert_int_equal(status(f, NULL, q), POST_VISIBLE);
    struct event_draft d = {.kind = EK_POST, .ref = f->board};
    d.b.title = S("t"), d.b.text = S("x");
    assert_int_equal(fx_try_publish(f, &A, d, NULL), HERR_DENIED);
    assert_true(strstr(store_errmsg(f->s), "banned") != NULL);
    assert_int_equal(fx_try_publish(f, &A, reply_draft(q, "x"), NULL), HERR_DENIED);
    assert_int_equal(ban(f, &B, "unban", &A), HERR_OK);
    assert_int_equal(status(f, NULL, p), POST_VISIBLE);
    fx_publish(f, &A, d, NULL);
    fx_free(f);
}

/* ---- held first posts, flags, the queue ---- */

static void test_hold_and_approve(void **state)
{
    struct fx *f = fx_forum("care_hold", &F, 1, 0);
    uint8_t g[HEARTH_ID_LEN], p[HEARTH_ID_LEN], q[HEARTH_ID_LEN], m[HEARTH_ID_LEN];
    uint64_t hold, flags;
    assert_int_equal(store_settings(f->s, &hold, &flags), HERR_OK);
    assert_int_equal(hold, 1);
    post(f, &C, "my first words here", p);
    assert_int_equal(status(f, NULL, p), -1);
    assert_int_equal(status(f, &C, p), POST_HELD); /* its author sees it */
    assert_int_equal(status(f, &F, p), POST_HELD); /* so do moderators */
    post(f, &C, "my second", q);                   /* only the first is held */
    assert_int_equal(status(f, NULL, q), POST_VISIBLE);
    grant(f, &F, &B, "moderator", g);
    post(f, &B, "a moderator's first", m); /* role holders are not held */
    assert_int_equal(status(f, NULL, m), POST_VISIBLE);
    store_set_viewer(f->s, B.pk);
    struct store_post *t;
    size_t n;
    assert_int_equal(store_mod_queue(f->s, &t, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(t[0].id, p, HEARTH_ID_LEN);
    store_posts_free(t, n);
    store_set_viewer(f->s, C.pk);
    assert_int_equal(store_mod_queue(f->s, &t, &n), HERR_DENIED);
    store_set_viewer(f->s, NULL);
    assert_int_equal(mod(f, &B, "approve", p), HERR_OK);
    assert_int_equal(status(f, NULL, p), POST_VISIBLE);
    /* Settings change: hold 3 holds C's next post (their third), not the second that
     * was out already. */
    struct event_draft st = {.kind = EK_SETTINGS};
    st.b.has_hold = true, st.b.hold = 3;
    fx_publish(f, &F, st, NULL);
    assert_int_equal(status(f, NULL, q), POST_VISIBLE);
    assert_int_equal(status(f, NULL, p), POST_VISIBLE);
    uint8_t r[HEARTH_ID_LEN];
    post(f, &C, "my third", r);
    assert_int_equal(status(f, NULL, r), -1);
    assert_int_equal(status(f, &C, r), POST_HELD);
    fx_free(f);
}

/* Turning the hold on holds new members' posts from then on, and hides nothing that
 * was out before; turning it off lets the held ones out. Either way the order in
 * which the events arrive does not matter. */
static void test_hold_turned_on_keeps_the_past(void **state)
{
    struct fx *f = fx_forum("care_hold_on", &F, 0, 0);
    uint8_t p[HEARTH_ID_LEN], r[HEARTH_ID_LEN], s1[HEARTH_ID_LEN], q[HEARTH_ID_LEN],
        n[HEARTH_ID_LEN], d1[HEARTH_ID_LEN], d2[HEARTH_ID_LEN];
    struct event_draft pd = {
        .kind = EK_POST, .forum = f->forum, .seq = 1, .created = 1000, .ref = f->board};
    pd.b.title = S("Read by many"), pd.b.text = S("an old thread people follow");
    ingest_draft(f, &C, pd, p);
    struct event_draft rd = {
        .kind = EK_REPLY, .forum = f->forum, .seq = 1, .created = 2000, .root = p, .ref = p};
    rd.b.text = S("a first reply, read too");
    ingest_draft(f, &A, rd, r);
    struct event_draft sd = {.kind = EK_SETTINGS, .forum = f->forum, .seq = 10, .created = 3000};
    sd.b.has_hold = true, sd.b.hold = 1;
    ingest_draft(f, &F, sd, s1);
    assert_int_equal(status(f, NULL, p), POST_VISIBLE); /* out before the hold */
    assert_int_equal(status(f, NULL, r), POST_VISIBLE);
    struct event_draft qd = pd;
    qd.seq = 2, qd.created = 4000, qd.b.title = S("Again");
    ingest_draft(f, &C, qd, q); /* C is not new: their first post is out */
    assert_int_equal(status(f, NULL, q), POST_VISIBLE);
    struct event_draft nd = pd;
    nd.created = 5000, nd.b.title = S("New here");
    ingest_draft(f, &B, nd, n); /* B is new: held */
    assert_int_equal(status(f, NULL, n), -1);
    assert_int_equal(status(f, &B, n), POST_HELD);
    assert_int_equal(store_view_digest(f->s, d1), HERR_OK);

    /* The same events the other way round, in another replica. */
    struct fx *g = fx_empty("care_hold_on_b");
    const uint8_t *ids[] = {n, q, s1, r, p, f->board, f->forum};
    struct hbuf env;
    hbuf_init(&env, HEARTH_MAX_EVENT);
    assert_int_equal(store_set_forum(g->s, f->forum), HERR_OK);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        hbuf_reset(&env);
        assert_int_equal(store_get(f->s, ids[i], &env), HERR_OK);
        struct store_blob b = {env.data, env.len};
        struct ingest_result res;
        assert_int_equal(store_ingest(g->s, &b, 1, &res, NULL), HERR_OK);
        assert_int_equal(res.err, HERR_OK);
    }
    hbuf_release(&env);
    assert_int_equal(store_view_digest(g->s, d2), HERR_OK);
    assert_memory_equal(d1, d2, HEARTH_ID_LEN);
    assert_int_equal(status(g, NULL, p), POST_VISIBLE);
    assert_int_equal(status(g, NULL, n), -1);

    /* Off again: the held post is out. */
    sd.seq = 11, sd.created = 6000, sd.b.hold = 0;
    ingest_draft(f, &F, sd, NULL);
    assert_int_equal(status(f, NULL, n), POST_VISIBLE);
    fx_free(g);
    fx_free(f);
}

/* An approval that arrives before the post it approves. */
static void test_approve_before_post(void **state)
{
    struct fx *f = fx_forum("care_approve_first", &F, 1, 0);
    struct event_draft pd = {
        .kind = EK_POST, .forum = f->forum, .seq = 1, .created = 10, .ref = f->board};
    pd.b.title = S("t"), pd.b.text = S("held words");
    struct hbuf pe, ae;
    uint8_t pid[HEARTH_ID_LEN], aid[HEARTH_ID_LEN];
    hbuf_init(&pe, HEARTH_MAX_EVENT);
    hbuf_init(&ae, HEARTH_MAX_EVENT);
    assert_int_equal(event_build(&pd, &C, &pe, pid, NULL), HERR_OK);
    struct event_draft ad = {
        .kind = EK_MOD, .forum = f->forum, .seq = 50, .created = 20, .ref = pid};
    ad.b.action = S("approve"), ad.b.reason = S("fine");
    assert_int_equal(event_build(&ad, &F, &ae, aid, NULL), HERR_OK);
    struct store_blob blobs[2] = {{ae.data, ae.len}, {pe.data, pe.len}};
    struct ingest_result res[2];
    assert_int_equal(store_ingest(f->s, &blobs[0], 1, res, NULL), HERR_OK);
    assert_int_equal(store_ingest(f->s, &blobs[1], 1, res, NULL), HERR_OK);
    assert_int_equal(status(f, NULL, pid), POST_VISIBLE);
    hbuf_release(&pe);
    hbuf_release(&ae);
    fx_free(f);
}

static void flag(struct fx *f, const struct hkey *k, const uint8_t *p)
{
    struct event_draft d = {.kind = EK_FLAG, .ref = p};
    d.b.reason = S("worried about them");
    fx_publish(f, k, d, NULL);
}

/* queue - how many posts wait in the founder's moderation queue; *flags (when not
 * NULL) gets the first one's flag count. */
static size_t queue(struct fx *f, uint32_t *flags)
{
    struct store_post *t;
    size_t n;
    store_set_viewer(f->s, F.pk);
    assert_int_equal(store_mod_queue(f->s, &t, &n), HERR_OK);
    if (flags && n)
        *flags = t[0].flags;
    store_posts_free(t, n);
    store_set_viewer(f->s, NULL);
    return n;
}

static void test_flags_hide_until_review(void **state)
{
    struct fx *f = fx_forum("care_flags", &F, 0, 2);
    uint8_t p[HEARTH_ID_LEN];
    post(f, &C, "words some find hard", p);
    /* The author's own flag does not count (from a peer: ours are refused). */
    struct event_draft own = {.kind = EK_FLAG, .seq = 400, .created = 1, .ref = p};
    own.b.reason = S("my own");
    ingest_draft(f, &C, own, NULL);
    flag(f, &A, p);
    assert_int_equal(status(f, NULL, p), POST_VISIBLE);
    own.seq = 401; /* nor does a second flag of the same member */
    ingest_draft(f, &A, own, NULL);
    assert_int_equal(status(f, NULL, p), POST_VISIBLE);
    flag(f, &B, p);
    assert_int_equal(status(f, NULL, p), -1);
    assert_int_equal(status(f, &F, p), POST_HIDDEN);
    uint32_t flags = 0;
    assert_int_equal(queue(f, &flags), 1);
    assert_int_equal(flags, 2);
    assert_int_equal(mod(f, &F, "approve", p), HERR_OK);
    assert_int_equal(status(f, NULL, p), POST_VISIBLE);
    assert_int_equal(queue(f, NULL), 0);
    fx_free(f);
}

/* A post approved out of the hold and flagged later waits for a moderator again; an
 * approval after the flag settles it. */
static void test_queue_flag_after_approval(void **state)
{
    struct fx *f = fx_forum("care_queue_again", &F, 1, 0);
    uint8_t p[HEARTH_ID_LEN];
    post(f, &C, "a new member's first words", p);
    assert_int_equal(queue(f, NULL), 1); /* held */
    assert_int_equal(mod(f, &F, "approve", p), HERR_OK);
    assert_int_equal(queue(f, NULL), 0);
    flag(f, &A, p);
    uint32_t flags = 0;
    assert_int_equal(queue(f, &flags), 1); /* flagged after its approval: waiting again */
    assert_int_equal(flags, 1);
    assert_int_equal(mod(f, &F, "approve", p), HERR_OK);
    assert_int_equal(queue(f, NULL), 0);
    fx_free(f);
}

/* An author sees their own held, hidden and removed posts, marked with what happened
 * and the moderator's reason; a post hidden by flags is told apart from one a
 * moderator hid; an unhide that leaves the post hidden is refused, saying why. */
static void test_own_post_state(void **state)
{
    struct fx *f = fx_forum("care_own_state", &F, 0, 2);
    uint8_t p[HEARTH_ID_LEN], q[HEARTH_ID_LEN], r[HEARTH_ID_LEN], u[HEARTH_ID_LEN];
    post(f, &C, "flagged words", p);
    post(f, &C, "hidden words", q);
    post(f, &C, "removed words", r);
    post(f, &A, "alice's words", u);
    flag(f, &A, p);
    flag(f, &B, p);
    struct store_post x = get(f, &C, p);
    assert_int_equal(x.status, POST_HIDDEN);
    assert_int_equal(x.hidden_by, HIDDEN_BY_FLAGS);
    assert_int_equal(x.flags, 2);
    assert_null(x.mod_reason);
    store_posts_free(&x, 1);
    assert_int_equal(status(f, &A, p), -1);
    assert_int_equal(mod_why(f, &F, "hide", q, "shares a phone number"), HERR_OK);
    x = get(f, &C, q);
    assert_int_equal(x.status, POST_HIDDEN);
    assert_int_equal(x.hidden_by, HIDDEN_BY_MOD);
    assert_string_equal(x.mod_reason, "shares a phone number");
    store_posts_free(&x, 1);
    assert_int_equal(mod_why(f, &F, "remove", r, "a threat"), HERR_OK);
    x = get(f, &C, r);
    assert_int_equal(x.status, POST_REMOVED);
    assert_string_equal(x.mod_reason, "a threat");
    store_posts_free(&x, 1);
    x = get(f, &A, r); /* the reason is for its author and the moderators */
    assert_int_equal(x.status, POST_REMOVED);
    assert_null(x.mod_reason);
    store_posts_free(&x, 1);
    x = get(f, &F, q);
    assert_string_equal(x.mod_reason, "shares a phone number");
    store_posts_free(&x, 1);
    /* A visible post says nothing. */
    x = get(f, &A, u);
    assert_int_equal(x.hidden_by, HIDDEN_BY_NONE);
    assert_null(x.mod_reason);
    store_posts_free(&x, 1);
    /* A ban hides, and an unhide cannot show what the ban hides: refused, nothing kept. */
    assert_int_equal(ban(f, &F, "ban", &C), HERR_OK);
    x = get(f, &C, p);
    assert_int_equal(x.hidden_by, HIDDEN_BY_BAN);
    assert_string_equal(x.mod_reason, "care");
    store_posts_free(&x, 1);
    struct store_stats before, after;
    assert_int_equal(store_stats(f->s, &before), HERR_OK);
    assert_int_equal(mod(f, &F, "unhide", p), HERR_NOOP);
    assert_true(strstr(store_errmsg(f->s), "its author is banned") != NULL);
    assert_int_equal(store_stats(f->s, &after), HERR_OK);
    assert_int_equal(after.events, before.events);
    assert_int_equal(ban(f, &F, "unban", &C), HERR_OK);
    /* Another moderator's hide from a clock far ahead wins over an unhide made now:
     * refused too. */
    uint8_t g[HEARTH_ID_LEN];
    grant(f, &F, &B, "moderator", g);
    struct event_draft h = {.kind = EK_MOD, .seq = 1000, .created = 4102444800000ULL, .ref = u};
    h.b.action = S("hide"), h.b.reason = S("from the future");
    ingest_draft(f, &B, h, NULL);
    assert_int_equal(status(f, NULL, u), -1);
    assert_int_equal(mod(f, &F, "unhide", u), HERR_NOOP);
    assert_true(strstr(store_errmsg(f->s), "stays hidden") != NULL);
    assert_int_equal(status(f, &A, u), POST_HIDDEN);
    /* An unhide that shows the post is fine. */
    assert_int_equal(mod(f, &F, "unhide", q), HERR_OK);
    assert_int_equal(status(f, NULL, q), POST_VISIBLE);
    fx_free(f);
}

static uint64_t events_held(struct fx *f)
{
    struct store_stats st;
    assert_int_equal(store_stats(f->s, &st), HERR_OK);
    return st.events;
}

/* Actions that would change nothing are refused with HERR_NOOP and a reason, and
 * nothing is stored: flagging one's own post or flagging again, the same reaction
 * twice, approving a post that is neither held nor flagged. */
static void test_noop_actions(void **state)
{
    struct fx *f = fx_forum("care_noop", &F, 0, 0);
    uint8_t p[HEARTH_ID_LEN], q[HEARTH_ID_LEN], fl[HEARTH_ID_LEN], re[HEARTH_ID_LEN];
    post(f, &C, "carol's words", p);
    post(f, &C, "more words", q);
    uint64_t n = events_held(f);
    struct event_draft fd = {.kind = EK_FLAG, .ref = p};
    fd.b.reason = S("worried");
    assert_int_equal(fx_try_publish(f, &C, fd, NULL), HERR_NOOP);
    assert_true(strstr(store_errmsg(f->s), "your own post") != NULL);
    assert_int_equal(events_held(f), n);
    fx_publish(f, &A, fd, fl);
    assert_int_equal(fx_try_publish(f, &A, fd, NULL), HERR_NOOP);
    assert_true(strstr(store_errmsg(f->s), "already flagged") != NULL);
    fx_publish(f, &A, (struct event_draft){.kind = EK_RETRACT, .ref = fl}, NULL);
    fx_publish(f, &A, fd, NULL); /* a flag taken back can be given again */
    struct event_draft rd = {.kind = EK_REACT, .ref = p};
    rd.b.reaction = S("support");
    fx_publish(f, &A, rd, re);
    n = events_held(f);
    assert_int_equal(fx_try_publish(f, &A, rd, NULL), HERR_NOOP);
    assert_true(strstr(store_errmsg(f->s), "already sent support") != NULL);
    assert_int_equal(events_held(f), n);
    rd.b.reaction = S("hug");
    fx_publish(f, &A, rd, NULL);
    fx_publish(f, &B, rd, NULL); /* another member's hug is theirs */
    fx_publish(f, &A, (struct event_draft){.kind = EK_RETRACT, .ref = re}, NULL);
    rd.b.reaction = S("support");
    fx_publish(f, &A, rd, NULL);
    /* Approving: a flagged post (the review is closed), not one nobody flagged. */
    assert_int_equal(mod(f, &F, "approve", p), HERR_OK);
    n = events_held(f);
    assert_int_equal(mod(f, &F, "approve", q), HERR_NOOP);
    assert_true(strstr(store_errmsg(f->s), "not waiting for approval") != NULL);
    assert_int_equal(events_held(f), n);
    fx_free(f);
}

static void profile(struct fx *f, const struct hkey *k, const char *name)
{
    struct event_draft d = {.kind = EK_PROFILE};
    d.b.name = S(name);
    fx_publish(f, k, d, NULL);
}

/* Names cannot pass for someone else: controls and bidirectional overrides are refused
 * in our own names and shown replaced in a peer's; a name that another author also
 * uses is shown with more of the key. */
static void test_names(void **state)
{
    struct fx *f = fx_forum("care_names", &F, 0, 0);
    uint8_t p[HEARTH_ID_LEN], q[HEARTH_ID_LEN];
    struct event_draft d = {.kind = EK_PROFILE};
    d.b.name = S("Sam \xe2\x80\xae[rotaredom]");
    assert_int_equal(fx_try_publish(f, &C, d, NULL), HERR_INVALID);
    assert_true(strstr(store_errmsg(f->s), "bidirectional") != NULL);
    d.b.name = S("Sam\x1b[31m");
    assert_int_equal(fx_try_publish(f, &C, d, NULL), HERR_INVALID);
    struct event_draft b = {.kind = EK_BOARD};
    b.b.name = S("Gen\xe2\x81\xa6"
                 "eral");
    assert_int_equal(fx_try_publish(f, &F, b, NULL), HERR_INVALID);
    d.b.name = S("Tama \xe2\x80\xae");
    d.seq = 300, d.created = 1;
    ingest_draft(f, &C, d, NULL); /* a peer's: kept, shown cleaned */
    char *name, *about;
    assert_int_equal(store_profile(f->s, C.pk, &name, &about), HERR_OK);
    assert_string_equal(name, "Tama \xef\xbf\xbd");
    free(name);
    free(about);
    /* Two authors named alike: more of the key; a name of one's own: 8 digits. */
    profile(f, &A, "Sam");
    profile(f, &B, "Kiri");
    post(f, &A, "alice as Sam", p);
    post(f, &B, "bob as Kiri", q);
    struct store_post x = get(f, NULL, p);
    assert_int_equal(x.author_key_digits, 8);
    store_posts_free(&x, 1);
    profile(f, &B, "sAM");
    x = get(f, NULL, p);
    assert_true(x.author_key_digits >= 12);
    store_posts_free(&x, 1);
    x = get(f, NULL, q);
    assert_true(x.author_key_digits >= 12);
    store_posts_free(&x, 1);
    uint32_t digits;
    assert_int_equal(store_key_digits(f->s, C.pk, &digits), HERR_OK);
    assert_int_equal(digits, 8);
    fx_free(f);
}

/* ---- resources, search ---- */

static void test_resources(void **state)
{
    struct fx *f = fx_forum("care_resources", &F, 0, 0);
    char *text, *about;
    uint8_t g[HEARTH_ID_LEN];
    assert_int_equal(store_resources(f->s, &text, &about), HERR_NOT_FOUND);
    struct event_draft d = {.kind = EK_RESOURCES};
    d.b.text = S("Lifeline 13 11 14");
    fx_publish(f, &F, d, NULL);
    assert_int_equal(store_resources(f->s, &text, &about), HERR_OK);
    assert_string_equal(text, "Lifeline 13 11 14");
    assert_null(about);
    free(text);
    d.b.text = S("not theirs to set");
    assert_int_equal(fx_try_publish(f, &A, d, NULL), HERR_DENIED);
    grant(f, &F, &A, "admin", g);
    d.b.text = S("Lifeline 13 11 14; Beyond Blue 1300 22 4636");
    d.b.about = S("call any time");
    fx_publish(f, &A, d, NULL);
    assert_int_equal(store_resources(f->s, &text, &about), HERR_OK);
    assert_string_equal(text, "Lifeline 13 11 14; Beyond Blue 1300 22 4636");
    assert_string_equal(about, "call any time");
    free(text);
    free(about);
    fx_free(f);
}

static void test_search(void **state)
{
    struct fx *f = fx_forum("care_search", &F, 0, 0);
    uint8_t p[HEARTH_ID_LEN], q[HEARTH_ID_LEN], r[HEARTH_ID_LEN], g[HEARTH_ID_LEN];
    post(f, &C, "the dam is low and the sheep are thin", p);
    post(f, &A, "sheep prices at the saleyard", q);
    fx_publish(f, &B, reply_draft(p, "we lost sheep too, hang in there"), r);
    struct store_post *t;
    size_t n;
    assert_int_equal(store_search(f->s, "sheep", 0, &t, &n), HERR_OK);
    assert_int_equal(n, 3);
    store_posts_free(t, n);
    assert_int_equal(store_search(f->s, "SHEEP thin", 0, &t, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(t[0].id, p, HEARTH_ID_LEN);
    store_posts_free(t, n);
    assert_int_equal(store_search(f->s, "  ", 0, &t, &n), HERR_USAGE);
    assert_int_equal(store_search(f->s, "\"sheep OR", 0, &t, &n), HERR_OK); /* not FTS syntax */
    store_posts_free(t, n);
    /* Retracted, hidden and edited text leave the index; new text enters it. */
    fx_publish(f, &A, (struct event_draft){.kind = EK_RETRACT, .ref = q}, NULL);
    grant(f, &F, &B, "moderator", g);
    assert_int_equal(mod(f, &B, "hide", r), HERR_OK);
    struct event_draft ed = {.kind = EK_EDIT, .ref = p};
    ed.b.text = S("the dam filled overnight");
    fx_publish(f, &C, ed, NULL);
    assert_int_equal(store_search(f->s, "sheep", 0, &t, &n), HERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_search(f->s, "overnight", 0, &t, &n), HERR_OK);
    assert_int_equal(n, 1);
    store_posts_free(t, n);
    store_destroy(&f->s);
    assert_false(file_contains(f->path, "saleyard"));
    assert_int_equal(store_open(&f->s, f->path, 0), HERR_OK);
    fx_free(f);
}

/* ---- edits purge what they replace ---- */

/* checkpoint - PRAGMA wal_checkpoint(TRUNCATE) on the replica, from a connection of
 * our own while the store stays open: the WAL's frames move into the file. */
static void checkpoint(const char *path)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
}

static herr export_add(void *ctx, const uint8_t *env, size_t len)
{
    return hbuf_append(ctx, env, len);
}

/* exported_contains - store_export's envelopes hold needle. */
static bool exported_contains(struct store *s, const char *needle)
{
    struct hbuf all;
    hbuf_init(&all, 1u << 26);
    assert_int_equal(store_export(s, export_add, &all), HERR_OK);
    bool found = memmem(all.data, all.len, needle, strlen(needle)) != NULL;
    hbuf_release(&all);
    return found;
}

static size_t found(struct store *s, const char *words)
{
    struct store_post *t;
    size_t n;
    assert_int_equal(store_search(s, words, 0, &t, &n), HERR_OK);
    store_posts_free(t, n);
    return n;
}

/* An edit purges the version it replaces, as a retraction purges: the old words leave
 * the file (after a checkpoint), the export and the search index, here and on a peer
 * that held the old words when the edit came; a peer offering them back is refused. */
static void test_edit_purges(void **state)
{
    struct fx *f = fx_forum("care_edit_purge", &F, 0, 0);
    struct fx *g = fx_forum("care_edit_purge_peer", &F, 0, 0);
    const char *first = "first-words-of-a-bad-night-5150", *second = "second-try-words-7117";
    uint8_t p[HEARTH_ID_LEN], e1[HEARTH_ID_LEN], e2[HEARTH_ID_LEN];
    struct event_draft pd = {
        .kind = EK_POST, .forum = f->forum, .seq = 1, .created = 1000, .ref = f->board};
    pd.b.title = S("My first title here"), pd.b.text = S(first);
    ingest_draft(f, &C, pd, p);
    assert_int_equal(found(f->s, "bad night"), 1);
    struct event_draft ed = {
        .kind = EK_EDIT, .forum = f->forum, .seq = 2, .created = 2000, .ref = p};
    ed.b.title = S("A calmer title"), ed.b.text = S(second);
    ingest_draft(f, &C, ed, e1);
    struct store_post x = get(f, NULL, p);
    assert_string_equal(x.text, second);
    assert_string_equal(x.title, "A calmer title");
    store_posts_free(&x, 1);
    ed.seq = 3, ed.created = 3000, ed.b.text = S("the words that stay");
    ingest_draft(f, &C, ed, e2);
    assert_int_equal(found(f->s, "bad night"), 0);
    assert_int_equal(found(f->s, second), 0);
    assert_int_equal(found(f->s, "stay"), 1);
    checkpoint(f->path);
    assert_false(file_contains(f->path, first));
    assert_false(file_contains(f->path, second));
    assert_false(file_contains(f->path, "My first title"));
    assert_true(file_contains(f->path, "the words that stay"));
    assert_false(exported_contains(f->s, first));
    assert_false(exported_contains(f->s, second));
    assert_true(exported_contains(f->s, "the words that stay"));

    /* The peer: g held the post with its words; the edits come (newest first). */
    struct hbuf env;
    hbuf_init(&env, HEARTH_MAX_EVENT);
    struct store_blob b;
    struct ingest_result r;
    pd.forum = ed.forum = g->forum, pd.ref = g->board;
    ingest_draft(g, &C, pd, p);
    ed.ref = p;
    ingest_draft(g, &C, ed, e2);
    ed.seq = 2, ed.created = 2000, ed.b.text = S(second);
    ingest_draft(g, &C, ed, e1);
    x = get(g, NULL, p);
    assert_string_equal(x.text, "the words that stay");
    store_posts_free(&x, 1);
    /* A peer that kept the old words offers them back: they stay purged. */
    assert_int_equal(event_build(&pd, &C, &env, p, NULL), HERR_OK);
    b = (struct store_blob){env.data, env.len};
    assert_int_equal(store_ingest(g->s, &b, 1, &r, NULL), HERR_OK);
    checkpoint(g->path);
    assert_false(file_contains(g->path, first));
    assert_false(file_contains(g->path, second));
    assert_false(exported_contains(g->s, first));
    assert_int_equal(found(g->s, "bad night"), 0);
    hbuf_release(&env);
    fx_free(f);
    fx_free(g);
}

/* ---- clocks from the future ---- */

/* copy_reversed - a new replica of f's forum fed ids[0..n) (f's events) in that order;
 * its path is dir's. */
static struct fx *copy_reversed(struct fx *f, const char *name, const uint8_t *const *ids, size_t n)
{
    struct fx *g = fx_empty(name);
    assert_int_equal(store_set_forum(g->s, f->forum), HERR_OK);
    struct hbuf env;
    hbuf_init(&env, HEARTH_MAX_EVENT);
    for (size_t i = 0; i < n; i++) {
        hbuf_reset(&env);
        assert_int_equal(store_get(f->s, ids[i], &env), HERR_OK);
        struct store_blob b = {env.data, env.len};
        struct ingest_result res;
        assert_int_equal(store_ingest(g->s, &b, 1, &res, NULL), HERR_OK);
        assert_int_equal(res.err, HERR_OK);
    }
    hbuf_release(&env);
    memcpy(g->forum, f->forum, HEARTH_ID_LEN);
    memcpy(g->board, f->board, HEARTH_ID_LEN);
    return g;
}

/* board_order - the board's threads are exactly want[0..n), in that order. */
static void board_order(struct fx *f, const uint8_t *const *want, size_t n)
{
    struct store_post *t;
    size_t got;
    assert_int_equal(store_threads(f->s, f->board, &t, &got), HERR_OK);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(t[i].id, want[i], HEARTH_ID_LEN);
    store_posts_free(t, got);
}

/* A post dated a year ahead does not sit above the posts others make after it; one
 * dated days ahead takes its own time once others' clocks reach it; and the order is
 * the same whatever order the events arrive in. */
static void test_future_post_sinks(void **state)
{
    struct fx *f = fx_forum("care_future", &F, 0, 0);
    const uint64_t day = 24ULL * 3600 * 1000, now = (uint64_t)time(NULL) * 1000;
    uint8_t p1[HEARTH_ID_LEN], q[HEARTH_ID_LEN], r[HEARTH_ID_LEN], p2[HEARTH_ID_LEN],
        r2[HEARTH_ID_LEN], d1[HEARTH_ID_LEN], d2[HEARTH_ID_LEN];
    struct event_draft d = {.kind = EK_POST, .forum = f->forum, .seq = 1, .ref = f->board};
    d.b.title = S("From a clock a year fast"), d.b.text = S("hello from next year");
    d.created = now + 365 * day;
    ingest_draft(f, &C, d, p1);
    d.b.title = S("Ordinary"), d.created = now + 1000;
    ingest_draft(f, &A, d, q);
    d.created = now + 2000;
    ingest_draft(f, &B, d, r);
    const uint8_t *first[] = {r, q, p1};
    board_order(f, first, 3);
    struct store_post x = get(f, NULL, p1);
    assert_true(x.last_activity < now + 1000);
    assert_int_equal(x.created, now + 365 * day); /* the author's claim is still shown */
    store_posts_free(&x, 1);
    /* Three days ahead: beyond the horizon until B's clock gets there. */
    d.seq = 2, d.created = now + 3 * day;
    ingest_draft(f, &C, d, p2);
    x = get(f, NULL, p2);
    assert_true(x.last_activity < now + 1000);
    store_posts_free(&x, 1);
    d.created = now + 3 * day + 3600 * 1000;
    ingest_draft(f, &B, d, r2);
    const uint8_t *later[] = {r2, p2, r, q, p1};
    board_order(f, later, 5);
    assert_int_equal(store_view_digest(f->s, d1), HERR_OK);

    const uint8_t *rev[] = {r2, p2, r, q, p1, f->board, f->forum};
    struct fx *g = copy_reversed(f, "care_future_b", rev, 7);
    board_order(g, later, 5);
    assert_int_equal(store_view_digest(g->s, d2), HERR_OK);
    assert_memory_equal(d1, d2, HEARTH_ID_LEN);
    fx_free(g);
    fx_free(f);
}

/* ---- races: one set, two orders ---- */

struct evs {
    struct hbuf env[8];
    size_t n;
};

static void ev_add(struct evs *v, const struct hkey *k, struct event_draft d, uint8_t *id)
{
    uint8_t dummy[HEARTH_ID_LEN];
    hbuf_init(&v->env[v->n], HEARTH_MAX_EVENT);
    assert_int_equal(event_build(&d, k, &v->env[v->n], id ? id : dummy, NULL), HERR_OK);
    v->n++;
}

static void feed(struct store *s, const struct evs *v, const size_t *order)
{
    for (size_t i = 0; i < v->n; i++) {
        struct store_blob b = {v->env[order[i]].data, v->env[order[i]].len};
        struct ingest_result r;
        assert_int_equal(store_ingest(s, &b, 1, &r, NULL), HERR_OK);
        assert_true(r.err == HERR_OK || r.err == HERR_DUPLICATE);
    }
}

/* A moderator's hide and its revocation, a ban after the banned author's post:
 * whatever order they arrive in, the replicas agree. */
static void test_races_agree(void **state)
{
    struct fx *a = fx_forum("care_race_a", &F, 0, 0);
    struct evs v = {0};
    uint8_t g[HEARTH_ID_LEN], p[HEARTH_ID_LEN], d1[HEARTH_ID_LEN], d2[HEARTH_ID_LEN];
    struct event_draft gd = {.kind = EK_ROLE, .forum = a->forum, .seq = 10, .created = 100};
    gd.b.subject = B.pk, gd.b.role = S("moderator"), gd.b.has_grant = true, gd.b.grant = true;
    ev_add(&v, &F, gd, g);
    struct event_draft pd = {
        .kind = EK_POST, .forum = a->forum, .seq = 1, .created = 110, .ref = a->board};
    pd.b.title = S("t"), pd.b.text = S("x");
    ev_add(&v, &C, pd, p);
    struct event_draft hd = {.kind = EK_MOD, .forum = a->forum, .seq = 1, .created = 120, .ref = p};
    hd.b.action = S("hide"), hd.b.reason = S("r");
    ev_add(&v, &B, hd, NULL); /* valid: before the revocation's until */
    struct event_draft rd = {
        .kind = EK_ROLE, .forum = a->forum, .seq = 11, .created = 130, .ref = g};
    rd.b.subject = B.pk, rd.b.role = S("moderator"), rd.b.has_grant = true, rd.b.grant = false;
    rd.b.has_until = true, rd.b.until = 1;
    ev_add(&v, &F, rd, NULL);
    struct event_draft ud = hd;
    ud.seq = 2, ud.created = 140, ud.b.action = S("unhide");
    ev_add(&v, &B, ud, NULL); /* after the revocation: no effect */
    struct event_draft bd = {.kind = EK_MOD, .forum = a->forum, .seq = 3, .created = 150};
    bd.b.action = S("ban"), bd.b.reason = S("r"), bd.b.subject = C.pk;
    ev_add(&v, &B, bd, NULL); /* after the revocation: no effect */
    const size_t fwd[] = {0, 1, 2, 3, 4, 5}, back[] = {5, 4, 3, 2, 1, 0};
    feed(a->s, &v, fwd);
    assert_int_equal(status(a, NULL, p), -1);
    assert_int_equal(store_view_digest(a->s, d1), HERR_OK);
    struct fx *b = fx_empty("care_race_b");
    assert_int_equal(store_set_forum(b->s, a->forum), HERR_OK);
    feed(b->s, &v, back);
    /* b lacks a's genesis and board: bring them over. */
    struct hbuf env;
    hbuf_init(&env, HEARTH_MAX_EVENT);
    const uint8_t *heads[2] = {a->forum, a->board};
    for (int i = 0; i < 2; i++) {
        hbuf_reset(&env);
        assert_int_equal(store_get(a->s, heads[i], &env), HERR_OK);
        struct store_blob blob = {env.data, env.len};
        struct ingest_result r;
        assert_int_equal(store_ingest(b->s, &blob, 1, &r, NULL), HERR_OK);
    }
    hbuf_release(&env);
    memcpy(b->board, a->board, HEARTH_ID_LEN);
    assert_int_equal(status(b, NULL, p), -1);
    assert_int_equal(status(b, &F, p), POST_HIDDEN);
    assert_int_equal(store_view_digest(b->s, d2), HERR_OK);
    assert_memory_equal(d1, d2, HEARTH_ID_LEN);
    for (size_t i = 0; i < v.n; i++)
        hbuf_release(&v.env[i]);
    fx_free(a);
    fx_free(b);
}

int main(void)
{
    uint8_t seed[32];
    if (crypto_start())
        return 1;
    testutil_seed(seed, 11);
    hkey_from_seed(&F, seed);
    testutil_seed(seed, 12);
    hkey_from_seed(&A, seed);
    testutil_seed(seed, 13);
    hkey_from_seed(&B, seed);
    testutil_seed(seed, 14);
    hkey_from_seed(&C, seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_and_refusals),
        cmocka_unit_test(test_revocation_keeps_the_past),
        cmocka_unit_test(test_hide_unhide_by_time),
        cmocka_unit_test(test_remove_purges),
        cmocka_unit_test(test_lock_and_pin),
        cmocka_unit_test(test_ban),
        cmocka_unit_test(test_hold_and_approve),
        cmocka_unit_test(test_approve_before_post),
        cmocka_unit_test(test_hold_turned_on_keeps_the_past),
        cmocka_unit_test(test_flags_hide_until_review),
        cmocka_unit_test(test_queue_flag_after_approval),
        cmocka_unit_test(test_own_post_state),
        cmocka_unit_test(test_noop_actions),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_resources),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_races_agree),
        cmocka_unit_test(test_edit_purges),
        cmocka_unit_test(test_future_post_sinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

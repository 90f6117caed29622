/* ingest.c - adding events: store_ingest (from peers, bundles) and store_publish
 * (a person's new event).
 *
 * Signature verification is the bottleneck of ingest, so a batch is parsed and
 * verified on every core while the calling thread applies events in order: helpers
 * claim small chunks of the batch from an atomic cursor, and the calling thread, when
 * the event it needs next is not ready yet, claims and checks a chunk itself instead
 * of waiting. SQLite is only ever touched from the calling thread, which is why an
 * event is known to be a duplicate only after its signature was checked: a peer that
 * follows the protocol rarely sends one, and a duplicate-heavy bundle costs
 * verification time, not correctness.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

#define VERIFY_CHUNK 4
#define VERIFY_MIN_PARALLEL 32 /* smaller batches are verified inline */
#define VERIFY_MAX_THREADS 15

/* One offered event on its way through a batch. */
struct slot {
    const struct store_blob *env;
    struct ingest_result *res; /* parse errors are written here by the checker */
    struct event ev;
    bool parsed;
    herr vres;        /* the signature's verdict */
    atomic_bool done; /* parsed and verified: the fields above are ready */
};

struct verify_job {
    struct slot *slots;
    size_t n;
    atomic_size_t next;
};

/* check_one - parse and verify one offered event (any thread: no SQLite here). */
static void check_one(struct slot *sl)
{
    struct ingest_result *r = sl->res;
    herr e = event_parse(&sl->ev, sl->env->p, sl->env->n, &r->why);
    if (e) {
        r->err = e;
        return;
    }
    sl->parsed = true;
    r->has_id = true;
    memcpy(r->id, sl->ev.id, HEARTH_ID_LEN);
    sl->vres = event_verify(&sl->ev);
}

static void verify_run(struct verify_job *j, size_t i, size_t count)
{
    size_t end = i + count < j->n ? i + count : j->n;
    for (; i < end; i++) {
        check_one(&j->slots[i]);
        atomic_store_explicit(&j->slots[i].done, true, memory_order_release);
    }
}

/* verify_claim - claim the next `count` events; false when none is left. */
static bool verify_claim(struct verify_job *j, size_t count, size_t *i)
{
    if (atomic_load_explicit(&j->next, memory_order_relaxed) >= j->n)
        return false;
    *i = atomic_fetch_add_explicit(&j->next, count, memory_order_relaxed);
    return *i < j->n;
}

static void *verify_thread(void *arg)
{
    struct verify_job *j = arg;
    size_t i;
    while (verify_claim(j, VERIFY_CHUNK, &i))
        verify_run(j, i, VERIFY_CHUNK);
    return NULL;
}

/* verify_wait - until slot i is ready. Meanwhile the calling thread checks events
 * itself, one at a time, so that it never takes on more than it must: it also has
 * all of the SQLite work to do. */
static void verify_wait(struct verify_job *j, size_t i)
{
    size_t c;
    while (!atomic_load_explicit(&j->slots[i].done, memory_order_acquire)) {
        if (verify_claim(j, 1, &c))
            verify_run(j, c, 1);
        else
            sched_yield();
    }
}

/* verify_start - start helpers for a batch; returns how many started. */
static unsigned verify_start(struct store *s, struct verify_job *j, pthread_t *tids)
{
    unsigned want = s->ncpu > 1 ? s->ncpu - 1 : 0;
    if (want > VERIFY_MAX_THREADS)
        want = VERIFY_MAX_THREADS;
    if (j->n < VERIFY_MIN_PARALLEL)
        want = 0;
    unsigned got = 0;
    while (got < want && pthread_create(&tids[got], NULL, verify_thread, j) == 0)
        got++;
    return got;
}

/* ---- one event ---- */

/* arrival_of - where the event `id` is held, 0 when it is not. */
static herr arrival_of(struct store *s, const uint8_t *id, int64_t *arrival, bool *purged)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_EV_HAS);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, id);
    int n = sq_step(s, q, &e, "cannot look an event up");
    *arrival = n > 0 ? sqlite3_column_int64(q, 0) : 0;
    if (purged)
        *purged = n > 0 && sqlite3_column_int(q, 1) != 0;
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : HERR_OK;
}

static herr waiters_of(struct store *s, const uint8_t *id, struct i64vec *w)
{
    if (!s->any_waiting)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, Q_WAIT_LIST);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, id);
    return sq_collect(s, q, w, "cannot read waiting events");
}

/* insert_row - the events row; *arrival gets its number. HERR_DUPLICATE when held.
 * x->author is the person the event counts for, signer the key that signed it. */
static herr insert_row(struct store *s, const struct event *x, const uint8_t *signer,
                       int64_t ref_ev, int64_t *arrival)
{
    sqlite3_stmt *q = sq(s, Q_EV_INSERT);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, x->id);
    sqlite3_bind_blob(q, 2, x->author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (int64_t)x->seq);
    sqlite3_bind_int64(q, 4, (int64_t)x->created);
    sqlite3_bind_int(q, 5, (int)x->kind);
    if (x->has_root)
        sq_bind_id(q, 6, x->root);
    if (x->has_ref)
        sq_bind_id(q, 7, x->ref);
    if (ref_ev)
        sqlite3_bind_int64(q, 8, ref_ev);
    sqlite3_bind_int64(q, 9, x->body_len);
    sqlite3_bind_blob(q, 10, x->header, (int)x->header_len, SQLITE_STATIC);
    sqlite3_bind_blob(q, 11, x->sig, HEARTH_SIG_LEN, SQLITE_STATIC);
    if (x->body)
        sqlite3_bind_blob(q, 12, x->body, (int)x->body_len, SQLITE_STATIC);
    if (memcmp(signer, x->author, HEARTH_PK_LEN) != 0) /* NULL: its person signed it */
        sqlite3_bind_blob(q, 13, signer, HEARTH_PK_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return HERR_DUPLICATE;
    if (rc != SQLITE_DONE)
        return store_sqlerr(s, rc, "cannot store an event");
    *arrival = sqlite3_last_insert_rowid(s->db);
    return viewsum_event_added(s, x, signer, *arrival);
}

/* link_waiting - point the events that waited for `id` at its arrival, or make x wait for
 * its own target. */
static herr link_waiting(struct store *s, const struct event *x, int64_t arrival, int64_t ref_ev,
                         const struct i64vec *w)
{
    herr e = HERR_OK;
    sqlite3_stmt *q;
    if (x->has_ref && !ref_ev) {
        if (!(q = sq(s, Q_WAIT_ADD)))
            return HERR_IO;
        sq_bind_id(q, 1, x->ref);
        sqlite3_bind_int64(q, 2, arrival);
        e = sq_exec(s, q, "cannot record a waiting event");
        s->any_waiting = true;
    }
    for (size_t i = 0; i < w->n && !e; i++) {
        if (!(q = sq(s, Q_EV_SET_REF)))
            return HERR_IO;
        sqlite3_bind_int64(q, 1, w->v[i]);
        sqlite3_bind_int64(q, 2, arrival);
        e = sq_exec(s, q, "cannot link a waiting event");
    }
    if (!e && w->n) {
        if (!(q = sq(s, Q_WAIT_DEL)))
            return HERR_IO;
        sq_bind_id(q, 1, x->id);
        e = sq_exec(s, q, "cannot link a waiting event");
    }
    return e;
}

static herr insert_linked(struct store *s, const struct event *ev, const struct i64vec *w)
{
    bool purge;
    int64_t arrival = 0;
    struct view_target ref = {0};
    struct event x = *ev; /* as the view sees it: by the person the signer counts for */
    herr e = dev_person(s, ev->author, ev->seq, x.author);
    if (!e)
        e = view_must_purge(s, &x, 0, w->n > 0, &purge);
    if (!e && ev->has_ref)
        e = view_target_find(s, ev->ref, &ref);
    if (e)
        return e;
    int64_t ref_ev = ref.held ? ref.ev : 0;
    if (purge) {
        x.body = NULL;
        memset(&x.b, 0, sizeof x.b);
    }
    e = insert_row(s, &x, ev->author, ref_ev, &arrival);
    if (!e)
        e = link_waiting(s, &x, arrival, ref_ev, w);
    if (!e)
        e = view_apply(s, arrival, &ref, &x, VIEW_FRESH | (w->n ? VIEW_REFERENCED : 0));
    return e;
}

herr ingest_insert(struct store *s, const struct event *ev)
{
    struct i64vec w = {0};
    herr e = waiters_of(s, ev->id, &w);
    if (!e)
        e = insert_linked(s, ev, &w);
    i64vec_release(&w);
    return e;
}

/* restore - a held event arrived again with the body we lack: keep it unless a
 * purge is in force for it. */
static herr restore(struct store *s, const struct event *ev)
{
    int64_t arrival;
    bool lacking, purge = false;
    struct event x = *ev;
    if (!ev->body)
        return HERR_OK;
    herr e = arrival_of(s, ev->id, &arrival, &lacking);
    if (e || !arrival || !lacking)
        return e;
    e = dev_person(s, ev->author, ev->seq, x.author);
    if (!e)
        e = view_must_purge(s, &x, arrival, true, &purge);
    if (e || purge)
        return e;
    sqlite3_stmt *q = sq(s, Q_EV_RESTORE);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, arrival);
    sqlite3_bind_blob(q, 2, ev->body, (int)ev->body_len, SQLITE_STATIC);
    e = sq_exec(s, q, "cannot restore a body");
    struct view_target none = {0};
    return e ? e : view_apply(s, arrival, &none, &x, VIEW_REFERENCED);
}

/* ---- a batch ---- */

static void reject(struct ingest_result *r, herr e, const char *why)
{
    r->err = e;
    r->why = why;
}

static herr bind_forum(struct store *s, const struct event *ev)
{
    sqlite3_stmt *q = sq(s, Q_FORUM_SET);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, ev->id);
    herr e = sq_exec(s, q, "cannot bind the forum");
    if (!e) {
        s->has_forum = true;
        memcpy(s->forum, ev->id, HEARTH_ID_LEN);
    }
    return e;
}

/* admit - the in-order step for one checked event. Only local errors return. A
 * duplicate shows when its insert meets the unique index on id; an event already
 * held is of this forum, so the forum checks cannot misreport one. */
static herr admit(struct store *s, struct slot *sl, struct ingest_result *r, size_t *accepted)
{
    herr e;
    if (!sl->parsed)
        return HERR_OK;
    if (sl->vres) {
        reject(r, HERR_BAD_SIG, "signature does not verify");
        return HERR_OK;
    }
    if (!s->has_forum && sl->ev.kind != EK_GENESIS) {
        reject(r, HERR_STATE, "replica has no forum yet");
        return HERR_OK;
    }
    if (!s->has_forum && (e = bind_forum(s, &sl->ev)) != HERR_OK)
        return e;
    if (event_check_forum(&sl->ev, s->forum) != HERR_OK) {
        reject(r, HERR_WRONG_FORUM, "event of another forum");
        return HERR_OK;
    }
    e = ingest_insert(s, &sl->ev);
    if (e == HERR_DUPLICATE) {
        reject(r, HERR_DUPLICATE, "already held");
        return restore(s, &sl->ev);
    }
    if (!e)
        (*accepted)++;
    return e;
}

static herr ingest_batch(struct store *s, const struct store_blob *envs, size_t n,
                         struct ingest_result *res, struct slot *slots, size_t *accepted)
{
    herr e = HERR_OK;
    for (size_t i = 0; i < n; i++) {
        slots[i].env = &envs[i];
        slots[i].res = &res[i];
    }
    struct verify_job j = {.slots = slots, .n = n};
    pthread_t tids[VERIFY_MAX_THREADS];
    atomic_init(&j.next, 0);
    unsigned nt = verify_start(s, &j, tids);
    for (size_t i = 0; i < n && !e; i++) {
        verify_wait(&j, i);
        e = admit(s, &slots[i], &res[i], accepted);
    }
    atomic_store(&j.next, n); /* on failure: stop the helpers early */
    for (unsigned t = 0; t < nt; t++)
        pthread_join(tids[t], NULL);
    return e;
}

herr store_ingest(struct store *s, const struct store_blob *envs, size_t n,
                  struct ingest_result *res, size_t *accepted)
{
    size_t ok = 0;
    s->err[0] = '\0';
    if (accepted)
        *accepted = 0;
    memset(res, 0, n * sizeof *res);
    if (n == 0)
        return HERR_OK;
    struct slot *slots = calloc(n, sizeof *slots);
    if (!slots)
        return store_fail(s, HERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        atomic_init(&slots[i].done, false);
    herr e = store_write_begin(s);
    if (!e)
        e = store_write_end(s, ingest_batch(s, envs, n, res, slots, &ok));
    free(slots);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++) {
        if (res[i].err == HERR_OK)
            s->tally.accepted++;
        else if (res[i].err == HERR_DUPLICATE)
            s->tally.duplicate++;
        else if ((unsigned)res[i].err < HERR_COUNT)
            s->tally.rejected[res[i].err]++;
    }
    if (accepted)
        *accepted = ok;
    return HERR_OK;
}

void store_ingest_tally(const struct store *s, struct store_ingest_tally *out)
{
    *out = s->tally;
}

/* ---- publishing ---- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static herr author_max(struct store *s, enum q which, const uint8_t *author, const uint8_t *person,
                       uint64_t *v)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, which);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
    if (person)
        sqlite3_bind_blob(q, 2, person, HEARTH_PK_LEN, SQLITE_STATIC);
    int n = sq_step(s, q, &e, "cannot read the author's events");
    if (n < 0)
        return e;
    *v = n > 0 ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
    if (n > 0)
        sqlite3_reset(q);
    return HERR_OK;
}

/* stamp - the next seq of k's author, and a time never before their last event. A
 * device numbers its events above every seq of its person's that the node holds, so
 * that (seq, id) order (edits, profiles) follows the person across devices. */
static herr stamp(struct store *s, const struct hkey *k, struct event_draft *d)
{
    uint64_t seq = 0, last = 0; /* set by author_max on success; gcc -O2 cannot tell */
    uint8_t person[HEARTH_PK_LEN];
    herr e = dev_subject(s, k->pk, person);
    if (!e)
        e = author_max(s, Q_EV_MAX_SEQ, k->pk, person, &seq);
    if (!e)
        e = author_max(s, Q_EV_MAX_CREATED, k->pk, NULL, &last);
    if (e)
        return e;
    if (seq >= HEARTH_MAX_SEQ)
        return store_fail(s, HERR_INVALID, "this key has used up its sequence numbers");
    d->seq = seq + 1;
    d->created = now_ms();
    if (d->created < last)
        d->created = last;
    d->forum = d->kind == EK_GENESIS ? NULL : s->forum;
    return HERR_OK;
}

static herr publish_locked(struct store *s, const struct hkey *k, const struct event_draft *draft,
                           struct hbuf *buf, uint8_t id[HEARTH_ID_LEN])
{
    struct event_draft d = *draft;
    struct event ev;
    const char *why;
    if (d.kind == EK_GENESIS && s->has_forum)
        return store_fail(s, HERR_STATE, "replica already belongs to a forum");
    if (d.kind != EK_GENESIS && !s->has_forum)
        return store_fail(s, HERR_STATE, "replica has no forum yet");
    herr e = store_restored(s, NULL);
    if (e == HERR_OK)
        return store_fail(
            s, HERR_STATE,
            "restored from a backup and not synced with a peer since: signing now could "
            "fork its authors (sync with a peer first, or run 'hearth restore "
            "--confirm' if nothing was signed after the backup)");
    if (e != HERR_NOT_FOUND)
        return e;
    s->err[0] = '\0';
    e = stamp(s, k, &d);
    if (!e)
        e = rules_prepare(s, k->pk, &d);
    if (!e && (e = event_build(&d, k, buf, id, &why)) != HERR_OK)
        return store_fail(s, e, "cannot build the event: %s", why);
    if (e)
        return e;
    if ((e = event_parse(&ev, buf->data, buf->len, &why)) != HERR_OK)
        return store_fail(s, e, "cannot parse the built event: %s", why);
    struct event pev = ev; /* the rules judge the person the key counts for */
    e = dev_person(s, ev.author, ev.seq, pev.author);
    if (!e)
        e = rules_check_publish(s, &pev);
    if (!e && d.kind == EK_GENESIS)
        e = bind_forum(s, &ev);
    if (!e)
        e = ingest_insert(s, &ev);
    if (e == HERR_DUPLICATE)
        e = store_fail(s, HERR_STATE, "an identical event is already held");
    if (!e)
        e = rules_check_effect(s, &pev);
    return e;
}

herr store_publish(struct store *s, const struct hkey *k, const struct event_draft *d,
                   uint8_t id[HEARTH_ID_LEN])
{
    struct hbuf buf;
    s->err[0] = '\0';
    hbuf_init(&buf, HEARTH_MAX_EVENT);
    herr e = store_write_begin(s);
    if (!e)
        e = store_write_end(s, publish_locked(s, k, d, &buf, id));
    hbuf_release(&buf);
    return e;
}

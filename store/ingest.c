/* ingest.c - adding events: store_ingest (from peers, bundles) and store_publish
 * (a person's new event).
 *
 * Signature verification is the bottleneck of ingest, so a batch is verified on
 * every core while the calling thread applies events in order: helpers claim small
 * chunks of the batch from an atomic cursor, and the calling thread, when the event
 * it needs next is not verified yet, claims and verifies a chunk itself instead of
 * waiting. SQLite is only ever touched from the calling thread.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

#define VERIFY_CHUNK 8
#define VERIFY_MIN_PARALLEL 32 /* smaller batches are verified inline */
#define VERIFY_MAX_THREADS 15

/* One offered event on its way through a batch. */
struct slot {
    struct event ev;
    bool parsed;
    bool held;         /* held before the batch began */
    bool held_purged;  /* ... and without its body */
    bool verify;       /* needs its signature checked */
    herr vres;         /* the signature's verdict */
    atomic_bool done;  /* vres is ready */
};

struct verify_job {
    struct slot *slots;
    size_t n;
    atomic_size_t next;
};

static void verify_chunk(struct verify_job *j, size_t i)
{
    size_t end = i + VERIFY_CHUNK < j->n ? i + VERIFY_CHUNK : j->n;
    for (; i < end; i++) {
        struct slot *sl = &j->slots[i];
        sl->vres = sl->verify && !getenv("NOVERIFY") ? event_verify(&sl->ev) : HERR_OK;
        atomic_store_explicit(&sl->done, true, memory_order_release);
    }
}

/* verify_claim - claim the next chunk; false when none is left. */
static bool verify_claim(struct verify_job *j, size_t *i)
{
    if (atomic_load_explicit(&j->next, memory_order_relaxed) >= j->n)
        return false;
    *i = atomic_fetch_add_explicit(&j->next, VERIFY_CHUNK, memory_order_relaxed);
    return *i < j->n;
}

static void *verify_thread(void *arg)
{
    struct verify_job *j = arg;
    size_t i;
    while (verify_claim(j, &i))
        verify_chunk(j, i);
    return NULL;
}

/* verify_wait - until slot i has its verdict, helping with the work meanwhile. */
static void verify_wait(struct verify_job *j, size_t i)
{
    size_t c;
    while (!atomic_load_explicit(&j->slots[i].done, memory_order_acquire)) {
        if (verify_claim(j, &c))
            verify_chunk(j, c);
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

herr ingest_insert(struct store *s, const struct event *ev)
{
    bool purge;
    herr e = view_must_purge(s, ev, &purge);
    if (e)
        return e;
    struct event x = *ev;
    if (purge) {
        x.body = NULL;
        memset(&x.b, 0, sizeof x.b);
    }
    sqlite3_stmt *q = sq(s, Q_EV_INSERT);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, x.id);
    sqlite3_bind_blob(q, 2, x.author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (int64_t)x.seq);
    sqlite3_bind_int64(q, 4, (int64_t)x.created);
    sqlite3_bind_int(q, 5, (int)x.kind);
    if (x.has_root)
        sq_bind_id(q, 6, x.root);
    if (x.has_ref)
        sq_bind_id(q, 7, x.ref);
    sqlite3_bind_int64(q, 8, x.body_len);
    sqlite3_bind_blob(q, 9, x.header, (int)x.header_len, SQLITE_STATIC);
    sqlite3_bind_blob(q, 10, x.sig, HEARTH_SIG_LEN, SQLITE_STATIC);
    if (x.body)
        sqlite3_bind_blob(q, 11, x.body, (int)x.body_len, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return HERR_DUPLICATE;
    if (rc != SQLITE_DONE)
        return store_sqlerr(s, rc, "cannot store an event");
    return view_apply(s, sqlite3_last_insert_rowid(s->db), &x, true);
}

/* restore - a held event arrived again with the body we lack: keep it unless a
 * purge is in force for it. */
static herr restore(struct store *s, const struct event *ev)
{
    herr e = HERR_OK;
    bool purge;
    if (!ev->body)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, Q_EV_HAS);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, ev->id);
    int n = sq_step(s, q, &e, "cannot read an event");
    if (n <= 0)
        return e;
    int64_t arrival = sqlite3_column_int64(q, 0);
    bool lacking = sqlite3_column_int(q, 1) != 0;
    sqlite3_reset(q);
    if (!lacking)
        return HERR_OK;
    e = view_must_purge(s, ev, &purge);
    if (e || purge)
        return e;
    if ((q = sq(s, Q_EV_RESTORE)) == NULL)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, arrival);
    sqlite3_bind_blob(q, 2, ev->body, (int)ev->body_len, SQLITE_STATIC);
    e = sq_exec(s, q, "cannot restore a body");
    return e ? e : view_apply(s, arrival, ev, false);
}

/* ---- a batch ---- */

static void reject(struct ingest_result *r, herr e, const char *why)
{
    r->err = e;
    r->why = why;
}

/* prepare - parse one envelope and see whether it is held already. */
static herr prepare(struct store *s, const struct store_blob *env, struct slot *sl,
                    struct ingest_result *r)
{
    herr e = event_parse(&sl->ev, env->p, env->n, &r->why);
    if (e) {
        r->err = e;
        return HERR_OK;
    }
    sl->parsed = true;
    r->has_id = true;
    memcpy(r->id, sl->ev.id, HEARTH_ID_LEN);
    sqlite3_stmt *q = sq(s, Q_EV_HAS);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, sl->ev.id);
    int n = sq_step(s, q, &e, "cannot look an event up");
    if (n < 0)
        return e;
    sl->held = n > 0;
    if (n > 0) {
        sl->held_purged = sqlite3_column_int(q, 1) != 0;
        sqlite3_reset(q);
    }
    sl->verify = !sl->held;
    return HERR_OK;
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

/* admit - the in-order step for one verified event. Only local errors return. */
static herr admit(struct store *s, struct slot *sl, struct ingest_result *r, size_t *accepted)
{
    herr e;
    if (!sl->parsed)
        return HERR_OK;
    if (sl->held) {
        reject(r, HERR_DUPLICATE, "already held");
        return sl->held_purged ? restore(s, &sl->ev) : HERR_OK;
    }
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
    for (size_t i = 0; i < n && !e; i++)
        e = prepare(s, &envs[i], &slots[i], &res[i]);
    if (e)
        return e;
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
    if (accepted)
        *accepted = ok;
    return HERR_OK;
}

/* ---- publishing ---- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static herr author_max(struct store *s, enum q which, const uint8_t *author, uint64_t *v)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, which);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
    int n = sq_step(s, q, &e, "cannot read the author's events");
    if (n < 0)
        return e;
    *v = n > 0 ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
    if (n > 0)
        sqlite3_reset(q);
    return HERR_OK;
}

/* stamp - the next seq of k's author, and a time never before their last event. */
static herr stamp(struct store *s, const struct hkey *k, struct event_draft *d)
{
    uint64_t seq, last;
    herr e = author_max(s, Q_EV_MAX_SEQ, k->pk, &seq);
    if (!e)
        e = author_max(s, Q_EV_MAX_CREATED, k->pk, &last);
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
    herr e = stamp(s, k, &d);
    if (!e && (e = event_build(&d, k, buf, id, &why)) != HERR_OK)
        return store_fail(s, e, "cannot build the event: %s", why);
    if (!e && (e = event_parse(&ev, buf->data, buf->len, &why)) != HERR_OK)
        return store_fail(s, e, "cannot parse the built event: %s", why);
    if (!e)
        e = rules_check_publish(s, &ev);
    if (!e && d.kind == EK_GENESIS)
        e = bind_forum(s, &ev);
    if (!e)
        e = ingest_insert(s, &ev);
    if (e == HERR_DUPLICATE)
        e = store_fail(s, HERR_STATE, "an identical event is already held");
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

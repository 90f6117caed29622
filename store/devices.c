/* devices.c - one person, many devices: which key counts for whom.
 *
 * A person is a key that certifies other keys as its devices with device events
 * (docs/EVENTS.md, "device"). The devices table is a function of the set of device
 * events, recomputed whole whenever one arrives (they are few):
 *
 * - an add by P of D (with D's proof, checked by event_parse) certifies D for P;
 * - D is P's device when P is the only key that certified it, P is certified by no
 *   key (a person is a root, not a device) and D certified no key;
 * - a revocation by P of D sets D's `until`: the smallest `until` of P's revocations
 *   of D (a revocation without one: 0). D's events with seq <= until count as P's,
 *   later ones as D's own, an author the view treats as banned (care_banned).
 *
 * events.author holds the person (what the whole view reads), events.signer the key
 * that signed, or NULL when that is the person's own (SIGNED_BY in store_int.h);
 * dev_recompute rewrites both for the keys whose mapping changed.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/code32.h"
#include "store/store_int.h"

herr dev_person(struct store *s, const uint8_t key[HEARTH_PK_LEN], uint64_t seq,
                uint8_t out[HEARTH_PK_LEN])
{
    herr e = HERR_OK;
    uint8_t person[HEARTH_PK_LEN];
    memcpy(person, key, HEARTH_PK_LEN);
    sqlite3_stmt *q = sq(s, Q_DEV_GET);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, key, HEARTH_PK_LEN, SQLITE_STATIC);
    int n = sq_step(s, q, &e, "cannot read devices");
    if (n > 0) {
        if (seq == UINT64_MAX || sqlite3_column_type(q, 1) == SQLITE_NULL ||
            seq <= (uint64_t)sqlite3_column_int64(q, 1))
            memcpy(person, sqlite3_column_blob(q, 0), HEARTH_PK_LEN);
        sqlite3_reset(q);
    }
    if (n < 0)
        return e;
    memcpy(out, person, HEARTH_PK_LEN);
    return HERR_OK;
}

herr dev_subject(struct store *s, const uint8_t key[HEARTH_PK_LEN], uint8_t out[HEARTH_PK_LEN])
{
    return dev_person(s, key, UINT64_MAX, out);
}

/* One device event, the parts the mapping needs. */
struct devev {
    uint8_t author[HEARTH_PK_LEN], subject[HEARTH_PK_LEN];
    bool add;
    uint64_t until;
};

struct devrow {
    uint8_t device[HEARTH_PK_LEN], person[HEARTH_PK_LEN];
    bool revoked;
    uint64_t until;
};

static int devrow_cmp(const void *a, const void *b)
{
    return memcmp(((const struct devrow *)a)->device, ((const struct devrow *)b)->device,
                  HEARTH_PK_LEN);
}

/* dev_each_event - every device event held, parsed, in Q_DEV_EVENTS's order, offered to
 * fill(), which copies what it keeps into `slot` (an element of size bytes) and says
 * whether it kept it; *out holds the *n kept (the caller frees it, also on error). */
herr dev_each_event(struct store *s, size_t size,
                    bool (*fill)(void *slot, const struct event *x, const void *arg),
                    const void *arg, void **out, size_t *n)
{
    struct i64vec evs = {0};
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q = sq(s, Q_DEV_EVENTS);
    herr e = q ? sq_collect(s, q, &evs, "cannot list device events") : HERR_IO;
    if (!e && evs.n && !(*out = calloc(evs.n, size)))
        e = store_fail(s, HERR_NOMEM, "out of memory");
    for (size_t i = 0; i < evs.n && !e; i++) {
        struct event x;
        if (!(q = sq(s, Q_EV_PARTS))) {
            e = HERR_IO;
            break;
        }
        sqlite3_bind_int64(q, 1, evs.v[i]);
        int r = sq_step(s, q, &e, "cannot read a device event");
        if (r <= 0) {
            e = r < 0 ? e : store_fail(s, HERR_CORRUPT, "a device event is missing");
            break;
        }
        e = stored_event_parse(s, q, 0, &x);
        sqlite3_reset(q);
        if (!e && fill((char *)*out + *n * size, &x, arg))
            (*n)++;
    }
    i64vec_release(&evs);
    return e;
}

static bool fill_devev(void *slot, const struct event *x, const void *arg)
{
    struct devev *d = slot;
    (void)arg;
    if (!x->b.has_grant) /* a pairing request: no effect */
        return false;
    memcpy(d->author, x->author, HEARTH_PK_LEN);
    memcpy(d->subject, x->b.subject, HEARTH_PK_LEN);
    d->add = x->b.grant;
    d->until = x->b.has_until ? x->b.until : 0;
    return true;
}

static herr load_events(struct store *s, struct devev **out, size_t *n)
{
    void *v;
    herr e = dev_each_event(s, sizeof **out, fill_devev, NULL, &v, n);
    *out = v;
    return e;
}

/* compute - the devices the events make (see the top of this file). */
static herr compute(struct store *s, const struct devev *v, size_t n, struct devrow **rows,
                    size_t *nrows)
{
    *rows = n ? calloc(n, sizeof **rows) : NULL;
    *nrows = 0;
    if (n && !*rows)
        return store_fail(s, HERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!v[i].add)
            continue;
        bool ok = true, seen = false;
        for (size_t j = 0; j < n && ok; j++) {
            if (!v[j].add)
                continue;
            if (!memcmp(v[j].subject, v[i].subject, HEARTH_PK_LEN) &&
                memcmp(v[j].author, v[i].author, HEARTH_PK_LEN))
                ok = false; /* a second person certified it */
            if (!memcmp(v[j].subject, v[i].author, HEARTH_PK_LEN))
                ok = false; /* the person is itself a device */
            if (!memcmp(v[j].author, v[i].subject, HEARTH_PK_LEN))
                ok = false; /* the device certified a key */
        }
        for (size_t k = 0; k < *nrows && ok; k++)
            if (!memcmp((*rows)[k].device, v[i].subject, HEARTH_PK_LEN))
                seen = true; /* the same add twice */
        if (!ok || seen)
            continue;
        struct devrow *r = &(*rows)[(*nrows)++];
        memcpy(r->device, v[i].subject, HEARTH_PK_LEN);
        memcpy(r->person, v[i].author, HEARTH_PK_LEN);
        for (size_t j = 0; j < n; j++) {
            if (v[j].add || memcmp(v[j].subject, r->device, HEARTH_PK_LEN) ||
                memcmp(v[j].author, r->person, HEARTH_PK_LEN))
                continue;
            if (!r->revoked || v[j].until < r->until)
                r->until = v[j].until;
            r->revoked = true;
        }
    }
    if (*nrows > 1)
        qsort(*rows, *nrows, sizeof **rows, devrow_cmp);
    return HERR_OK;
}

static herr load_rows(struct store *s, struct devrow **rows, size_t *n)
{
    herr e = HERR_OK;
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *q = sq(s, Q_DEV_ALL);
    if (!q)
        return HERR_IO;
    int r;
    while ((r = sq_step(s, q, &e, "cannot read devices")) > 0) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            struct devrow *v = realloc(*rows, cap * sizeof *v);
            if (!v) {
                sqlite3_reset(q);
                return store_fail(s, HERR_NOMEM, "out of memory");
            }
            *rows = v;
        }
        struct devrow *d = &(*rows)[(*n)++];
        memcpy(d->device, sqlite3_column_blob(q, 0), HEARTH_PK_LEN);
        memcpy(d->person, sqlite3_column_blob(q, 1), HEARTH_PK_LEN);
        d->revoked = sqlite3_column_type(q, 2) != SQLITE_NULL;
        d->until = d->revoked ? (uint64_t)sqlite3_column_int64(q, 2) : 0;
    }
    return r < 0 ? e : HERR_OK;
}

static bool row_same(const struct devrow *a, const struct devrow *b)
{
    return !memcmp(a->person, b->person, HEARTH_PK_LEN) && a->revoked == b->revoked &&
           (!a->revoked || a->until == b->until);
}

/* add_key - remember a key whose mapping changed (once). */
static herr add_key(struct store *s, struct dev_keys *k, const uint8_t *key)
{
    for (size_t i = 0; i < k->n; i++)
        if (!memcmp(k->v[i], key, HEARTH_PK_LEN))
            return HERR_OK;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 8;
        uint8_t(*v)[HEARTH_PK_LEN] = realloc(k->v, cap * sizeof *v);
        if (!v)
            return store_fail(s, HERR_NOMEM, "out of memory");
        k->v = v, k->cap = cap;
    }
    memcpy(k->v[k->n++], key, HEARTH_PK_LEN);
    return HERR_OK;
}

void dev_keys_release(struct dev_keys *k)
{
    free(k->v);
    memset(k, 0, sizeof *k);
}

/* changes - the devices and persons of rows that differ between old and new. */
static herr changes(struct store *s, const struct devrow *old, size_t nold,
                    const struct devrow *now, size_t nnow, struct dev_keys *devs,
                    struct dev_keys *persons)
{
    herr e = HERR_OK;
    size_t i = 0, j = 0;
    while (!e && (i < nold || j < nnow)) {
        int c = i == nold   ? 1
                : j == nnow ? -1
                            : memcmp(old[i].device, now[j].device, HEARTH_PK_LEN);
        const struct devrow *a = c <= 0 ? &old[i] : NULL, *b = c >= 0 ? &now[j] : NULL;
        if (!a || !b || !row_same(a, b)) {
            e = add_key(s, devs, c <= 0 ? old[i].device : now[j].device);
            if (!e && a)
                e = add_key(s, persons, a->person);
            if (!e && b)
                e = add_key(s, persons, b->person);
        }
        i += c <= 0;
        j += c >= 0;
    }
    return e;
}

static herr write_rows(struct store *s, const struct devrow *rows, size_t n)
{
    sqlite3_stmt *q = sq(s, Q_DEV_CLEAR);
    herr e = q ? sq_exec(s, q, "cannot update devices") : HERR_IO;
    s->any_revoked = false;
    for (size_t i = 0; i < n && !e; i++) {
        if (!(q = sq(s, Q_DEV_PUT)))
            return HERR_IO;
        sqlite3_bind_blob(q, 1, rows[i].device, HEARTH_PK_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, rows[i].person, HEARTH_PK_LEN, SQLITE_STATIC);
        if (rows[i].revoked)
            sqlite3_bind_int64(q, 3, (int64_t)rows[i].until);
        s->any_revoked = s->any_revoked || rows[i].revoked;
        e = sq_exec(s, q, "cannot update devices");
    }
    return e;
}

/* remap - rewrite the person of every event a changed device signed. */
static herr remap(struct store *s, const struct dev_keys *devs)
{
    static const enum q steps[] = {Q_DEV_REMAP, Q_DEV_REMAP_REACTS, Q_DEV_REMAP_FLAGS,
                                   Q_DEV_REMAP_BOARDS};
    herr e = HERR_OK;
    for (size_t i = 0; i < devs->n && !e; i++)
        for (size_t k = 0; k < sizeof steps / sizeof steps[0] && !e; k++) {
            sqlite3_stmt *q = sq(s, steps[k]);
            if (!q)
                return HERR_IO;
            sqlite3_bind_blob(q, 1, devs->v[i], HEARTH_PK_LEN, SQLITE_STATIC);
            e = sq_exec(s, q, "cannot update the authors of a device");
        }
    sqlite3_stmt *q = e ? NULL : sq(s, Q_DEV_REMAP_MODS);
    if (!e && !q)
        return HERR_IO;
    return e ? e : sq_exec(s, q, "cannot update the subjects of bans");
}

herr dev_recompute(struct store *s, struct dev_keys *devs, struct dev_keys *persons)
{
    struct devev *v = NULL;
    struct devrow *old = NULL, *now = NULL;
    size_t n = 0, nold = 0, nnow = 0;
    herr e = load_events(s, &v, &n);
    if (!e)
        e = compute(s, v, n, &now, &nnow);
    if (!e)
        e = load_rows(s, &old, &nold);
    if (!e)
        e = changes(s, old, nold, now, nnow, devs, persons);
    if (!e && devs->n)
        e = write_rows(s, now, nnow);
    if (!e && devs->n)
        e = remap(s, devs);
    free(v);
    free(old);
    free(now);
    return e;
}

/* ---- the public API ---- */

static herr last_seq(struct store *s, const uint8_t *key, uint64_t *seq)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_DEV_LAST_SEQ);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, key, HEARTH_PK_LEN, SQLITE_STATIC);
    int n = sq_step(s, q, &e, "cannot read a key's events");
    *seq = n > 0 ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : HERR_OK;
}

herr store_key_last_seq(struct store *s, const uint8_t key[HEARTH_PK_LEN], uint64_t *seq)
{
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    if (!e) {
        e = last_seq(s, key, seq);
        store_read_end(s);
    }
    return e;
}

herr store_devices(struct store *s, const uint8_t *person, struct store_device **out, size_t *n)
{
    struct devrow *rows = NULL;
    size_t nrows = 0;
    *out = NULL;
    *n = 0;
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    if (e)
        return e;
    e = load_rows(s, &rows, &nrows);
    if (!e && nrows && !(*out = calloc(nrows, sizeof **out)))
        e = store_fail(s, HERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nrows && !e; i++) {
        if (person && memcmp(rows[i].person, person, HEARTH_PK_LEN))
            continue;
        struct store_device *d = &(*out)[(*n)++];
        memcpy(d->device, rows[i].device, HEARTH_PK_LEN);
        memcpy(d->person, rows[i].person, HEARTH_PK_LEN);
        d->revoked = rows[i].revoked;
        d->until = rows[i].until;
        e = last_seq(s, d->device, &d->last_seq);
    }
    store_read_end(s);
    free(rows);
    if (e) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return e;
}

herr store_person_of(struct store *s, const uint8_t key[HEARTH_PK_LEN],
                     uint8_t person[HEARTH_PK_LEN])
{
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    if (!e) {
        e = dev_subject(s, key, person);
        store_read_end(s);
    }
    return e;
}

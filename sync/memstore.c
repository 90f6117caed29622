/* memstore.c - the in-memory stand-in store for sync benchmarks and tests. */
#include "sync/memstore.h"

#include <stdlib.h>
#include <string.h>

#include "base/mp.h"

struct memstore {
    bool has_forum;
    uint8_t forum[HEARTH_ID_LEN];
    uint8_t (*hdr)[MEMSTORE_HEADER_LEN]; /* in arrival order: arrival = index + 1 */
    uint8_t (*id)[HEARTH_ID_LEN];
    size_t n, cap;
    uint32_t *table; /* open addressing on the key's first 8 bytes: index + 1, 0 empty */
    size_t tmask;
    uint32_t *by_id; /* indexes in id order, for stream and ids_in_order; built on demand */
    size_t by_id_n;  /* the events by_id covers: it is stale when below n */
};

static uint64_t slot_of(const uint8_t *key)
{
    uint64_t v;
    memcpy(&v, key, sizeof v);
    return v;
}

/* The index of the event whose id starts with the first `len` bytes of key, or -1. */
static long find(const struct memstore *m, const uint8_t *key, size_t len)
{
    if (!m->table)
        return -1;
    for (uint64_t i = slot_of(key) & m->tmask;; i = (i + 1) & m->tmask) {
        uint32_t t = m->table[i];
        if (t == 0)
            return -1;
        if (memcmp(m->id[t - 1], key, len) == 0)
            return (long)t - 1;
    }
}

static herr rehash(struct memstore *m, size_t cap)
{
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return HERR_NOMEM;
    free(m->table);
    m->table = t;
    m->tmask = cap - 1;
    for (size_t k = 0; k < m->n; k++) {
        uint64_t i = slot_of(m->id[k]) & m->tmask;
        while (t[i])
            i = (i + 1) & m->tmask;
        t[i] = (uint32_t)k + 1;
    }
    return HERR_OK;
}

herr memstore_new(struct memstore **out, const uint8_t forum[HEARTH_ID_LEN])
{
    struct memstore *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return HERR_NOMEM;
    if (forum) {
        m->has_forum = true;
        memcpy(m->forum, forum, HEARTH_ID_LEN);
    }
    *out = m;
    return HERR_OK;
}

herr memstore_clone(struct memstore **out, const struct memstore *m)
{
    herr e = memstore_new(out, m->has_forum ? m->forum : NULL);
    if (e)
        return e;
    struct memstore *c = *out;
    c->hdr = malloc((m->cap ? m->cap : 1) * sizeof *c->hdr);
    c->id = malloc((m->cap ? m->cap : 1) * sizeof *c->id);
    c->table = m->table ? malloc((m->tmask + 1) * sizeof *c->table) : NULL;
    if (!c->hdr || !c->id || (m->table && !c->table)) {
        memstore_destroy(out);
        return HERR_NOMEM;
    }
    if (m->n) {
        memcpy(c->hdr, m->hdr, m->n * sizeof *c->hdr);
        memcpy(c->id, m->id, m->n * sizeof *c->id);
    }
    if (m->table)
        memcpy(c->table, m->table, (m->tmask + 1) * sizeof *c->table);
    c->n = m->n;
    c->cap = m->cap;
    c->tmask = m->tmask;
    return HERR_OK;
}

void memstore_destroy(struct memstore **mp)
{
    if (!mp || !*mp)
        return;
    free((*mp)->hdr);
    free((*mp)->id);
    free((*mp)->table);
    free((*mp)->by_id);
    free(*mp);
    *mp = NULL;
}

herr memstore_add(struct memstore *m, const uint8_t header[MEMSTORE_HEADER_LEN],
                  uint8_t id_out[HEARTH_ID_LEN])
{
    uint8_t id[HEARTH_ID_LEN];
    hash_id(id, header, MEMSTORE_HEADER_LEN);
    if (id_out)
        memcpy(id_out, id, HEARTH_ID_LEN);
    if (find(m, id, HEARTH_ID_LEN) >= 0)
        return HERR_DUPLICATE;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        void *h = realloc(m->hdr, cap * sizeof *m->hdr);
        if (!h)
            return HERR_NOMEM;
        m->hdr = h;
        void *i = realloc(m->id, cap * sizeof *m->id);
        if (!i)
            return HERR_NOMEM;
        m->id = i;
        m->cap = cap;
    }
    if (2 * (m->n + 1) > (m->table ? m->tmask + 1 : 0)) {
        herr e = rehash(m, m->table ? 2 * (m->tmask + 1) : 2048);
        if (e)
            return e;
    }
    memcpy(m->hdr[m->n], header, MEMSTORE_HEADER_LEN);
    memcpy(m->id[m->n], id, HEARTH_ID_LEN);
    uint64_t i = slot_of(id) & m->tmask;
    while (m->table[i])
        i = (i + 1) & m->tmask;
    m->table[i] = (uint32_t)++m->n;
    return HERR_OK;
}

void memstore_envelope(const uint8_t header[MEMSTORE_HEADER_LEN], uint8_t env[MEMSTORE_ENV_LEN])
{
    env[0] = 0x93;
    env[1] = 0xc4;
    env[2] = MEMSTORE_HEADER_LEN;
    memcpy(env + 3, header, MEMSTORE_HEADER_LEN);
    env[3 + MEMSTORE_HEADER_LEN] = 0xc4;
    env[4 + MEMSTORE_HEADER_LEN] = 0x00;
    env[5 + MEMSTORE_HEADER_LEN] = 0xc0;
}

bool memstore_has(const struct memstore *m, const uint8_t id[HEARTH_ID_LEN])
{
    return find(m, id, HEARTH_ID_LEN) >= 0;
}

uint64_t memstore_count(const struct memstore *m)
{
    return m->n;
}

/* ---- the sync_ops ---- */

static herr ms_keys_since(void *ctx, uint64_t arrival, store_key_fn fn, void *fnctx)
{
    struct memstore *m = ctx;
    herr e = HERR_OK;
    for (uint64_t i = arrival; !e && i < m->n; i++)
        e = fn(fnctx, m->id[i], 0, i + 1);
    return e;
}

static herr ms_resolve(void *ctx, const uint8_t key[RECON_KEY_LEN], uint8_t id[HEARTH_ID_LEN])
{
    long i = find(ctx, key, RECON_KEY_LEN);
    if (i < 0)
        return HERR_NOT_FOUND;
    memcpy(id, ((struct memstore *)ctx)->id[i], HEARTH_ID_LEN);
    return HERR_OK;
}

static int cmp_by_id(const void *a, const void *b, void *ctx)
{
    const struct memstore *m = ctx;
    const long *x = a, *y = b;
    return memcmp(m->id[*x], m->id[*y], HEARTH_ID_LEN);
}

static herr ms_get_many(void *ctx, const uint8_t (*ids)[HEARTH_ID_LEN], size_t n, store_event_fn fn,
                        void *fnctx)
{
    struct memstore *m = ctx;
    long *k = malloc((n ? n : 1) * sizeof *k);
    if (!k)
        return HERR_NOMEM;
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        long j = find(m, ids[i], HEARTH_ID_LEN);
        if (j >= 0)
            k[got++] = j;
    }
    qsort_r(k, got, sizeof *k, cmp_by_id, m);
    herr e = HERR_OK;
    for (size_t i = 0; !e && i < got; i++) {
        uint8_t env[MEMSTORE_ENV_LEN];
        memstore_envelope(m->hdr[k[i]], env);
        e = fn(fnctx, env, sizeof env);
    }
    free(k);
    return e;
}

static int cmp_at_by_id(const void *a, const void *b, void *ctx)
{
    const struct memstore *m = ctx;
    const uint32_t *x = a, *y = b;
    return memcmp(m->id[*x], m->id[*y], HEARTH_ID_LEN);
}

/* Bring by_id up to date with the events held. */
static herr sort_by_id(struct memstore *m)
{
    if (m->by_id_n == m->n && m->by_id)
        return HERR_OK;
    uint32_t *v = realloc(m->by_id, (m->n ? m->n : 1) * sizeof *v);
    if (!v)
        return HERR_NOMEM;
    for (size_t i = 0; i < m->n; i++)
        v[i] = (uint32_t)i;
    qsort_r(v, m->n, sizeof *v, cmp_at_by_id, m);
    m->by_id = v;
    m->by_id_n = m->n;
    return HERR_OK;
}

/* The stand-ins have no kinds: their transfer order is id order, as in get_many. The
 * cursor keeps the last id passed. */
static herr ms_stream(void *ctx, struct store_cursor *cur, uint64_t upto, size_t max,
                      size_t max_bytes, store_stream_fn fn, void *fnctx)
{
    struct memstore *m = ctx;
    if (cur->done)
        return HERR_OK;
    herr e = sort_by_id(m);
    size_t lo = 0, hi = m->n;
    while (cur->in_class && lo < hi) { /* the first id above the cursor */
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(m->id[m->by_id[mid]], cur->id, HEARTH_ID_LEN) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t bytes = 0, passed = 0;
    for (; !e && lo < m->n && passed < max && bytes < max_bytes; lo++) {
        uint32_t k = m->by_id[lo];
        if (k + 1 > upto)
            continue;
        uint8_t env[MEMSTORE_ENV_LEN];
        memstore_envelope(m->hdr[k], env);
        memcpy(cur->id, m->id[k], HEARTH_ID_LEN);
        cur->in_class = true;
        passed++;
        bytes += sizeof env;
        e = fn(fnctx, m->id[k], env, sizeof env);
    }
    if (!e && lo == m->n)
        cur->done = true;
    return e;
}

static herr ms_ids_in_order(void *ctx, store_id_fn fn, void *fnctx)
{
    struct memstore *m = ctx;
    herr e = sort_by_id(m);
    for (size_t i = 0; !e && i < m->n; i++)
        e = fn(fnctx, m->id[m->by_id[i]], (uint64_t)m->by_id[i] + 1);
    return e;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, HEARTH_ID_LEN);
}

static herr ms_sort_ids(void *ctx, uint8_t (*ids)[HEARTH_ID_LEN], size_t *n)
{
    struct memstore *m = ctx;
    size_t held = 0;
    for (size_t i = 0; i < *n; i++)
        if (find(m, ids[i], HEARTH_ID_LEN) >= 0)
            memmove(ids[held++], ids[i], HEARTH_ID_LEN);
    qsort(ids, held, HEARTH_ID_LEN, cmp_id);
    *n = held;
    return HERR_OK;
}

static herr ms_ingest(void *ctx, const struct store_blob *envs, size_t n, struct ingest_result *res,
                      size_t *accepted)
{
    struct memstore *m = ctx;
    size_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        struct mp_reader r;
        uint32_t cnt, hl, sl;
        const uint8_t *h, *sig;
        memset(&res[i], 0, sizeof res[i]);
        mp_reader_init(&r, envs[i].p, envs[i].n);
        if (mp_read_array(&r, &cnt, 3) || cnt != 3 || mp_read_bin(&r, &h, &hl, 64) ||
            hl != MEMSTORE_HEADER_LEN || mp_read_bin(&r, &sig, &sl, 64) || mp_read_nil(&r) ||
            !mp_at_end(&r)) {
            res[i].err = HERR_MALFORMED;
            res[i].why = "not a stand-in event";
            continue;
        }
        hash_id(res[i].id, h, hl);
        res[i].has_id = true;
        if (h[0] == 0xff) {
            res[i].err = HERR_BAD_SIG;
            res[i].why = "stand-in bad signature";
            continue;
        }
        herr e = memstore_add(m, h, NULL);
        if (e && e != HERR_DUPLICATE)
            return e;
        res[i].err = e;
        if (!e)
            acc++;
        if (!m->has_forum) {
            m->has_forum = true;
            memset(m->forum, 0x42, HEARTH_ID_LEN);
        }
    }
    if (accepted)
        *accepted = acc;
    return HERR_OK;
}

static herr ms_forum(void *ctx, uint8_t forum[HEARTH_ID_LEN])
{
    struct memstore *m = ctx;
    if (!m->has_forum)
        return HERR_STATE;
    memcpy(forum, m->forum, HEARTH_ID_LEN);
    return HERR_OK;
}

static const struct sync_ops ops = {
    ms_keys_since, ms_resolve, ms_get_many,     ms_ingest,
    ms_forum,      ms_stream,  ms_ids_in_order, ms_sort_ids,
};

const struct sync_ops *memstore_ops(void)
{
    return &ops;
}

/* recon.c - rateless IBLT: key hashing, the mapping, the index, the decoder. */
#include "sync/recon.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char KEY_TAG[16] = "hearth/recon/v1";   /* 15 bytes and a NUL */
static const char FP_TAG[16] = "hearth/fp/v1\0\0\0"; /* 12 bytes and 4 NULs */

/* ---- little-endian helpers ---- */

static uint64_t ld64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void st64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static void st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Square root for the estimator's arithmetic (positive finite x; libm is not linked). */
static double sqrt_pos(double x)
{
    if (x <= 0)
        return 0;
    double g = x > 1 ? x : 1;
    for (int i = 0; i < 200; i++) {
        double n = 0.5 * (g + x / g);
        if (n >= g)
            break;
        g = n;
    }
    return g;
}

/* ---- building blocks ---- */

void recon_hash_key(const uint8_t key[RECON_KEY_LEN], struct recon_hash *h)
{
    uint8_t in[sizeof KEY_TAG + RECON_KEY_LEN], out[64];
    memcpy(in, KEY_TAG, sizeof KEY_TAG);
    memcpy(in + sizeof KEY_TAG, key, RECON_KEY_LEN);
    crypto_generichash_blake2b(out, sizeof out, in, sizeof in, NULL, 0);
    h->chk = ld32(out);
    h->seed = ld64(out + 8);
    for (int i = 0; i < 8; i++)
        h->elem[i] = ld64(out + 8 * i);
}

void recon_map_init(struct recon_map *m, uint64_t seed)
{
    m->state = seed;
    m->index = 0;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The gap to the next index follows P(gap > t) = ((i+1.5)/(i+1.5+t))^2, which makes
 * index j part of the mapping with probability about 2/(j+2), independently for each
 * j. With V the larger of two uniform 32-bit numbers (P(V < v) = v^2) that is
 * gap = ceil((i+1.5)(1/V - 1)), computed exactly in integers: no floating point, so
 * every implementation maps every key to the same indices. */
uint64_t recon_map_next(struct recon_map *m)
{
    uint64_t r = splitmix64(&m->state);
    uint64_t a = r >> 32, b = r & 0xffffffffULL;
    uint64_t v = (a > b ? a : b) + 1; /* 1 .. 2^32 */
    uint64_t x = 2 * m->index + 3;
    uint64_t gap = (x * ((1ULL << 32) - v) + 2 * v - 1) / (2 * v);
    if (gap == 0)
        gap = 1;
    m->index += gap;
    return m->index;
}

void recon_fingerprint(uint64_t count, const uint64_t sum[8], uint8_t fp[RECON_FP_LEN])
{
    uint8_t in[sizeof FP_TAG + 8 + 64];
    memcpy(in, FP_TAG, sizeof FP_TAG);
    st64(in + sizeof FP_TAG, count);
    for (int i = 0; i < 8; i++)
        st64(in + sizeof FP_TAG + 8 + 8 * i, sum[i]);
    crypto_generichash_blake2b(fp, RECON_FP_LEN, in, sizeof in, NULL, 0);
}

static void sum_add(uint64_t s[8], const uint64_t e[8])
{
    unsigned carry = 0;
    for (int i = 0; i < 8; i++) {
        uint64_t t = s[i] + e[i];
        unsigned c1 = t < s[i];
        uint64_t u = t + carry;
        unsigned c2 = u < t;
        s[i] = u;
        carry = c1 | c2;
    }
}

static void sum_sub(uint64_t s[8], const uint64_t e[8])
{
    unsigned borrow = 0;
    for (int i = 0; i < 8; i++) {
        uint64_t t = s[i] - e[i];
        unsigned b1 = s[i] < e[i];
        uint64_t u = t - borrow;
        unsigned b2 = t < borrow;
        s[i] = u;
        borrow = b1 | b2;
    }
}

/* ---- the index ---- */

struct recon_sym {
    uint64_t k[2];
    uint32_t chk;
    uint32_t count; /* modulo 2^32; only its low 16 bits travel */
};

struct recon_index {
    struct recon_sym *sym; /* RECON_M of them */
    uint64_t count;
    uint64_t sum[8];
    uint64_t last_arrival;
    uint8_t ring[RECON_SUFFIX][HEARTH_ID_LEN]; /* newest ids; ring[(head-1) % N] newest */
    uint32_t ring_head, ring_n;
    uint32_t holds; /* sessions reconciling with this index */
};

herr recon_index_new(struct recon_index **out)
{
    *out = NULL;
    struct recon_index *x = calloc(1, sizeof *x);
    if (!x)
        return HERR_NOMEM;
    x->sym = calloc(RECON_M, sizeof *x->sym);
    if (!x->sym) {
        free(x);
        return HERR_NOMEM;
    }
    *out = x;
    return HERR_OK;
}

herr recon_index_clone(struct recon_index **out, const struct recon_index *x)
{
    herr e = recon_index_new(out);
    if (e)
        return e;
    struct recon_sym *sym = (*out)->sym;
    **out = *x;
    (*out)->sym = sym;
    (*out)->holds = 0;
    memcpy(sym, x->sym, RECON_M * sizeof *sym);
    return HERR_OK;
}

void recon_index_destroy(struct recon_index **x)
{
    if (!x || !*x)
        return;
    free((*x)->sym);
    free(*x);
    *x = NULL;
}

/* The saved form: a tag naming this layout (change it with the layout, the hashing
 * or RECON_M), the count, the last arrival, the sum, the ring's head and fill, the
 * ring, every symbol (k0, k1, chk, count), all little-endian, then BLAKE2b-256 of
 * everything before it. */
static const char SAVED_TAG[16] = "hearth/ridx/v1\0"; /* 14 bytes and 2 NULs */

herr recon_index_save(const struct recon_index *x, uint8_t **out, size_t *n)
{
    uint8_t *b = malloc(RECON_SAVED_LEN), *p = b;
    if (!b)
        return HERR_NOMEM;
    memcpy(p, SAVED_TAG, sizeof SAVED_TAG);
    p += sizeof SAVED_TAG;
    st64(p, x->count);
    st64(p + 8, x->last_arrival);
    p += 16;
    for (int i = 0; i < 8; i++, p += 8)
        st64(p, x->sum[i]);
    st32(p, x->ring_head);
    st32(p + 4, x->ring_n);
    p += 8;
    memcpy(p, x->ring, sizeof x->ring);
    p += sizeof x->ring;
    for (uint32_t i = 0; i < RECON_M; i++, p += 24) {
        st64(p, x->sym[i].k[0]);
        st64(p + 8, x->sym[i].k[1]);
        st32(p + 16, x->sym[i].chk);
        st32(p + 20, x->sym[i].count);
    }
    crypto_generichash_blake2b(p, 32, b, (size_t)(p - b), NULL, 0);
    *out = b;
    *n = RECON_SAVED_LEN;
    return HERR_OK;
}

herr recon_index_load(struct recon_index *x, const uint8_t *p, size_t n)
{
    uint8_t sum[32];
    if (x->count || x->last_arrival)
        return HERR_STATE;
    if (n != RECON_SAVED_LEN || memcmp(p, SAVED_TAG, sizeof SAVED_TAG) != 0)
        return HERR_VERSION;
    crypto_generichash_blake2b(sum, sizeof sum, p, n - sizeof sum, NULL, 0);
    if (sodium_memcmp(sum, p + n - sizeof sum, sizeof sum) != 0)
        return HERR_CORRUPT;
    const uint8_t *q = p + sizeof SAVED_TAG;
    uint32_t head = ld32(q + 80), fill = ld32(q + 84);
    if (head >= RECON_SUFFIX || fill > RECON_SUFFIX)
        return HERR_CORRUPT;
    x->count = ld64(q);
    x->last_arrival = ld64(q + 8);
    q += 16;
    for (int i = 0; i < 8; i++, q += 8)
        x->sum[i] = ld64(q);
    x->ring_head = head;
    x->ring_n = fill;
    q += 8;
    memcpy(x->ring, q, sizeof x->ring);
    q += sizeof x->ring;
    for (uint32_t i = 0; i < RECON_M; i++, q += 24) {
        x->sym[i].k[0] = ld64(q);
        x->sym[i].k[1] = ld64(q + 8);
        x->sym[i].chk = ld32(q + 16);
        x->sym[i].count = ld32(q + 20);
    }
    return HERR_OK;
}

herr recon_index_newest(const struct recon_index *x, uint8_t id[HEARTH_ID_LEN])
{
    if (!x->ring_n)
        return HERR_NOT_FOUND;
    memcpy(id, x->ring[(x->ring_head + RECON_SUFFIX - 1) % RECON_SUFFIX], HEARTH_ID_LEN);
    return HERR_OK;
}

static void keys_of(const uint8_t *key, uint64_t k[2])
{
    k[0] = ld64(key);
    k[1] = ld64(key + 8);
}

herr recon_index_add(struct recon_index *x, const uint8_t id[HEARTH_ID_LEN], uint64_t arrival)
{
    if (arrival <= x->last_arrival)
        return HERR_DUPLICATE;
    struct recon_hash h;
    recon_hash_key(id, &h);
    uint64_t k[2];
    keys_of(id, k);
    struct recon_map m;
    recon_map_init(&m, h.seed);
    for (uint64_t i = 0; i < RECON_M; i = recon_map_next(&m)) {
        struct recon_sym *s = &x->sym[i];
        s->k[0] ^= k[0];
        s->k[1] ^= k[1];
        s->chk ^= h.chk;
        s->count++;
    }
    sum_add(x->sum, h.elem);
    x->count++;
    x->last_arrival = arrival;
    memcpy(x->ring[x->ring_head], id, HEARTH_ID_LEN);
    x->ring_head = (x->ring_head + 1) % RECON_SUFFIX;
    if (x->ring_n < RECON_SUFFIX)
        x->ring_n++;
    return HERR_OK;
}

static herr catch_up_one(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                         uint64_t arrival)
{
    (void)created;
    herr e = recon_index_add(ctx, id, arrival);
    return e == HERR_DUPLICATE ? HERR_OK : e;
}

herr recon_index_catch_up(struct recon_index *x, recon_source_fn source, void *src)
{
    if (x->holds)
        return HERR_OK;
    return source(src, x->last_arrival, catch_up_one, x);
}

void recon_index_hold(struct recon_index *x)
{
    x->holds++;
}

void recon_index_release(struct recon_index *x)
{
    if (x->holds > 0)
        x->holds--;
}

bool recon_index_held(const struct recon_index *x)
{
    return x->holds > 0;
}

uint64_t recon_index_count(const struct recon_index *x)
{
    return x->count;
}

uint64_t recon_index_last_arrival(const struct recon_index *x)
{
    return x->last_arrival;
}

void recon_index_fingerprint(const struct recon_index *x, uint8_t fp[RECON_FP_LEN])
{
    recon_fingerprint(x->count, x->sum, fp);
}

uint32_t recon_index_suffix_max(const struct recon_index *x)
{
    return x->ring_n;
}

void recon_index_suffix(const struct recon_index *x, uint32_t j, uint8_t fp[RECON_FP_LEN],
                        uint8_t (*ids)[HEARTH_ID_LEN])
{
    uint64_t sum[8];
    memcpy(sum, x->sum, sizeof sum);
    for (uint32_t t = 0; t < j && t < x->ring_n; t++) {
        uint32_t slot = (x->ring_head + RECON_SUFFIX - 1 - t) % RECON_SUFFIX;
        struct recon_hash h;
        recon_hash_key(x->ring[slot], &h);
        sum_sub(sum, h.elem);
        if (ids)
            memcpy(ids[t], x->ring[slot], HEARTH_ID_LEN);
    }
    recon_fingerprint(x->count - j, sum, fp);
}

void recon_index_fingerprint_without(const struct recon_index *x, const uint8_t key[RECON_KEY_LEN],
                                     uint8_t fp[RECON_FP_LEN])
{
    uint64_t sum[8];
    struct recon_hash h;
    memcpy(sum, x->sum, sizeof sum);
    recon_hash_key(key, &h);
    sum_sub(sum, h.elem);
    recon_fingerprint(x->count - (x->count > 0), sum, fp);
}

void recon_index_encode(const struct recon_index *x, uint32_t start, uint32_t n, uint8_t *out)
{
    for (uint32_t i = 0; i < n; i++, out += RECON_SYM_LEN) {
        const struct recon_sym *s = &x->sym[start + i];
        st64(out, s->k[0]);
        st64(out + 8, s->k[1]);
        st32(out + 16, s->chk);
        out[20] = (uint8_t)s->count;
        out[21] = (uint8_t)(s->count >> 8);
    }
}

void recon_index_encode_counts(const struct recon_index *x, uint32_t start, uint32_t n,
                               uint8_t *out)
{
    for (uint32_t i = 0; i < n; i++, out += RECON_COUNT_LEN) {
        uint32_t c = x->sym[start + i].count;
        out[0] = (uint8_t)c;
        out[1] = (uint8_t)(c >> 8);
    }
}

/* ---- the decoder ---- */

struct dsym {
    uint64_t k[2];
    uint32_t chk;
    int32_t count;
};

struct peeled {
    uint64_t k[2];
    uint32_t chk;
    int32_t sign;         /* +1 only the peer holds it, -1 only we do */
    struct recon_map map; /* positioned at its first index not yet received */
};

struct keylist {
    uint8_t (*k)[RECON_KEY_LEN];
    size_t n, cap;
};

struct recon_decoder {
    const struct recon_index *local;
    uint64_t remote_count;
    uint8_t remote_fp[RECON_FP_LEN];
    int64_t delta; /* remote count - local count */

    struct dsym *s;
    uint32_t received, cap;
    uint32_t nonempty;
    bool broken; /* the peer's symbols are inconsistent: stop peeling */

    uint32_t *queue;
    size_t qn, qcap;
    struct peeled *peeled;
    size_t npeeled, peeled_cap;
    struct keylist remote, localk;
    uint64_t sum_remote[8], sum_local[8];

    /* The estimator: for indices 1 .. est_hi-1, the squared deviation of the raw
     * difference count from its mean. */
    uint32_t est_hi;
    float *dev2;
    size_t dev2_cap;
};

herr recon_decoder_new(struct recon_decoder **out, const struct recon_index *local,
                       uint64_t remote_count, const uint8_t remote_fp[RECON_FP_LEN])
{
    struct recon_decoder *d = calloc(1, sizeof *d);
    *out = NULL;
    if (!d)
        return HERR_NOMEM;
    d->local = local;
    d->remote_count = remote_count;
    memcpy(d->remote_fp, remote_fp, RECON_FP_LEN);
    d->delta = (int64_t)remote_count - (int64_t)local->count;
    d->est_hi = 1;
    *out = d;
    return HERR_OK;
}

void recon_decoder_destroy(struct recon_decoder **d)
{
    if (!d || !*d)
        return;
    free((*d)->s);
    free((*d)->queue);
    free((*d)->peeled);
    free((*d)->remote.k);
    free((*d)->localk.k);
    free((*d)->dev2);
    free(*d);
    *d = NULL;
}

/* Grow *p (of *cap elements of size sz) to hold at least need, at most max. */
static herr grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return HERR_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * sz);
    if (!q)
        return HERR_NOMEM;
    *p = q;
    *cap = c;
    return HERR_OK;
}

static herr push(struct recon_decoder *d, uint32_t i)
{
    herr e = grow((void **)&d->queue, &d->qcap, d->qn + 1, sizeof *d->queue);
    if (e)
        return e;
    d->queue[d->qn++] = i;
    return HERR_OK;
}

static bool is_empty(const struct dsym *s)
{
    return s->count == 0 && s->chk == 0 && s->k[0] == 0 && s->k[1] == 0;
}

/* Remove key k (sign +1: counted on the peer's side) from symbol i. */
static herr apply(struct recon_decoder *d, uint32_t i, const uint64_t k[2], uint32_t chk,
                  int32_t sign)
{
    struct dsym *s = &d->s[i];
    bool was = is_empty(s);
    s->k[0] ^= k[0];
    s->k[1] ^= k[1];
    s->chk ^= chk;
    s->count -= sign;
    bool now = is_empty(s);
    if (was && !now)
        d->nonempty++;
    else if (!was && now)
        d->nonempty--;
    if (s->count == 1 || s->count == -1)
        return push(d, i);
    return HERR_OK;
}

/* The estimator's model: each key of the difference is in symbol i with probability
 * rho = 2/(i+2), independently, so the raw difference count c_i has mean delta*rho and
 * variance d*v with v = rho*(1-rho). Each squared deviation estimates d*v; they are
 * combined with weights that minimise the variance (see recon_decoder_estimate). */
static double rho_of(uint32_t i)
{
    return 2.0 / ((double)i + 2.0);
}

static herr estimate_take(struct recon_decoder *d, uint32_t i, int64_t c)
{
    if (i < d->est_hi)
        return HERR_OK;
    herr e = grow((void **)&d->dev2, &d->dev2_cap, (size_t)i + 1, sizeof *d->dev2);
    if (e)
        return e;
    for (uint32_t j = d->est_hi; j < i; j++)
        d->dev2[j] = -1; /* not seen */
    double dev = (double)c - (double)d->delta * rho_of(i);
    d->dev2[i] = (float)(dev * dev);
    d->est_hi = i + 1;
    return HERR_OK;
}

/* The difference count of symbol i from its 16-bit wire count: the value congruent to
 * (remote - local) mod 2^16 nearest to its expected value delta*rho. */
static int64_t unwrap(const struct recon_decoder *d, uint32_t i, uint32_t wire)
{
    uint32_t diff = (wire - d->local->sym[i].count) & 0xffff;
    double mean = i == 0 ? (double)d->delta : (double)d->delta * 2.0 / ((double)i + 2.0);
    int64_t m = (int64_t)(mean < 0 ? mean - 0.5 : mean + 0.5);
    uint16_t off = (uint16_t)(diff - (uint32_t)m);
    return m + (int16_t)off;
}

static bool key_is_zero(const uint64_t k[2])
{
    return k[0] == 0 && k[1] == 0;
}

/* Record a peeled key and remove it from every received symbol it maps to. */
static herr take_key(struct recon_decoder *d, const uint64_t k[2], const struct recon_hash *h,
                     int32_t sign)
{
    /* An honest peer's symbols never yield more keys than symbols. */
    if (d->npeeled >= (size_t)d->received + 1) {
        d->broken = true;
        return HERR_OK;
    }
    herr e = grow((void **)&d->peeled, &d->peeled_cap, d->npeeled + 1, sizeof *d->peeled);
    if (e)
        return e;
    struct keylist *l = sign > 0 ? &d->remote : &d->localk;
    e = grow((void **)&l->k, &l->cap, l->n + 1, sizeof *l->k);
    if (e)
        return e;
    struct peeled *p = &d->peeled[d->npeeled++];
    p->k[0] = k[0];
    p->k[1] = k[1];
    p->chk = h->chk;
    p->sign = sign;
    recon_map_init(&p->map, h->seed);
    for (uint64_t i = 0; i < d->received; i = recon_map_next(&p->map)) {
        e = apply(d, (uint32_t)i, k, h->chk, sign);
        if (e)
            return e;
    }
    st64(l->k[l->n], k[0]);
    st64(l->k[l->n] + 8, k[1]);
    l->n++;
    if (sign > 0)
        sum_add(d->sum_remote, h->elem);
    else
        sum_add(d->sum_local, h->elem);
    return HERR_OK;
}

/* Is symbol i pure: one key, whose checksum it carries and whose mapping includes i? */
static bool pure(const struct dsym *s, uint32_t i, struct recon_hash *h)
{
    if ((s->count != 1 && s->count != -1) || key_is_zero(s->k))
        return false;
    uint8_t key[RECON_KEY_LEN];
    st64(key, s->k[0]);
    st64(key + 8, s->k[1]);
    recon_hash_key(key, h);
    if (h->chk != s->chk)
        return false;
    struct recon_map m;
    recon_map_init(&m, h->seed);
    uint64_t j = 0;
    while (j < i)
        j = recon_map_next(&m);
    return j == i;
}

static herr peel(struct recon_decoder *d)
{
    while (d->qn > 0 && !d->broken) {
        uint32_t i = d->queue[--d->qn];
        struct dsym s = d->s[i];
        struct recon_hash h;
        if (!pure(&s, i, &h))
            continue;
        herr e = take_key(d, s.k, &h, s.count);
        if (e)
            return e;
    }
    d->qn = 0;
    return HERR_OK;
}

herr recon_decoder_add(struct recon_decoder *d, uint32_t start, const uint8_t *syms, uint32_t n,
                       const char **why)
{
    if (start != d->received) {
        *why = "symbols out of order";
        return HERR_PROTOCOL;
    }
    if (n > RECON_M - start) {
        *why = "symbol index beyond the decodable range";
        return HERR_PROTOCOL;
    }
    size_t cap = d->cap;
    herr e = grow((void **)&d->s, &cap, (size_t)start + n, sizeof *d->s);
    if (e)
        return e;
    d->cap = (uint32_t)cap;
    uint32_t end = start + n;
    for (uint32_t i = start; i < end; i++, syms += RECON_SYM_LEN) {
        const struct recon_sym *l = &d->local->sym[i];
        struct dsym *s = &d->s[i];
        s->k[0] = ld64(syms) ^ l->k[0];
        s->k[1] = ld64(syms + 8) ^ l->k[1];
        s->chk = ld32(syms + 16) ^ l->chk;
        int64_t c = unwrap(d, i, (uint32_t)syms[20] | (uint32_t)syms[21] << 8);
        s->count = (int32_t)c;
        e = estimate_take(d, i, c);
        if (e)
            return e;
    }
    d->received = end;
    /* Keys peeled earlier leave the new symbols too. */
    for (size_t p = 0; p < d->npeeled; p++) {
        struct peeled *pk = &d->peeled[p];
        while (pk->map.index < end) {
            struct dsym *s = &d->s[pk->map.index];
            s->k[0] ^= pk->k[0];
            s->k[1] ^= pk->k[1];
            s->chk ^= pk->chk;
            s->count -= pk->sign;
            recon_map_next(&pk->map);
        }
    }
    for (uint32_t i = start; i < end; i++) {
        if (!is_empty(&d->s[i]))
            d->nonempty++;
        if (d->s[i].count == 1 || d->s[i].count == -1) {
            e = push(d, i);
            if (e)
                return e;
        }
    }
    return peel(d);
}

herr recon_decoder_add_counts(struct recon_decoder *d, uint32_t start, const uint8_t *counts,
                              uint32_t n, const char **why)
{
    if (start < d->received || n > RECON_M - start) {
        *why = "count entries out of range";
        return HERR_PROTOCOL;
    }
    for (uint32_t t = 0; t < n; t++, counts += RECON_COUNT_LEN) {
        uint32_t i = start + t;
        herr e = estimate_take(d, i, unwrap(d, i, (uint32_t)counts[0] | (uint32_t)counts[1] << 8));
        if (e)
            return e;
    }
    return HERR_OK;
}

uint32_t recon_decoder_received(const struct recon_decoder *d)
{
    return d->received;
}

bool recon_decoder_complete(const struct recon_decoder *d)
{
    return d->received > 0 && d->nonempty == 0 && !d->broken;
}

herr recon_decoder_verify(const struct recon_decoder *d)
{
    if (!recon_decoder_complete(d))
        return HERR_PROTOCOL;
    uint64_t sum[8];
    memcpy(sum, d->local->sum, sizeof sum);
    sum_add(sum, d->sum_remote);
    sum_sub(sum, d->sum_local);
    uint64_t count = d->local->count + d->remote.n - d->localk.n;
    uint8_t fp[RECON_FP_LEN];
    recon_fingerprint(count, sum, fp);
    if (count != d->remote_count || sodium_memcmp(fp, d->remote_fp, RECON_FP_LEN) != 0)
        return HERR_PROTOCOL;
    return HERR_OK;
}

const uint8_t (*recon_decoder_remote_only(const struct recon_decoder *d, size_t *n))[RECON_KEY_LEN]
{
    *n = d->remote.n;
    return (const uint8_t(*)[RECON_KEY_LEN])d->remote.k;
}

const uint8_t (*recon_decoder_local_only(const struct recon_decoder *d, size_t *n))[RECON_KEY_LEN]
{
    *n = d->localk.n;
    return (const uint8_t(*)[RECON_KEY_LEN])d->localk.k;
}

/* One pass of the weighted estimate for a pilot value d0: the deviation at index i has
 * variance about 2(d v)^2 + d v, so weights w = 1/(1 + 2 d0 v) make the estimate
 * sum w dev^2 / sum w v of least variance. */
static void estimate_pass(const struct recon_decoder *d, double d0, double *est, double *rel_var)
{
    double num = 0, den = 0, var = 0;
    for (uint32_t i = 1; i < d->est_hi; i++) {
        if (d->dev2[i] < 0)
            continue;
        double r = rho_of(i), v = r * (1 - r);
        double w = 1 / (1 + 2 * d0 * v);
        num += w * d->dev2[i];
        den += w * v;
        var += w * w * (2 * d0 * d0 * v * v + d0 * v);
    }
    *est = den > 0 ? num / den : 0;
    *rel_var = den > 0 && d0 > 0 ? var / (den * den * d0 * d0) : 1;
}

void recon_decoder_estimate(const struct recon_decoder *d, double *d_hat, double *rel_sd)
{
    double lo = (double)(d->delta < 0 ? -d->delta : d->delta);
    if (lo < 1)
        lo = 1;
    double est = lo, rel_var = 1;
    if (d->est_hi > 1) {
        est = 0;
        estimate_pass(d, 0, &est, &rel_var);
        for (int k = 0; k < 3; k++)
            estimate_pass(d, est > lo ? est : lo, &est, &rel_var);
        if (est < lo)
            est = lo;
        estimate_pass(d, est, &(double){0}, &rel_var);
    }
    *d_hat = est;
    *rel_sd = rel_var < 1 ? sqrt_pos(rel_var) : 1;
}

/* ---- the policy ---- */

/* The first batch when the counts say nothing about d: a few symbols (enough for
 * d up to about 3) and count-only entries that estimate larger d to about 9%. */
#define FIRST_COUNTS 256
#define FIRST_SYMBOLS 6

void recon_first_batch(uint64_t n_local, uint64_t n_remote, uint32_t *symbols, uint32_t *counts)
{
    uint64_t delta = n_local > n_remote ? n_local - n_remote : n_remote - n_local;
    if (delta == 1) {
        /* Most likely one event: symbol 0, which every key maps to, is enough. */
        *symbols = 1;
        *counts = 0;
        return;
    }
    uint64_t s = delta + delta / 2 + 4;
    if (s < FIRST_SYMBOLS)
        s = FIRST_SYMBOLS;
    if (s > RECON_M / 2)
        s = RECON_M / 2;
    *symbols = (uint32_t)s;
    *counts = FIRST_COUNTS;
}

void recon_wider_batch(uint32_t *symbols, uint32_t *counts)
{
    *symbols = FIRST_SYMBOLS;
    *counts = FIRST_COUNTS;
}

uint32_t recon_next_request(const struct recon_decoder *d)
{
    if (d->broken || d->received >= RECON_M)
        return 0;
    double est, sd;
    recon_decoder_estimate(d, &est, &sd);
    double hi = est * (1 + 3 * sd) + 2;
    double need = 1.35 * hi + 3 * sqrt_pos(hi) + 8;
    double floor = (double)d->received * 1.25 + 8;
    if (need < floor)
        need = floor;
    if (need > (double)RECON_M) {
        if (1.35 * est > (double)RECON_M)
            return 0;
        need = RECON_M;
    }
    return (uint32_t)need;
}

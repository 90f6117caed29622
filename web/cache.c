/* cache.c - bounded LRU caches of rendered HTML (see cache.h). */
#include "web/cache.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CACHE_KEY 256

struct entry {
    bool used;
    uint8_t hash[16]; /* of the key (a page) or of the text (a fragment) */
    uint64_t stamp, last;
    uint8_t *data, *gz;
    size_t len, gzlen;
};

/* Open addressing: an entry lives in the CACHE_WAYS slots from its hash's home slot
 * on; a full window gives up its least recently used. Bytes over the budget are freed
 * by a clock hand that sweeps the table. */
#define CACHE_WAYS 8

struct cache {
    pthread_mutex_t mu;
    size_t slots, max_bytes, bytes, hand;
    uint64_t clock;
    struct entry *v;
};

struct cache *cache_new(size_t slots, size_t max_bytes)
{
    size_t n = CACHE_WAYS;
    while (n < slots)
        n *= 2;
    slots = n;
    struct cache *c = calloc(1, sizeof *c);
    if (!c || !(c->v = calloc(slots, sizeof *c->v))) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    c->slots = slots;
    c->max_bytes = max_bytes;
    return c;
}

static void drop(struct cache *c, struct entry *e)
{
    c->bytes -= e->len + e->gzlen;
    free(e->data);
    free(e->gz);
    memset(e, 0, sizeof *e);
}

void cache_destroy(struct cache **cp)
{
    struct cache *c = *cp;
    if (!c)
        return;
    for (size_t i = 0; i < c->slots; i++)
        if (c->v[i].used)
            drop(c, &c->v[i]);
    pthread_mutex_destroy(&c->mu);
    free(c->v);
    free(c);
    *cp = NULL;
}

static void hash(uint8_t out[16], uint8_t domain, const void *p, size_t n)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 16);
    crypto_generichash_update(&st, &domain, 1);
    crypto_generichash_update(&st, p, n);
    crypto_generichash_final(&st, out, 16);
}

static size_t home(const struct cache *c, const uint8_t h[16])
{
    uint64_t x;
    memcpy(&x, h, sizeof x);
    return (size_t)(x & (c->slots - 1));
}

/* find - the entry of h, or NULL. Under the lock. */
static struct entry *find(struct cache *c, const uint8_t h[16])
{
    size_t at = home(c, h);
    for (size_t i = 0; i < CACHE_WAYS; i++) {
        struct entry *e = &c->v[(at + i) & (c->slots - 1)];
        if (e->used && !memcmp(e->hash, h, 16))
            return e;
    }
    return NULL;
}

/* room - a free entry in h's window, once the cache holds no more than max_bytes - n.
 * Under the lock. */
static struct entry *room(struct cache *c, const uint8_t h[16], size_t n)
{
    while (c->bytes + n > c->max_bytes) {
        struct entry *e = &c->v[c->hand++ & (c->slots - 1)];
        if (e->used)
            drop(c, e);
    }
    size_t at = home(c, h);
    struct entry *old = NULL;
    for (size_t i = 0; i < CACHE_WAYS; i++) {
        struct entry *e = &c->v[(at + i) & (c->slots - 1)];
        if (!e->used)
            return e;
        if (!old || e->last < old->last)
            old = e;
    }
    drop(c, old);
    return old;
}

static void put(struct cache *c, const uint8_t h[16], uint64_t stamp, const void *data, size_t len,
                const void *gz, size_t gzlen)
{
    if (len + gzlen > c->max_bytes / 4)
        return;
    uint8_t *d = malloc(len), *g = gzlen ? malloc(gzlen) : NULL;
    if (!d || (gzlen && !g)) {
        free(d);
        free(g);
        return;
    }
    memcpy(d, data, len);
    if (gzlen)
        memcpy(g, gz, gzlen);
    pthread_mutex_lock(&c->mu);
    struct entry *e = find(c, h);
    if (e)
        drop(c, e);
    if ((e = room(c, h, len + gzlen))) {
        *e = (struct entry){.used = true,
                            .stamp = stamp,
                            .last = ++c->clock,
                            .data = d,
                            .len = len,
                            .gz = g,
                            .gzlen = gzlen};
        memcpy(e->hash, h, 16);
        c->bytes += len + gzlen;
        d = g = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    free(d);
    free(g);
}

bool cache_fragment_get(struct cache *c, const char *text, size_t n, struct hbuf *out)
{
    uint8_t h[16];
    hash(h, 'f', text, n);
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    struct entry *e = find(c, h);
    if (e) {
        e->last = ++c->clock;
        hit = hbuf_append(out, e->data, e->len) == HERR_OK;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void cache_fragment_put(struct cache *c, const char *text, size_t n, const char *html, size_t len)
{
    uint8_t h[16];
    hash(h, 'f', text, n);
    put(c, h, 0, html, len, NULL, 0);
}

bool cache_page_get(struct cache *c, const char *key, uint64_t stamp, bool gzip, struct hbuf *out)
{
    uint8_t h[16];
    hash(h, 'p', key, strlen(key));
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    struct entry *e = find(c, h);
    if (e && e->stamp == stamp) {
        e->last = ++c->clock;
        hit = gzip ? e->gz && hbuf_append(out, e->gz, e->gzlen) == HERR_OK
                   : hbuf_append(out, e->data, e->len) == HERR_OK;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void cache_page_put(struct cache *c, const char *key, uint64_t stamp, const uint8_t *page,
                    size_t len)
{
    uint8_t h[16];
    struct hbuf gz;
    hash(h, 'p', key, strlen(key));
    hbuf_init(&gz, len + 1024);
    if (cache_gzip(page, len, 6, &gz) != HERR_OK)
        hbuf_release(&gz);
    put(c, h, stamp, page, len, gz.data, gz.len);
    hbuf_release(&gz);
}

herr cache_gzip(const uint8_t *p, size_t n, int level, struct hbuf *out)
{
    z_stream z = {0};
    /* 15 + 16: a gzip header and trailer around the deflate stream. */
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return HERR_NOMEM;
    size_t bound = deflateBound(&z, (uLong)n);
    herr e = hbuf_reserve(out, bound);
    if (!e) {
        z.next_in = (Bytef *)(uintptr_t)p;
        z.avail_in = (uInt)n;
        z.next_out = out->data + out->len;
        z.avail_out = (uInt)bound;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END)
            e = HERR_IO;
        else
            out->len += z.total_out;
    }
    deflateEnd(&z);
    return e;
}

size_t cache_bytes(struct cache *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->bytes;
    pthread_mutex_unlock(&c->mu);
    return n;
}

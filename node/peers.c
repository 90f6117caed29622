#include "node/peers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_PREFIX "peer:"
#define ALLOW_PREFIX "allow:"

static void meta_key(char *out, size_t n, const char *prefix, const uint8_t key[HEARTH_PK_LEN])
{
    char hex[2 * HEARTH_PK_LEN + 1];
    hex_encode(hex, key, HEARTH_PK_LEN);
    snprintf(out, n, "%s%s", prefix, hex);
}

herr peer_record_save(struct store *s, const struct peer_record *r)
{
    char key[80], value[PEER_MAX_ENDPOINT + 96];
    meta_key(key, sizeof key, KEY_PREFIX, r->key);
    snprintf(value, sizeof value, "%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %s",
             r->endpoint[0] ? r->endpoint : "-", r->last_seen, r->last_sync, r->failures,
             r->source[0] ? r->source : "added");
    return store_meta_set(s, key, value);
}

static bool parse(const char *key, const char *value, struct peer_record *r)
{
    memset(r, 0, sizeof *r);
    if (strncmp(key, KEY_PREFIX, strlen(KEY_PREFIX)) != 0 ||
        hex_decode(r->key, HEARTH_PK_LEN, key + strlen(KEY_PREFIX)) != HERR_OK)
        return false;
    char ep[PEER_MAX_ENDPOINT];
    if (sscanf(value, "%159s %" SCNu64 " %" SCNu64 " %" SCNu64 " %15s", ep, &r->last_seen,
               &r->last_sync, &r->failures, r->source) != 5)
        return false;
    if (strcmp(ep, "-") != 0)
        snprintf(r->endpoint, sizeof r->endpoint, "%s", ep);
    return true;
}

herr peer_record_load(struct store *s, const uint8_t key[HEARTH_PK_LEN], struct peer_record *r)
{
    char k[80], *v = NULL;
    meta_key(k, sizeof k, KEY_PREFIX, key);
    herr e = store_meta_get(s, k, &v);
    if (e)
        return e;
    bool ok = parse(k, v, r);
    free(v);
    return ok ? HERR_OK : HERR_NOT_FOUND;
}

herr peer_record_remove(struct store *s, const uint8_t key[HEARTH_PK_LEN])
{
    char k[80];
    meta_key(k, sizeof k, KEY_PREFIX, key);
    herr a = store_meta_delete(s, k);
    herr b = peer_disallow(s, key);
    if (a && a != HERR_NOT_FOUND)
        return a;
    if (b && b != HERR_NOT_FOUND)
        return b;
    return a == HERR_NOT_FOUND && b == HERR_NOT_FOUND ? HERR_NOT_FOUND : HERR_OK;
}

herr peer_record_forget(struct store *s, const uint8_t key[HEARTH_PK_LEN])
{
    char k[80];
    meta_key(k, sizeof k, KEY_PREFIX, key);
    return store_meta_delete(s, k);
}

struct each {
    peer_record_fn fn;
    void *ctx;
};

static herr each_one(void *ctx, const char *key, const char *value)
{
    struct each *e = ctx;
    struct peer_record r;
    return parse(key, value, &r) ? e->fn(e->ctx, &r) : HERR_OK;
}

herr peer_record_each(struct store *s, peer_record_fn fn, void *ctx)
{
    struct each e = {fn, ctx};
    return store_meta_each(s, KEY_PREFIX, each_one, &e);
}

herr peer_allow(struct store *s, const uint8_t key[HEARTH_PK_LEN])
{
    char k[80];
    meta_key(k, sizeof k, ALLOW_PREFIX, key);
    return store_meta_set(s, k, "1");
}

herr peer_disallow(struct store *s, const uint8_t key[HEARTH_PK_LEN])
{
    char k[80];
    meta_key(k, sizeof k, ALLOW_PREFIX, key);
    return store_meta_delete(s, k);
}

bool peer_allowed(struct store *s, const uint8_t key[HEARTH_PK_LEN])
{
    char k[80], *v = NULL;
    meta_key(k, sizeof k, ALLOW_PREFIX, key);
    bool ok = store_meta_get(s, k, &v) == HERR_OK;
    free(v);
    return ok;
}

struct gather {
    const char *source;
    uint8_t (*keys)[HEARTH_PK_LEN];
    size_t n, cap;
};

static herr gather_one(void *ctx, const struct peer_record *r)
{
    struct gather *g = ctx;
    if (strcmp(r->source, g->source) != 0)
        return HERR_OK;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        void *p = realloc(g->keys, cap * sizeof *g->keys);
        if (!p)
            return HERR_NOMEM;
        g->keys = p;
        g->cap = cap;
    }
    memcpy(g->keys[g->n++], r->key, HEARTH_PK_LEN);
    return HERR_OK;
}

herr peer_record_forget_source(struct store *s, const char *source, size_t *n)
{
    struct gather g = {source, NULL, 0, 0};
    herr e = peer_record_each(s, gather_one, &g);
    *n = 0;
    for (size_t i = 0; !e && i < g.n; i++) {
        herr f = peer_record_forget(s, g.keys[i]);
        if (f && f != HERR_NOT_FOUND)
            e = f;
        else if (!f)
            ++*n;
    }
    free(g.keys);
    return e;
}

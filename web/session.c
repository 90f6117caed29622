/* session.c - sessions and the failure limiter (see session.h). */
#include "web/session.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct session {
    bool used;
    uint8_t token[32];
    struct session_info info;
    struct hkey *key; /* sodium_malloc */
    uint64_t last;
};

struct sessions {
    pthread_mutex_t mu;
    size_t max;
    uint64_t idle_ms;
    struct session *v;
};

struct sessions *sessions_new(size_t max, uint64_t idle_ms)
{
    struct sessions *s = calloc(1, sizeof *s);
    if (!s || !(s->v = calloc(max, sizeof *s->v))) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->max = max;
    s->idle_ms = idle_ms;
    return s;
}

static void end_one(struct session *x)
{
    if (x->key)
        sodium_free(x->key); /* sodium_free wipes before it frees */
    secret_wipe(x, sizeof *x);
}

void sessions_destroy(struct sessions **sp)
{
    struct sessions *s = *sp;
    if (!s)
        return;
    for (size_t i = 0; i < s->max; i++)
        if (s->v[i].used)
            end_one(&s->v[i]);
    pthread_mutex_destroy(&s->mu);
    free(s->v);
    free(s);
    *sp = NULL;
}

/* slot - a free slot, else the least recently used one, ended. Under the lock. */
static struct session *slot(struct sessions *s)
{
    struct session *oldest = &s->v[0];
    for (size_t i = 0; i < s->max; i++) {
        if (!s->v[i].used)
            return &s->v[i];
        if (s->v[i].last < oldest->last)
            oldest = &s->v[i];
    }
    end_one(oldest);
    return oldest;
}

herr sessions_create(struct sessions *s, const uint8_t seed[HEARTH_SEED_LEN], const char *login,
                     uint64_t now_ms, struct session_info *out)
{
    struct hkey *key = sodium_malloc(sizeof *key);
    if (!key)
        return HERR_NOMEM;
    hkey_from_seed(key, seed);
    uint8_t csrf[32];
    pthread_mutex_lock(&s->mu);
    struct session *x = slot(s);
    x->used = true;
    x->key = key;
    x->last = now_ms;
    random_bytes(x->token, sizeof x->token);
    random_bytes(csrf, sizeof csrf);
    hex_encode(x->info.token, x->token, sizeof x->token);
    hex_encode(x->info.csrf, csrf, sizeof csrf);
    snprintf(x->info.login, sizeof x->info.login, "%s", login);
    memcpy(x->info.pk, key->pk, HEARTH_PK_LEN);
    x->info.asked = false;
    *out = x->info;
    pthread_mutex_unlock(&s->mu);
    return HERR_OK;
}

/* lookup - the live session of the hex token, or NULL. Under the lock. */
static struct session *lookup(struct sessions *s, const char *token, uint64_t now_ms)
{
    uint8_t raw[32];
    if (!token || strlen(token) != SESSION_TOKEN_HEX || hex_decode(raw, sizeof raw, token))
        return NULL;
    for (size_t i = 0; i < s->max; i++) {
        struct session *x = &s->v[i];
        if (x->used && sodium_memcmp(x->token, raw, sizeof raw) == 0) {
            if (now_ms > x->last + s->idle_ms) {
                end_one(x);
                return NULL;
            }
            return x;
        }
    }
    return NULL;
}

bool sessions_find(struct sessions *s, const char *token, uint64_t now_ms, struct session_info *out)
{
    pthread_mutex_lock(&s->mu);
    struct session *x = lookup(s, token, now_ms);
    if (x) {
        x->last = now_ms;
        *out = x->info;
    }
    pthread_mutex_unlock(&s->mu);
    return x != NULL;
}

void sessions_note_asked(struct sessions *s, const char *token)
{
    pthread_mutex_lock(&s->mu);
    struct session *x = lookup(s, token, 0);
    if (x)
        x->info.asked = true;
    pthread_mutex_unlock(&s->mu);
}

bool sessions_sign_key(struct sessions *s, const char *token, struct hkey *k)
{
    pthread_mutex_lock(&s->mu);
    struct session *x = lookup(s, token, 0);
    if (x)
        *k = *x->key;
    pthread_mutex_unlock(&s->mu);
    return x != NULL;
}

void sessions_end(struct sessions *s, const char *token)
{
    pthread_mutex_lock(&s->mu);
    struct session *x = lookup(s, token, 0);
    if (x)
        end_one(x);
    pthread_mutex_unlock(&s->mu);
}

void sessions_end_member(struct sessions *s, const uint8_t pk[HEARTH_PK_LEN])
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->max; i++)
        if (s->v[i].used && !memcmp(s->v[i].info.pk, pk, HEARTH_PK_LEN))
            end_one(&s->v[i]);
    pthread_mutex_unlock(&s->mu);
}

void sessions_expire(struct sessions *s, uint64_t now_ms)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->max; i++)
        if (s->v[i].used && now_ms > s->v[i].last + s->idle_ms)
            end_one(&s->v[i]);
    pthread_mutex_unlock(&s->mu);
}

size_t sessions_count(struct sessions *s)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->max; i++)
        n += s->v[i].used;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- the limiter ---- */

struct limit_slot {
    uint8_t key[16]; /* BLAKE2b-128 of the key: bounded, whatever its length */
    uint64_t window;
    unsigned fails;
};

struct limiter {
    pthread_mutex_t mu;
    size_t slots;
    unsigned max;
    uint64_t window_ms;
    struct limit_slot *v;
};

struct limiter *limiter_new(size_t slots, unsigned max, uint64_t window_ms)
{
    struct limiter *l = calloc(1, sizeof *l);
    if (!l || !(l->v = calloc(slots, sizeof *l->v))) {
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->slots = slots;
    l->max = max;
    l->window_ms = window_ms;
    return l;
}

void limiter_destroy(struct limiter **lp)
{
    if (!*lp)
        return;
    pthread_mutex_destroy(&(*lp)->mu);
    free((*lp)->v);
    free(*lp);
    *lp = NULL;
}

/* find - the slot of key in the current window (made when make), or NULL. */
static struct limit_slot *find(struct limiter *l, const char *key, uint64_t now_ms, bool make)
{
    uint8_t h[16];
    crypto_generichash(h, sizeof h, (const uint8_t *)key, strlen(key), NULL, 0);
    uint64_t window = now_ms / l->window_ms + 1; /* 0 marks an empty slot */
    struct limit_slot *oldest = &l->v[0];
    for (size_t i = 0; i < l->slots; i++) {
        struct limit_slot *x = &l->v[i];
        if (x->window == window && !memcmp(x->key, h, sizeof h))
            return x;
        if (x->window < oldest->window)
            oldest = x;
    }
    if (!make)
        return NULL;
    memcpy(oldest->key, h, sizeof h);
    oldest->window = window;
    oldest->fails = 0;
    return oldest;
}

bool limiter_blocked(struct limiter *l, const char *key, uint64_t now_ms)
{
    pthread_mutex_lock(&l->mu);
    struct limit_slot *x = find(l, key, now_ms, false);
    bool blocked = x && x->fails >= l->max;
    pthread_mutex_unlock(&l->mu);
    return blocked;
}

void limiter_fail(struct limiter *l, const char *key, uint64_t now_ms)
{
    pthread_mutex_lock(&l->mu);
    find(l, key, now_ms, true)->fails++;
    pthread_mutex_unlock(&l->mu);
}

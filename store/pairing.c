/* pairing.c - pairing a device (docs/CLI.md, `hearth device`; docs/EVENTS.md, 6.3):
 * one-time codes kept in the local settings, the pairing requests that name a person,
 * and the device events a person's node publishes for them (add, revoke). Above
 * ingest: each of these publishes; which key counts for whom is devices.c's.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/code32.h"
#include "store/store_int.h"

/* fill_request - a pairing request that names the person `arg`. */
static bool fill_request(void *slot, const struct event *x, const void *arg)
{
    struct store_pair_request *p = slot;
    if (x->b.has_grant || !x->b.pairing || memcmp(x->b.subject, arg, HEARTH_PK_LEN))
        return false;
    memcpy(p->device, x->author, HEARTH_PK_LEN);
    memcpy(p->proof, x->b.proof, HEARTH_SIG_LEN);
    memcpy(p->pairing, x->b.pairing, HEARTH_ID_LEN);
    return true;
}

herr store_pair_requests(struct store *s, const uint8_t person[HEARTH_PK_LEN],
                         struct store_pair_request **out, size_t *n)
{
    void *v = NULL;
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    if (!e) {
        e = dev_each_event(s, sizeof **out, fill_request, person, &v, n);
        store_read_end(s);
    }
    if (e) {
        free(v);
        v = NULL;
        *n = 0;
    }
    *out = v;
    return e;
}

/* ---- pairing (docs/CLI.md, `hearth device`) ---- */

#define CODE_BYTES (HEARTH_PK_LEN + STORE_PAIR_SECRET_LEN + 2)
#define SETTING_PREFIX "pairing:"

static void code_text(char code[STORE_PAIR_CODE_MAX], const struct store_pair_code *c)
{
    uint8_t raw[CODE_BYTES], h[HEARTH_ID_LEN];
    memcpy(raw, c->person, HEARTH_PK_LEN);
    memcpy(raw + HEARTH_PK_LEN, c->secret, STORE_PAIR_SECRET_LEN);
    hash_id(h, raw, HEARTH_PK_LEN + STORE_PAIR_SECRET_LEN);
    memcpy(raw + HEARTH_PK_LEN + STORE_PAIR_SECRET_LEN, h, 2);
    size_t p = strlen(STORE_PAIR_CODE_PREFIX);
    _Static_assert(sizeof STORE_PAIR_CODE_PREFIX + (CODE_BYTES * 8 + 4) / 5 <= STORE_PAIR_CODE_MAX,
                   "a code fits");
    memcpy(code, STORE_PAIR_CODE_PREFIX, p);
    code32_encode(code + p, raw, CODE_BYTES);
}

static void setting_key(char out[48], const uint8_t secret[STORE_PAIR_SECRET_LEN])
{
    memcpy(out, SETTING_PREFIX, strlen(SETTING_PREFIX));
    hex_encode(out + strlen(SETTING_PREFIX), secret, STORE_PAIR_SECRET_LEN);
}

herr store_pair_code_new(struct store *s, const uint8_t person[HEARTH_PK_LEN], int64_t now_s,
                         char code[STORE_PAIR_CODE_MAX])
{
    struct store_pair_code c;
    char key[48], value[32 + 2 * HEARTH_PK_LEN];
    memcpy(c.person, person, HEARTH_PK_LEN);
    random_bytes(c.secret, sizeof c.secret);
    setting_key(key, c.secret);
    int n = snprintf(value, sizeof value, "%lld ", (long long)now_s + STORE_PAIR_TTL_S);
    hex_encode(value + n, person, HEARTH_PK_LEN);
    herr e = store_meta_set(s, key, value);
    if (!e)
        code_text(code, &c);
    secret_wipe(&c, sizeof c);
    return e;
}

herr store_pair_code_read(const char *code, struct store_pair_code *out, const char **why)
{
    uint8_t raw[CODE_BYTES], h[HEARTH_ID_LEN];
    size_t p = strlen(STORE_PAIR_CODE_PREFIX);
    *why = NULL;
    if (!code || strncasecmp(code, STORE_PAIR_CODE_PREFIX, p) != 0) {
        *why = "not a device code (hd1-...)";
        return HERR_USAGE;
    }
    if (!code32_decode(raw, CODE_BYTES, code + p)) {
        *why = "not a device code: it has a letter too many, too few or one that is not used";
        return HERR_USAGE;
    }
    hash_id(h, raw, HEARTH_PK_LEN + STORE_PAIR_SECRET_LEN);
    if (memcmp(h, raw + HEARTH_PK_LEN + STORE_PAIR_SECRET_LEN, 2) != 0) {
        *why = "the device code is mistyped: its check letters do not match";
        return HERR_USAGE;
    }
    memcpy(out->person, raw, HEARTH_PK_LEN);
    memcpy(out->secret, raw + HEARTH_PK_LEN, STORE_PAIR_SECRET_LEN);
    return HERR_OK;
}

herr store_pair_join(struct store *s, const struct hkey *k, const uint8_t forum[HEARTH_ID_LEN],
                     const char *code, uint8_t person[HEARTH_PK_LEN], uint8_t id[HEARTH_ID_LEN])
{
    struct store_pair_code c;
    uint8_t proof[HEARTH_SIG_LEN], pairing[HEARTH_ID_LEN];
    const char *why;
    s->err[0] = '\0';
    if (store_pair_code_read(code, &c, &why))
        return store_fail(s, HERR_USAGE, "%s", why);
    if (!memcmp(c.person, k->pk, HEARTH_PK_LEN))
        return store_fail(s, HERR_STATE, "this key is that person already");
    device_proof_sign(proof, forum, c.person, k);
    hash_keyed(pairing, c.secret, STORE_PAIR_SECRET_LEN, k->pk, HEARTH_PK_LEN);
    secret_wipe(c.secret, sizeof c.secret);
    struct event_draft d = {.kind = EK_DEVICE, .forum = forum};
    d.b.subject = c.person;
    d.b.proof = proof;
    d.b.pairing = pairing;
    herr e = store_publish(s, k, &d, id);
    if (!e)
        memcpy(person, c.person, HEARTH_PK_LEN);
    return e;
}

const char *store_pair_state_str(enum store_pair_state st)
{
    switch (st) {
    case STORE_PAIR_READY:
        return "waiting to be accepted";
    case STORE_PAIR_ADDED:
        return "added already";
    case STORE_PAIR_EXPIRED:
        return "its code has expired (codes work for 24 hours): make a new one";
    case STORE_PAIR_USED:
        return "its code was used already by another device: make a new one";
    case STORE_PAIR_FOREIGN:
        return "its code was not made here";
    }
    return "?";
}

/* A request being matched against this replica's codes. */
struct matching {
    struct store_pair_match *m;
    const uint8_t *person;
    int64_t now_s;
};

static herr match_setting(void *ctx, const char *key, const char *value)
{
    struct matching *x = ctx;
    uint8_t secret[STORE_PAIR_SECRET_LEN], h[HEARTH_ID_LEN], who[HEARTH_PK_LEN];
    const char *hex = key + strlen(SETTING_PREFIX);
    if (x->m->setting[0] || strlen(hex) != 2 * STORE_PAIR_SECRET_LEN ||
        hex_decode(secret, sizeof secret, hex) != HERR_OK)
        return HERR_OK;
    hash_keyed(h, secret, sizeof secret, x->m->req.device, HEARTH_PK_LEN);
    secret_wipe(secret, sizeof secret);
    if (sodium_memcmp(h, x->m->req.pairing, HEARTH_ID_LEN) != 0)
        return HERR_OK;
    /* "EXPIRY PERSON" (a code made before the person was noted: "EXPIRY"), or "used". */
    char *end;
    long long until = strtoll(value, &end, 10);
    const char *sp = strchr(value, ' ');
    if (sp && (strlen(sp + 1) != 2 * HEARTH_PK_LEN || hex_decode(who, sizeof who, sp + 1) ||
               memcmp(who, x->person, HEARTH_PK_LEN)))
        return HERR_OK; /* another person's code on this replica */
    snprintf(x->m->setting, sizeof x->m->setting, "%s", key);
    x->m->state = !strcmp(value, "used")             ? STORE_PAIR_USED
                  : end == value || until < x->now_s ? STORE_PAIR_EXPIRED
                                                     : STORE_PAIR_READY;
    return HERR_OK;
}

herr store_pair_pending(struct store *s, const uint8_t person[HEARTH_PK_LEN], int64_t now_s,
                        struct store_pair_match **out, size_t *n)
{
    struct store_pair_request *reqs = NULL;
    *out = NULL;
    *n = 0;
    herr e = store_pair_requests(s, person, &reqs, n);
    if (!e && *n && !(*out = calloc(*n, sizeof **out)))
        e = store_fail(s, HERR_NOMEM, "out of memory");
    for (size_t i = 0; i < *n && !e; i++) {
        struct store_pair_match *m = &(*out)[i];
        uint8_t of[HEARTH_PK_LEN];
        m->req = reqs[i];
        m->state = STORE_PAIR_FOREIGN;
        struct matching x = {.m = m, .person = person, .now_s = now_s};
        e = store_meta_each(s, SETTING_PREFIX, match_setting, &x);
        if (!e)
            e = store_person_of(s, m->req.device, of);
        if (!e && !memcmp(of, person, HEARTH_PK_LEN))
            m->state = STORE_PAIR_ADDED;
    }
    free(reqs);
    if (e) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return e;
}

herr store_pair_accept(struct store *s, const struct hkey *k, const uint8_t forum[HEARTH_ID_LEN],
                       const struct store_pair_match *m, uint8_t id[HEARTH_ID_LEN])
{
    s->err[0] = '\0';
    if (m->state != STORE_PAIR_READY)
        return store_fail(s, HERR_STATE, "%s", store_pair_state_str(m->state));
    char *now = NULL; /* another device may have used the code since m was read */
    herr e = store_meta_get(s, m->setting, &now);
    bool used = !e && !strcmp(now, "used");
    free(now);
    if (e)
        return e == HERR_NOT_FOUND ? store_fail(s, HERR_STATE, "its code is gone") : e;
    if (used)
        return store_fail(s, HERR_STATE, "%s", store_pair_state_str(STORE_PAIR_USED));
    struct event_draft d = {.kind = EK_DEVICE, .forum = forum};
    d.b.subject = m->req.device;
    d.b.has_grant = true, d.b.grant = true;
    d.b.proof = m->req.proof;
    e = store_publish(s, k, &d, id);
    /* The code works once: a second device that read it is refused from now on. */
    return e ? e : store_meta_set(s, m->setting, "used");
}

static bool fill_asked(void *slot, const struct event *x, const void *arg)
{
    if (x->b.has_grant || !x->b.pairing || memcmp(x->author, arg, HEARTH_PK_LEN))
        return false;
    memcpy(slot, x->b.subject, HEARTH_PK_LEN);
    return true;
}

herr store_pair_asked(struct store *s, const uint8_t device[HEARTH_PK_LEN],
                      uint8_t person[HEARTH_PK_LEN])
{
    void *v = NULL;
    size_t n = 0;
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    if (!e) {
        e = dev_each_event(s, HEARTH_PK_LEN, fill_asked, device, &v, &n);
        store_read_end(s);
    }
    if (!e && !n)
        e = HERR_NOT_FOUND;
    if (!e)
        memcpy(person, (uint8_t *)v + (n - 1) * HEARTH_PK_LEN, HEARTH_PK_LEN);
    free(v);
    return e;
}

herr store_device_revoke(struct store *s, const struct hkey *k, const uint8_t forum[HEARTH_ID_LEN],
                         const uint8_t device[HEARTH_PK_LEN], bool undo, uint64_t *until,
                         uint8_t id[HEARTH_ID_LEN])
{
    uint8_t of[HEARTH_PK_LEN];
    herr e = store_person_of(s, device, of);
    if (!e && memcmp(of, k->pk, HEARTH_PK_LEN))
        e = store_fail(s, HERR_NOT_FOUND, "that key is not a device of yours");
    if (!e)
        e = store_key_last_seq(s, device, until);
    if (e)
        return e;
    if (undo)
        *until = 0;
    struct event_draft d = {.kind = EK_DEVICE, .forum = forum};
    d.b.subject = device;
    d.b.has_grant = true, d.b.grant = false;
    d.b.has_until = true, d.b.until = *until;
    return store_publish(s, k, &d, id);
}
